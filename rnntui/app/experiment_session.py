"""The experiment of a lab session, and the thread worker that drives it.

The experiment belongs to the :class:`~rnntui.app.session.LabSession`
(``lab.experiment``), not to the Experiment screen: closing the screen (Esc)
leaves it running, and its runs join ``lab.records`` (so Compare lists them).
The worker thread runs an :class:`~rnntui.engine.experiment.ExperimentRunner`
and posts what it reports as the app's ``EventBatch`` messages wrapping an
:class:`ExperimentUpdate`; the app hands them to the lab's listeners, one of
which (:meth:`ExperimentSession.on_events`) folds them into the runs' records on
the UI thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

from textual.worker import Worker, WorkerState, get_current_worker

from rnntui.app.worker import BATCH_INTERVAL_S
from rnntui.config import Config, ConfigError
from rnntui.engine.experiment.results import GridPoint, Row, RunOutcome, aggregate, choose_columns
from rnntui.engine.events import Event
from rnntui.engine.record import RunRecord

if TYPE_CHECKING:
    from textual.app import App

    from rnntui.app.session import LabSession
    from rnntui.engine.experiment.grid import Experiment
    from rnntui.engine.experiment.runner import ExperimentRunner


@dataclass(frozen=True)
class ExperimentUpdate(Event):
    """Worker events of one experiment run, and its outcome once it has one."""

    kind: ClassVar[str] = "experiment"
    session: int = 0
    events: tuple[Event, ...] = ()
    outcome: RunOutcome | None = None
    rejected: str = ""  # the task-level check refused the grid: nothing ran


class ExperimentSession:
    """The experiment of one lab session (at most one runs at a time).

    ``host`` (the app) runs the worker, receives its messages and shows notices."""

    def __init__(self, lab: "LabSession", host: "App[Any]") -> None:
        self.lab = lab
        self.host = host
        self.experiment: "Experiment | None" = None
        self.runner: "ExperimentRunner | None" = None
        self.worker: Worker[Any] | None = None
        self.records: dict[str, RunRecord] = {}
        self.outcomes: dict[str, RunOutcome] = {}
        self.started_at = 0.0
        self.ended_at = 0.0
        self.auto_started = False
        self.checking = False  # the worker is checking every grid point (building its task)
        self.rejected = ""  # why the last start was refused by that check
        self.stopping = False  # Stop was asked for (the screen says "stopping…", then "stopped")
        self.version = 0  # bumped whenever something the screen shows changed
        self._thread_done = threading.Event()
        self._thread_done.set()
        lab.add_event_listener(self.on_events)

    @property
    def running(self) -> bool:
        return self.worker is not None and not self.worker.is_finished

    @property
    def error(self) -> str:
        if self.worker is not None and self.worker.state == WorkerState.ERROR:
            return f"{type(self.worker.error).__name__}: {self.worker.error}"
        return ""

    def start(self, base: Config, grid: dict[str, list[Any]], trials: int, name: str,
              workers: int | None = None, overrides: Sequence[Any] = ()) -> None:
        """Validate the grid and launch (raises ConfigError before anything runs);
        ``overrides``: the preset's ``[[override]]`` tables, applied per grid point.

        Only the config-level checks run here: the task-level ones (building each
        point's task: torch, data sets, maybe a download) run first in the worker
        thread, and a failure there is reported as a rejection (``rejected``)."""
        from rnntui.engine.experiment.runner import ExperimentRunner
        from rnntui.engine.experiment.grid import Experiment, default_experiment_dir

        if self.running:
            raise ConfigError("experiment", "one is already running; stop it (t) first")
        root = self.lab.runs_root or Path("runs")
        exp = Experiment.create(base, grid, trials, default_experiment_dir(name, root), name, check=False,
                                overrides=overrides)
        self.experiment = exp
        self.runner = ExperimentRunner(exp, workers=workers, quiet=True)
        self.outcomes = {}
        self.records = {}
        for spec in exp.specs:
            record = RunRecord(spec.run_id, dict(spec.config))
            record.path = spec.out_dir
            self.records[spec.run_id] = record
        self.lab.records.extend(self.records.values())  # Compare lists them with the session's runs
        self.started_at, self.ended_at = time.monotonic(), 0.0
        self.checking, self.rejected, self.stopping = True, "", False
        self.version += 1
        self._thread_done.clear()
        self.worker = self.host.run_worker(self._run, thread=True, exit_on_error=False, group="experiment",
                                          description=f"experiment {name}")

    def stop(self) -> None:
        """Ask the runs to stop: running ones end at their next step, queued ones never
        start.  ``stopping`` is True from now on (the screen shows it at once)."""
        if self.runner is not None:
            self.runner.cancel()
            if self.running:
                self.stopping = True
                self.version += 1

    def shutdown(self, timeout: float = 10.0, graceful: bool = False) -> bool:
        """Abort a running experiment (``graceful``: stop it, each running run with
        its closing evaluation and checkpoint) and wait (at most ``timeout`` s) for
        its worker thread to shut its process pool down; True when it has.  The app
        calls it as it closes: the process ends with ``os._exit``, and a pool left
        running would leave its worker processes and shared semaphores behind."""
        if self.runner is not None and self.running:
            if graceful:
                self.stop()
            else:
                self.runner.abort()
        return self._thread_done.wait(timeout)

    # ------------------------------------------------- runner thread side
    def _run(self) -> None:
        """Thread worker: run the experiment, post batches of updates."""
        from rnntui.app.messages import EventBatch

        runner, host, session = self.runner, self.host, id(self)
        assert runner is not None  # set by start() before the worker runs
        worker = get_current_worker()
        pending: dict[str, list[Event]] = {}
        finished: set[str] = set()
        last = [time.monotonic()]

        def post(run_id: str, events: list[Event], outcome: RunOutcome | None = None) -> None:
            host.post_message(EventBatch(run_id, [ExperimentUpdate(run_id, session, tuple(events), outcome)]))

        def flush() -> None:
            last[0] = time.monotonic()
            for run_id, events in list(pending.items()):
                post(run_id, events)
            pending.clear()

        def on_event(event: Event) -> None:
            if event.run_id not in finished:
                pending.setdefault(event.run_id, []).append(event)

        def poll() -> None:
            if worker.is_cancelled:  # the app is closing
                runner.cancel()
            if time.monotonic() - last[0] >= BATCH_INTERVAL_S:
                flush()

        try:
            try:  # what Experiment.create(check=True) does, off the UI thread; nothing is written yet
                from rnntui.engine.trainer import check_runnable

                for cfg in runner.experiment.configs:
                    check_runnable(cfg)
            except ConfigError as exc:
                first = runner.experiment.specs[0].run_id
                host.post_message(EventBatch(first, [ExperimentUpdate(first, session, rejected=str(exc))]))
                return
            finally:
                self.checking = False
            runner.on_event = on_event
            runner.poll = poll
            for outcome in runner.run():
                finished.add(outcome.run_id)
                post(outcome.run_id, pending.pop(outcome.run_id, []), outcome)
                flush()
            flush()
        finally:
            self._thread_done.set()

    # ------------------------------------------------------ UI thread side
    def on_events(self, events: list[Event]) -> None:
        """App event listener (UI thread): fold our updates into the records."""
        for update in events:
            if not isinstance(update, ExperimentUpdate) or update.session != id(self):
                continue
            if update.rejected:
                if update.run_id in self.records:  # not an earlier experiment's
                    self._reject(update.rejected)
                continue
            record = self.records.get(update.run_id)
            if record is None:
                continue
            for event in update.events:
                record.apply(event)
            outcome = update.outcome
            if outcome is not None:
                self.outcomes[outcome.run_id] = outcome
                record.status = "stopped" if outcome.status == "cancelled" else outcome.status
                record.final = dict(outcome.final)
                record.reason = outcome.reason
                record.wall_time_s = outcome.wall_time_s
                record.params = outcome.params or record.params
                record.step = outcome.step
                if outcome.steps or outcome.evals:  # the full history (worker events are throttled)
                    record.steps = list(outcome.steps)
                    record.evals = [dict(e) for e in outcome.evals]
                if len(self.outcomes) == len(self.records):
                    self.ended_at = time.monotonic()
            self.version += 1

    def _reject(self, reason: str) -> None:
        """UI thread: the grid failed its task-level check; forget the experiment."""
        self.lab.records[:] = [r for r in self.lab.records if r.run_id not in self.records]
        self.experiment = self.runner = None
        self.records, self.outcomes = {}, {}
        self.rejected = reason
        self.version += 1
        self.host.notify(reason, title="cannot start the experiment", severity="error", timeout=10)

    # ------------------------------------------------------------ queries
    @property
    def points(self) -> list[GridPoint]:
        return list(self.experiment.points) if self.experiment else []

    def rows(self) -> list[Row]:
        if self.experiment is None:
            return []
        return aggregate(self.experiment.points, self.experiment.trials, self.outcomes.values())

    def point_records(self, point: int) -> list[RunRecord]:
        if self.experiment is None:
            return []
        return [self.records[s.run_id] for s in self.experiment.specs if s.point == point]

    def columns(self, limit: int = 3) -> list[str]:
        names: list[str] = []
        for outcome in self.outcomes.values():
            names += [k for k in outcome.final if k not in names]
        preferred: list[str] = []
        if self.experiment is not None:
            for task in dict.fromkeys(c.task for c in self.experiment.configs):
                info = self.lab.task_infos.get(task)
                preferred += [m.name for m in info.metrics] if info else []
        return choose_columns(names, preferred, limit=limit)

    def elapsed(self) -> float:
        if not self.started_at:
            return 0.0
        return (self.ended_at or time.monotonic()) - self.started_at

