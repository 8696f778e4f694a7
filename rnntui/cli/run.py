"""The headless runner: train from a preset without the UI.

Progress goes to stderr; with ``json_lines`` every event is printed to stdout
as one JSON object.  Results land in a run directory (see ``engine.rundir``).
Return codes: 0 finished, 1 training failed, 2 bad input, 130 interrupted
(143 terminated, 141 the reader of its output left; see ``cli.signals``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from rnntui.config import Config
from rnntui.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_PIPE
from rnntui.cli.signals import Output, cancel_on_sigint, say
from rnntui.engine.checkpoint import load_checkpoint
from rnntui.engine.control import RunControl
from rnntui.engine.events import EvalMetrics, Event, Log, RunFailed, RunFinished, RunStarted, StepMetrics
from rnntui.engine.files import NoSpace
from rnntui.engine.launch import open_run
from rnntui.engine.rundir import default_run_dir
from rnntui.engine.trainer import check_resume, check_runnable
from rnntui.engine.verdict import Verdict, judge
from rnntui.tasks.spec import task_specs


def format_metrics(metrics: dict[str, float], limit: int = 8) -> str:
    parts = [f"{k} {v:.4g}" for k, v in list(metrics.items())[:limit]]
    return "  ".join(parts)


class ProgressPrinter:
    """Human progress on ``stream``: a line per evaluation, a step line every few seconds.

    ``stream`` may close under it (see :class:`~rnntui.cli.signals.Output`)."""

    def __init__(self, stream: TextIO | Output, every_s: float = 2.0) -> None:
        self.out = stream if isinstance(stream, Output) else Output(stream)
        self.every_s = every_s
        self.total = 0
        self._last = 0.0
        self._started: RunStarted | None = None

    def __call__(self, event: Event) -> None:
        line = self.line(event)
        if line is not None:
            self.out.write(line + "\n")

    def line(self, event: Event) -> str | None:
        if isinstance(event, RunStarted):
            self.total = event.total_steps
            self._started = event
            cfg = event.config
            return (f"[rnntui] {cfg['task']} / {cfg['cell']} ({cfg['backend']}) on {event.device}: "
                    f"{event.params:,} parameters, {event.total_steps} steps")
        if isinstance(event, StepMetrics):
            now = time.monotonic()
            if now - self._last >= self.every_s:
                self._last = now
                return (f"  step {event.step}/{self.total}  loss {event.loss:.4g}  "
                        f"{event.steps_per_s:.1f} steps/s")
            return None
        if isinstance(event, EvalMetrics):
            return f"  eval @ {event.step}: {format_metrics(event.metrics)}"
        if isinstance(event, RunFinished):
            word = "stopped" if event.stopped else "finished"
            line = f"[rnntui] {word} at step {event.step} in {event.wall_time_s:.1f}s: {format_metrics(event.final, 12)}"
            verdict = self._verdict(event)
            if verdict is not None:
                line += f"\n[rnntui] {verdict.text}" + (f"; {verdict.advice}" if verdict.advice else "")
            return line
        if isinstance(event, RunFailed):
            return f"[rnntui] FAILED at step {event.step}: {event.reason}"
        if isinstance(event, Log):
            return f"  {event.message}"
        return None


    def _verdict(self, event: RunFinished) -> Verdict | None:
        started = self._started
        if started is None:
            return None
        spec = task_specs().get(str(started.config.get("task")))
        metrics = [(m.name, m.label, m.higher_is_better) for m in spec.metrics] if spec else []
        return judge(metrics, event.final, started.baseline, started.config, step=event.step,
                     total_steps=started.total_steps)


class JsonLinesPrinter:
    """Every event as one JSON object per line on ``stream`` (which may close under it)."""

    def __init__(self, stream: TextIO | Output) -> None:
        self.out = stream if isinstance(stream, Output) else Output(stream)

    def __call__(self, event: Event) -> None:
        self.write(event.to_json())

    def write(self, data: dict[str, Any]) -> None:
        self.out.write(json.dumps(data, default=str) + "\n")


def run_single(
    cfg: Config,
    out_dir: str | Path | None = None,
    json_lines: bool = False,
    resume: str | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    control: RunControl | None = None,
    overwrite: bool = False,
) -> int:
    """Train one run headless; return the process exit code.  Raises ConfigError
    (and CheckpointError) on bad input, before anything is written.

    Exit codes: 0 finished, 1 failed (history and summary kept; a full disk says
    ``no space left on <path>``), 130/143 stopped by Ctrl-C/SIGTERM, 141 stopped
    because the reader of stdout or stderr left."""
    control = control or RunControl()
    closed: list[bool] = []

    def reader_left() -> None:  # `| head`: stop as for Ctrl-C, not a failure
        closed.append(True)
        control.cancel()

    err = Output(stderr or sys.stderr, reader_left)
    check_runnable(cfg)
    resume_payload: dict[str, Any] | None = load_checkpoint(resume) if resume else None
    if resume_payload is not None:
        check_resume(cfg, resume_payload)
    path = Path(out_dir) if out_dir else default_run_dir(cfg)
    consumers: list[Any] = [ProgressPrinter(err)]
    if json_lines:
        consumers.append(JsonLinesPrinter(Output(stdout or sys.stdout, reader_left)))
    restore = cancel_on_sigint(control)
    try:
        with open_run(cfg, consumers, run_dir=path, control=control, resume=resume_payload,
                      overwrite=overwrite, keep=(resume,) if resume else ()) as trainer:
            result = trainer.run()
    except NoSpace as exc:  # even the summary did not fit
        say(f"rnntui: error: {exc}", err.stream)
        return EXIT_FAILED
    finally:
        restore()
    err.write(f"[rnntui] results in {path}\n")
    if result.status == "failed":
        return EXIT_FAILED
    if result.status == "stopped":
        return EXIT_PIPE if closed and restore.signum is None else restore.exit_code
    return EXIT_OK
