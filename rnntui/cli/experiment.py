"""The headless experiment runner: a grid × trials without the UI.

Progress goes to stderr: a line per finished run, a mean ± standard error line
per grid point once its trials are all in, and the results table at the end.
With ``json_lines`` the runs' events (less step metrics), each run's outcome
and each completed row go to stdout as JSON objects.  The single-run front end
is :mod:`rnntui.cli.run`; the runs execute as :mod:`rnntui.engine.experiment.runner`
describes.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, TextIO

from rnntui.engine.experiment.results import format_table
from rnntui.engine.events import Event, Log
from rnntui.engine.experiment.runner import ExperimentRunner
from rnntui.engine.experiment.grid import Experiment
from rnntui.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_PIPE
from rnntui.cli.run import JsonLinesPrinter, format_metrics
from rnntui.cli.signals import Output, cancel_on_sigint


class _SigintTarget:
    """The runner as :func:`cancel_on_sigint` drives it.

    The first Ctrl-C cancels (running runs end at their next step with a closing
    evaluation and checkpoint).  On the second, the handler finds ``cancelled``
    set and raises KeyboardInterrupt; reading ``cancelled`` then first aborts the
    runner, so its workers skip the closing evaluation and checkpoint and the
    pool shuts down at once instead of waiting for them."""

    def __init__(self, runner: ExperimentRunner) -> None:
        self.runner = runner

    @property
    def cancelled(self) -> bool:
        if self.runner.cancelled:
            self.runner.abort()
            return True
        return False

    def cancel(self) -> None:
        self.runner.cancel()


def run_experiment_headless(
    request: Any,
    out_dir: str | Path | None = None,
    json_lines: bool = False,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    workers: int | None = None,
    overwrite: bool = False,
) -> int:
    """Run ``request``'s experiment without the UI; return the exit code.

    Exit codes: 0 every run finished; 1 at least one run failed (the results
    table is still complete for the others and says which failed); 2 bad input
    (raised as ConfigError before anything is written: a bad grid, Ray or the
    TensorBoard writer asked for and not installed, a Ray cluster that cannot
    be reached); 130 interrupted (the
    first Ctrl-C stops the runs cleanly and keeps what finished; a second aborts:
    running runs end without their closing evaluation and checkpoint; 143 for
    SIGTERM, 141 when the reader of the output left).
    """
    exp = Experiment.from_request(request, out_dir)
    runner = ExperimentRunner(exp, workers=workers)
    runner.connect()  # executor = ray: the cluster is reached (or a local Ray started); bad input leaves nothing
    exp.claim_dir(overwrite)  # refused (exit 2) before a line is printed
    closed: list[bool] = []

    def reader_left() -> None:
        closed.append(True)
        runner.cancel()

    err = Output(stderr or sys.stderr, reader_left)
    say = lambda text: err.write(text + "\n")  # noqa: E731
    printer = JsonLinesPrinter(Output(stdout or sys.stdout, reader_left)) if json_lines else None
    specs = {s.run_id: s for s in exp.specs}

    def emit_json(data: dict[str, Any]) -> None:
        if printer is not None:
            printer.write(data)

    def forward(event: Event) -> None:
        if isinstance(event, Log) and event.level == "warning":  # e.g. a Ray worker lost, the run tried again
            spec = specs.get(event.run_id)
            say(f"  [{exp.points[spec.point].label} trial {spec.trial}] {event.message}" if spec else
                f"  {event.message}")
        if printer is not None and event.kind != "step":
            spec = specs.get(event.run_id)
            emit_json({**event.to_json(), "point": spec.point if spec else None,
                       "trial": spec.trial if spec else None})

    runner.on_event = forward
    grid_text = " × ".join(f"{k} {len(v)}" for k, v in exp.grid.items()) or "base config"
    say(f"[rnntui] experiment {exp.name}: {grid_text} × {exp.trials} trials = {exp.total} runs "
        f"on {runner.where()} -> {exp.out_dir}")
    emit_json({"event": "experiment_started", "experiment": exp.name, "grid": exp.grid, "trials": exp.trials,
               "runs": exp.total, "executor": runner.executor, "workers": runner.workers,
               "out_dir": str(exp.out_dir)})

    def report(outcome: Any) -> None:
        point = exp.points[outcome.point]
        cols = exp.columns(3)
        result = format_metrics({c: outcome.final[c] for c in cols if c in outcome.final})
        extra = f": {outcome.reason}" if outcome.status != "finished" and outcome.reason else ""
        say(f"  [{exp.done}/{exp.total}] {point.label} trial {outcome.trial} (seed {outcome.seed}) "
            f"{outcome.status} in {outcome.wall_time_s:.1f}s  {result}{extra}")
        emit_json({"event": "run_done", **outcome.summary()})
        outcome.steps, outcome.evals = [], []  # the curves are in the run directory; a big grid keeps no copy
        row = exp.row(outcome.point)
        if row.complete:
            say(f"  = {point.label}: " + "  ".join(f"{c} {row.metrics[c].format()}"
                                                   for c in cols if c in row.metrics)
                + f"  (n={row.finished}, {row.status})")
            emit_json({"event": "row", **row.to_json()})

    restore = cancel_on_sigint(_SigintTarget(runner), lambda: say(
        "[rnntui] stopping: running runs end at their next step (Ctrl-C again to abort)"))
    interrupted = False
    try:
        # stdout carries only JSON lines (the printer holds the real stream); a stray
        # print, such as Ray's driver echoing the cluster's "a worker died" notices, goes to stderr
        with contextlib.redirect_stdout(stderr or sys.stderr):
            for outcome in runner.run():
                report(outcome)
    except KeyboardInterrupt:
        interrupted = True
    except OSError as exc:  # the results table could not be written (a full disk)
        say(f"rnntui: error: {exc}")
        return EXIT_FAILED
    finally:
        restore()
        exp.release_dir()
    rows = exp.rows()
    interrupted = interrupted or runner.cancelled
    say("")
    say(format_table(rows, exp.columns(), exp.baselines()))
    if exp.baseline_text():
        say(f"baseline (trivial predictor): {exp.baseline_text()}")
    try:
        csv_path, json_path = exp.write()
    except OSError as exc:
        say(f"rnntui: error: {exc}")
        return EXIT_FAILED
    say(f"[rnntui] {exp.done}/{exp.total} runs in {exp.wall_time_s:.1f}s; results in {csv_path} and {json_path.name}")
    failed = sum(r.failed for r in rows)
    if failed:
        say(f"[rnntui] {failed} run{'s' if failed != 1 else ''} failed:")
        for row in rows:
            for reason in row.reasons:
                say(f"  {row.point.label} {reason}")
    emit_json({"event": "experiment_finished", "runs_done": exp.done, "runs": exp.total, "failed": failed,
               "wall_time_s": round(exp.wall_time_s, 3), "results_csv": str(csv_path),
               "results_json": str(json_path)})
    if interrupted:
        return EXIT_PIPE if closed and restore.signum is None else restore.exit_code
    return EXIT_FAILED if failed else EXIT_OK
