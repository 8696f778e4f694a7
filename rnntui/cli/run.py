"""The headless runner: train from a preset without the UI.

Progress goes to stderr; with ``json_lines`` every event is printed to stdout
as one JSON object.  Results land in a run directory (see ``engine.rundir``).
Return codes: 0 finished, 1 training failed, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, TextIO

from rnntui.config import Config
from rnntui.cli.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from rnntui.engine.checkpoint import load_checkpoint
from rnntui.engine.control import RunControl
from rnntui.engine.events import EvalMetrics, Event, Log, RunFailed, RunFinished, RunStarted, StepMetrics
from rnntui.engine.launch import open_run
from rnntui.engine.rundir import default_run_dir
from rnntui.engine.trainer import check_resume, check_runnable
from rnntui.engine.verdict import Verdict, judge
from rnntui.tasks.spec import task_specs


def format_metrics(metrics: dict[str, float], limit: int = 8) -> str:
    parts = [f"{k} {v:.4g}" for k, v in list(metrics.items())[:limit]]
    return "  ".join(parts)


class ProgressPrinter:
    """Human progress on ``stream``: a line per evaluation, a step line every few seconds."""

    def __init__(self, stream: TextIO, every_s: float = 2.0) -> None:
        self.stream = stream
        self.every_s = every_s
        self.total = 0
        self._last = 0.0
        self._started: RunStarted | None = None

    def __call__(self, event: Event) -> None:
        out = self.stream
        if isinstance(event, RunStarted):
            self.total = event.total_steps
            self._started = event
            cfg = event.config
            print(f"[rnntui] {cfg['task']} / {cfg['cell']} ({cfg['backend']}) on {event.device}: "
                  f"{event.params:,} parameters, {event.total_steps} steps", file=out)
        elif isinstance(event, StepMetrics):
            now = time.monotonic()
            if now - self._last >= self.every_s:
                self._last = now
                print(f"  step {event.step}/{self.total}  loss {event.loss:.4g}  "
                      f"{event.steps_per_s:.1f} steps/s", file=out)
        elif isinstance(event, EvalMetrics):
            print(f"  eval @ {event.step}: {format_metrics(event.metrics)}", file=out)
        elif isinstance(event, RunFinished):
            word = "stopped" if event.stopped else "finished"
            print(f"[rnntui] {word} at step {event.step} in {event.wall_time_s:.1f}s: "
                  f"{format_metrics(event.final, 12)}", file=out)
            verdict = self._verdict(event)
            if verdict is not None:
                print(f"[rnntui] {verdict.text}" + (f"; {verdict.advice}" if verdict.advice else ""), file=out)
        elif isinstance(event, RunFailed):
            print(f"[rnntui] FAILED at step {event.step}: {event.reason}", file=out)
        elif isinstance(event, Log):
            print(f"  {event.message}", file=out)
        out.flush()


    def _verdict(self, event: RunFinished) -> Verdict | None:
        started = self._started
        if started is None:
            return None
        spec = task_specs().get(str(started.config.get("task")))
        metrics = [(m.name, m.label, m.higher_is_better) for m in spec.metrics] if spec else []
        return judge(metrics, event.final, started.baseline, started.config, step=event.step,
                     total_steps=started.total_steps)


class JsonLinesPrinter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, event: Event) -> None:
        self.write(event.to_json())

    def write(self, data: dict[str, Any]) -> None:
        self.stream.write(json.dumps(data, default=str) + "\n")
        self.stream.flush()


def run_single(
    cfg: Config,
    out_dir: str | Path | None = None,
    json_lines: bool = False,
    resume: str | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    control: RunControl | None = None,
) -> int:
    """Train one run headless; return the process exit code.  Raises ConfigError
    (and CheckpointError) on bad input, before anything is written."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    check_runnable(cfg)
    resume_payload: dict[str, Any] | None = load_checkpoint(resume) if resume else None
    if resume_payload is not None:
        check_resume(cfg, resume_payload)
    path = Path(out_dir) if out_dir else default_run_dir(cfg)
    consumers: list[Any] = [ProgressPrinter(stderr)]
    if json_lines:
        consumers.append(JsonLinesPrinter(stdout))
    control = control or RunControl()
    restore = cancel_on_sigint(control)
    try:
        with open_run(cfg, consumers, run_dir=path, control=control, resume=resume_payload) as trainer:
            result = trainer.run()
    finally:
        restore()
    print(f"[rnntui] results in {path}", file=stderr)
    if result.status == "failed":
        return EXIT_FAILED
    if result.status == "stopped":
        return EXIT_INTERRUPTED
    return EXIT_OK


def cancel_on_sigint(control: Any, notice: Callable[[], None] | None = None):
    """First Ctrl-C stops cleanly (results are written); a second aborts.

    ``control`` is anything with ``cancelled`` and ``cancel()`` (a RunControl, an
    ExperimentRunner); ``notice`` is called on the first Ctrl-C.  Returns the
    function that puts the previous handler back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: Any) -> None:
        if control.cancelled:
            raise KeyboardInterrupt
        if notice is not None:
            notice()
        control.cancel()

    previous = signal.signal(signal.SIGINT, handler)
    return lambda: signal.signal(signal.SIGINT, previous)
