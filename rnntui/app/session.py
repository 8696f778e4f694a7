"""The lab session: what one run of the app knows about its runs, and the rules
for starting, pausing, stopping and resetting them.

:class:`~rnntui.app.app.RnnTuiApp` holds one :class:`LabSession` (``app.lab``)
and draws what it says; the screens receive it, typed, in their constructor.
Nothing here touches a widget: the app turns what these methods return into
log lines, notices and plots.

The session holds:

* ``records`` -- this session's runs, newest last (single runs and the runs of
  experiments; Compare lists them), and ``current``, the run on screen or None;
* ``trainer`` -- the current run's Trainer, kept after it ends so the model can
  be inspected (None before a run and after a reset), and ``control``, the
  current run's :class:`~rnntui.app.worker.UIRunControl`;
* listeners -- ``fn(events)`` called on the UI thread with every batch of
  events (:meth:`add_event_listener`);
* ``experiment`` -- the :class:`~rnntui.app.experiment_session.ExperimentSession`
  (it outlives the Experiment screen), and ``compare`` -- what Compare remembers.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from rnntui.app.experiment_session import ExperimentSession
from rnntui.app.messages import EventBatch, RunRejected
from rnntui.app.widgets.metric_plot import PALETTE
from rnntui.app.worker import TrainJob, UIRunControl
from rnntui.tasks.spec import TaskSpec
from rnntui.config import Config, ConfigError
from rnntui.engine.events import Event
from rnntui.engine.record import RunRecord
from rnntui.engine.rundir import default_run_dir

if TYPE_CHECKING:
    from textual.app import App
    from textual.worker import Worker

    from rnntui.config.request import Request
    from rnntui.engine.trainer import Trainer

EventListener = Callable[[list[Event]], Any]
ACTIVE = ("ready", "running", "paused")
"""A record in one of these states has a live training worker."""


@dataclass
class CompareState:
    """What Compare remembers: runs loaded from disk, the selection (by record
    identity) and each run's colour."""

    loaded: list[RunRecord] = field(default_factory=list)
    selected: list[int] = field(default_factory=list)  # id(record), in selection order
    colours: dict[int, str] = field(default_factory=dict)
    metric_index: int = 0
    grouped: bool = True  # runs equal up to the seed drawn as one mean ± standard-error band

    def colour(self, record: RunRecord) -> str:
        """The run's colour: given once, at its first selection, and kept."""
        key = id(record)
        if key not in self.colours:
            in_use = {self.colours[k] for k in self.selected if k in self.colours and k != key}
            free = [c for c in PALETTE if c not in in_use]
            self.colours[key] = free[0] if free else PALETTE[len(self.colours) % len(PALETTE)]
        return self.colours[key]


class LabSession:
    """This session's runs, the current one's trainer and control, and the rules
    that change them (called on the UI thread unless a method says otherwise).

    ``host`` is the app: the runs and the experiment train in its thread workers,
    which post their news to it.
    ``settings(validate)`` returns the form's valid Config or None (``validate``:
    check the form now if it has not been yet)."""

    def __init__(self, host: "App[Any]", request: "Request", settings: Callable[[bool], Config | None], *,
                 start: bool = False, resume: str | None = None, runs_root: Path | None = None) -> None:
        self.request = request
        self.start_at_once = start
        self.resume_path = resume
        self.runs_root = runs_root
        self.records: list[RunRecord] = []
        self.current: RunRecord | None = None
        self.trainer: "Trainer | None" = None
        self.control = UIRunControl()
        self.train_worker: "Worker[str] | None" = None
        """The current run's worker: state changes of any other (an earlier run's) are not ours."""
        self.task_infos: dict[str, TaskSpec] = {}
        self.engine_error = ""
        self.listeners: list[EventListener] = []
        self.compare = CompareState()
        self.experiment = ExperimentSession(self, host)
        self.new_run_id: Callable[[], str] = lambda: uuid.uuid4().hex[:8]
        """Names each new run (tests give fixed ids)."""
        self._host = host
        self._settings = settings

    # ------------------------------------------------------------ queries
    @property
    def active(self) -> bool:
        """Whether the current run has a live worker (Start is refused, Pause/Stop work)."""
        return self.current is not None and self.current.status in ACTIVE

    def settings(self, validate: bool = False) -> Config | None:
        return self._settings(validate)

    def task_info(self, record: RunRecord) -> TaskSpec | None:
        return self.task_infos.get(str(record.config.get("task", "")))

    def find(self, run_id: str) -> RunRecord | None:
        """The newest record with ``run_id``."""
        return next((r for r in reversed(self.records) if r.run_id == run_id), None)

    # ---------------------------------------------------------- listeners
    def add_event_listener(self, fn: EventListener) -> None:
        if fn not in self.listeners:
            self.listeners.append(fn)

    def remove_event_listener(self, fn: EventListener) -> None:
        if fn in self.listeners:
            self.listeners.remove(fn)

    def notify_listeners(self, events: list[Event]) -> list[str]:
        """Call every listener; returns one line per listener that raised (a broken
        listener must not take the lab down)."""
        failures = []
        for listener in list(self.listeners):
            try:
                listener(events)
            except Exception as exc:
                failures.append(f"event listener {getattr(listener, '__qualname__', listener)} failed: {exc}")
        return failures

    # -------------------------------------------------------- run control
    def start(self, cfg: Config, train: Callable[[TrainJob], str]) -> TrainJob:
        """Make ``cfg`` the current run and train it in a thread worker of the app:
        ``train(job)`` runs there (the app passes ``worker.run_training``).  Its events
        reach the app as ``EventBatch`` messages; a task-level config problem or a bad
        checkpoint as ``RunRejected``."""
        job = self._begin_run(cfg)
        self.train_worker = self._host.run_worker(functools.partial(self._train, train, job), thread=True,
                                                  exclusive=True, exit_on_error=False, group="train",
                                                  description="training run")
        return job

    def _train(self, train: Callable[[TrainJob], str], job: TrainJob) -> str:
        """The training worker's thread."""
        from rnntui.engine.checkpoint import CheckpointError  # imports torch: here, in the worker thread

        try:
            return train(job)
        except ConfigError as exc:
            self._host.post_message(RunRejected(job.run_id, exc.key, exc.message))
            return "rejected"
        except CheckpointError as exc:  # a bad --resume file, before the run
            self._host.post_message(RunRejected(job.run_id, "resume", str(exc)))
            return "rejected"

    def _begin_run(self, cfg: Config) -> TrainJob:
        """A new current run for ``cfg``: its record, a fresh control, and its job."""
        run_id = self.new_run_id()
        record = RunRecord(run_id, cfg.to_dict())
        run_dir = default_run_dir(cfg, self.runs_root) if self.runs_root is not None else None
        record.path = str(run_dir) if run_dir else None
        self.records.append(record)
        self.current = record
        self.trainer = None
        self.control = UIRunControl()
        resume, self.resume_path = self.resume_path, None  # --resume applies to the first run only
        host = self._host

        def post(events: list[Event]) -> None:  # the training thread: post_message is thread-safe
            host.post_message(EventBatch(run_id, events))

        return TrainJob(cfg, run_id, self.control, post, run_dir, resume, self._set_trainer)

    def _set_trainer(self, trainer: "Trainer") -> None:
        """Training thread: the run's Trainer is built (a plain attribute store)."""
        current = self.current
        if current is not None and current.run_id == trainer.run_id:  # not a cancelled run's late thread
            self.trainer = trainer

    def fold(self, run_id: str, events: list[Event]) -> RunRecord | None:
        """Apply a batch of the run's events to its record (None: not a run of ours)."""
        record = self.find(run_id)
        if record is None:
            return None
        for event in events:
            record.apply(event)
        if record is self.current and record.status == "running" and self.control.paused:
            record.status = "paused"  # a batch from before the pause took effect
        return record

    def toggle_pause(self) -> bool:
        """Pause or resume the current run; returns True when it is paused now."""
        record = self.current
        if self.control.paused:
            self.control.resume()
            if record is not None and record.status == "paused":
                record.status = "running"
            return False
        self.control.pause()
        if record is not None and record.status == "running":
            record.status = "paused"
        return True

    def worker_failed(self, reason: str) -> None:
        """The current run's worker raised: the run failed (unless it had ended)."""
        record = self.current
        if record is not None and not record.done:
            record.status, record.reason = "failed", reason

    def reject(self, run_id: str) -> None:
        """The worker refused to start the run: forget it."""
        record = self.find(run_id)
        if record is not None:
            self.records.remove(record)
            if record is self.current:
                self.current = None

    def clear(self) -> None:
        """Reset: no run on screen (the records stay)."""
        self.current = None
        self.trainer = None
