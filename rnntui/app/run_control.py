"""Starting, pausing, stopping and resetting runs, and what comes back from the
training worker: event batches, rejections and the worker's end.

:class:`RunControlMixin` is part of :class:`~rnntui.app.app.RnnTuiApp`: it works
on the app's ``records``, ``current``, ``trainer``, ``control`` and ``form`` and
draws through the app's ``log_line``, ``_update_plots`` and ``_refresh_status``.
The worker method ``_train`` stays in :mod:`rnntui.app.app`: tests and
``bench/ui.py`` replace ``rnntui.app.app.run_training``, which it calls.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable

from textual.worker import Worker, WorkerState

from rnntui.app.messages import EventBatch, RunRejected
from rnntui.app.run_view import event_log_line, metric_names
from rnntui.app.widgets.metric_plot import MetricPlot
from rnntui.app.widgets.samples import SamplesPanel
from rnntui.app.worker import TrainJob, UIRunControl
from rnntui.engine.events import Event, Samples
from rnntui.engine.record import RunRecord
from rnntui.engine.rundir import default_run_dir

EventListener = Callable[[list[Event]], Any]
ACTIVE = ("ready", "running", "paused")  # a record in one of these has a live worker


class RunControlMixin:
    """The run-control actions and the training worker's messages."""

    # ----------------------------------------------------------- listeners
    def add_event_listener(self, fn: EventListener) -> None:
        if fn not in self._listeners:
            self._listeners.append(fn)

    def remove_event_listener(self, fn: EventListener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    # ------------------------------------------------------------- worker
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "train":
            return
        if worker is not self._train_worker:
            # an earlier run's worker, still ending after a new Start cancelled it: not ours to report
            if event.state == WorkerState.ERROR:
                self.log_line(f"an earlier run's worker failed: {type(worker.error).__name__}: {worker.error}",
                              "error")
            return
        if event.state == WorkerState.ERROR:
            error = worker.error
            reason = f"{type(error).__name__}: {error}"
            self.notify(f"Training crashed: {reason}", title="run failed", severity="error", timeout=10)
            self.log_line(f"worker error: {reason}", "error")
            record = self.current
            if record is not None and not record.done:
                record.status, record.reason = "failed", reason
        if event.state in (WorkerState.ERROR, WorkerState.SUCCESS, WorkerState.CANCELLED):
            self._run_ended()

    def _run_ended(self) -> None:
        if self.form is not None:
            self.form.disabled = False
        self._refresh_status()
        self.refresh_bindings()

    # ---------------------------------------------------------- run events
    def on_event_batch(self, message: EventBatch) -> None:
        record = next((r for r in reversed(self.records) if r.run_id == message.run_id), None)
        if record is None:
            return
        samples: Samples | None = None
        for event in message.events:
            record.apply(event)
            if isinstance(event, Samples):
                samples = event
            self._log_event(event)
        if record.status == "running" and self.control.paused and record is self.current:
            record.status = "paused"
        if record is self.current:
            if samples is not None:
                self.query_one("#samples", SamplesPanel).show(record.samples, samples.step)
            self._update_plots(record)
            self._refresh_status()
        if record.done:
            self._announce_end(record)
        for listener in list(self._listeners):
            try:
                listener(message.events)
            except Exception as exc:  # a broken listener must not take the lab down
                self.log_line(f"event listener {getattr(listener, '__qualname__', listener)} failed: {exc}", "error")

    def _log_event(self, event: Event) -> None:
        line = event_log_line(event)
        if line is not None:
            self.log_line(*line)

    def _announce_end(self, record: RunRecord) -> None:
        if record.status == "failed":
            self.notify(record.reason or "the run failed", title=f"run {record.run_id} failed", severity="error",
                        timeout=8)
        elif record.status == "finished":
            main = metric_names(record, self.task_infos.get(record.config.get("task", "")))[:1]
            value = f": {main[0]} {record.final[main[0]]:.4g}" if main and main[0] in record.final else ""
            self.notify(f"finished in {record.wall_time_s:.1f}s{value}", title=f"run {record.run_id}")
        if record.path:
            self.log_line(f"saved in {record.path}", "dim")

    def on_run_rejected(self, message: RunRejected) -> None:
        record = next((r for r in self.records if r.run_id == message.run_id), None)
        if record is not None:
            self.records.remove(record)
            if record is self.current:
                self.current = None
        self.query_one("#main").remove_class("-form-hidden")
        if self.form is not None:
            self.form.disabled = False
            self.form.reject(message.key, message.message)
        else:  # the form is about to mount: mark the field then
            self._pending_reject = (message.key, message.message)
        self.notify(f"{message.key}: {message.message}", title="cannot start", severity="error", timeout=8)
        self.log_line(f"cannot start: {message.key}: {message.message}", "error")
        self._refresh_status()

    # -------------------------------------------------------------- actions
    def _active(self) -> bool:
        return self.current is not None and self.current.status in ACTIVE

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return None if self._active() else True
        if action in ("pause", "stop"):
            return True if self._active() else None
        if action == "reset":
            return None if self._active() else True
        return True

    def action_start(self) -> None:
        if self._active():
            self.notify("A run is in progress: stop it (t) before starting another.", severity="warning")
            return
        form = self.form
        cfg = form.validate(post=False) if form is not None else self.request.config
        if cfg is None:
            errors = form.errors if form is not None else {}
            text = "; ".join(f"{k}: {v}" for k, v in errors.items()) or "the settings are not valid"
            self.notify(text, title="cannot start", severity="error", timeout=8)
            self.log_line(f"cannot start: {text}", "error")
            self._refresh_status()
            return
        run_id = uuid.uuid4().hex[:8]
        record = RunRecord(run_id, cfg.to_dict())
        run_dir = default_run_dir(cfg, self.runs_root) if self.runs_root is not None else None
        record.path = str(run_dir) if run_dir else None
        self.records.append(record)
        self.current = record
        self.trainer = None
        self.control = UIRunControl()
        self.query_one("#samples", SamplesPanel).clear()
        self._update_plots(record)
        if form is not None:
            form.disabled = True
        if self.size.width < 120:  # narrow: the plots get the width while the form is locked
            self.query_one("#main").add_class("-form-hidden")
        if self.focused is None or self._in_form():
            self._focus_plot()
        self.log_line(f"run {run_id}: {cfg.task} / {cfg.cell} ({cfg.backend}) hidden {cfg.hidden_size}"
                      f" × {cfg.num_layers}, {cfg.steps} steps, lr {cfg.lr:g}")
        resume, self.resume_path = self.resume_path, None
        job = TrainJob(cfg, run_id, self.control, self._poster(run_id), run_dir, resume, self._set_trainer)
        self._train_worker = self._train(job)  # its state changes are this run's; others are ignored
        self._refresh_status()
        self.refresh_bindings()

    def _poster(self, run_id: str) -> Callable[[list[Event]], Any]:
        def post(events: list[Event]) -> None:  # runs in the training thread
            self.post_message(EventBatch(run_id, events))

        return post

    def _set_trainer(self, trainer: Any) -> None:  # training thread: a plain attribute store
        self.trainer = trainer

    def action_pause(self) -> None:
        record = self.current
        if not self._active() or record is None:
            self.notify("No run is in progress.", severity="warning")
            return
        if self.control.paused:
            self.control.resume()
            if record.status == "paused":
                record.status = "running"
            self.log_line("resumed")
        else:
            self.control.pause()
            if record.status == "running":
                record.status = "paused"
            self.log_line("paused (p resumes, t stops)")
        self._refresh_status()
        self.refresh_bindings()

    def action_stop(self) -> None:
        if not self._active():
            self.notify("No run is in progress.", severity="warning")
            return
        self.control.cancel()
        self.log_line("stopping…")

    def action_checkpoint(self) -> None:
        if self._active():
            self.control.request_checkpoint()
            self.log_line("checkpoint requested")

    def action_reset(self) -> None:
        if self._active():
            self.notify("Stop the run (t) before resetting.", severity="warning")
            return
        self.current = None
        self.trainer = None
        self.query_one("#samples", SamplesPanel).clear()
        self.query_one("#loss-plot", MetricPlot).clear()
        self.query_one("#metric-plot", MetricPlot).clear()
        if self.form is not None:
            self.form.disabled = False
        self.query_one("#main").remove_class("-form-hidden")
        self.log_line("reset: ready for a new run")
        self._refresh_status()
        self.refresh_bindings()

    def action_reset_form(self) -> None:
        if self._active():
            self.notify("Stop the run before changing the settings.", severity="warning")
            return
        if self.form is not None:
            self.form.load(self._initial_values)
        self.log_line("form reset to the starting values")
