"""Glue between the Textual thread worker and the engine.  No Textual here.

The training thread never touches widgets: the trainer's callback appends
events to an :class:`EventBuffer`, which hands them on as one batch every
~0.25 s (and at once for the events that change what the run *is*: started,
finished, failed).  Because only the training thread hands batches on, they
reach the UI in order.  Before the trainer blocks in a pause, and just before
an evaluation, the buffer is flushed so the screen is never stale during a
stall.

Torch is imported here lazily, inside the worker thread, so the first frame of
the app does not wait for it.
"""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from rnntui.config import Config
from rnntui.engine.control import RunControl
from rnntui.engine.events import Event, RunFailed, RunFinished, RunStarted, StepMetrics
from rnntui.engine.schedule import eval_due
from rnntui.tasks.spec import TaskSpec, task_specs

BATCH_INTERVAL_S = 0.25


def preload_engine() -> dict[str, TaskSpec]:
    """Warm the imports a run needs (torch, cells, tasks); returns the task specs."""
    import rnntui.engine.trainer  # noqa: F401  (torch, cells, tasks)

    try:  # torch.optim's first optimiser imports torch._dynamo (~1.3 s): do it now, not at Start
        import torch._dynamo  # noqa: F401
    except Exception:  # pragma: no cover - optional speed-up only
        pass
    from rnntui.tasks import available_tasks

    specs = task_specs()
    usable = {name: specs[name] for name in available_tasks()}
    gc.freeze()  # torch's import leaves ~100k long-lived objects; keep them out of GC passes
    return usable


class EventBuffer:
    """Thread-safe event collector that posts batches of events.

    ``post(events)`` is called with the lock held so batches keep their order
    whichever thread flushes; it must not block (Textual's ``post_message`` does not).
    """

    def __init__(self, post: Callable[[list[Event]], Any], interval_s: float = BATCH_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._post = post
        self._interval = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._last = clock()
        self.batches = 0
        self.eval_every = 0  # the run's evaluation schedule (0: not known)
        self.eval_early = 0

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)
            urgent = isinstance(event, (RunStarted, RunFinished, RunFailed)) or (
                # an evaluation follows this step: hand on what we have before the stall
                isinstance(event, StepMetrics) and self.eval_every
                and eval_due(event.step, self.eval_every, self.eval_early)
            )
            if urgent or self._clock() - self._last >= self._interval:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        self._last = self._clock()
        if self._events:
            events, self._events = self._events, []
            self.batches += 1
            self._post(events)


class UIRunControl(RunControl):
    """A RunControl that flushes the event buffer before the trainer blocks in a pause."""

    def __init__(self) -> None:
        super().__init__()
        self.before_block: Callable[[], None] | None = None

    def wait_while_paused(self, poll_s: float = 0.1) -> None:
        if self.before_block is not None:
            self.before_block()
        super().wait_while_paused(poll_s)


@dataclass
class TrainJob:
    """One run for the worker: the config, ids, and where its events go."""

    cfg: Config
    run_id: str
    control: RunControl
    post: Callable[[list[Event]], Any]
    run_dir: Path | None = None
    resume: str | None = None
    on_trainer: Callable[[Any], None] | None = None


def run_training(job: TrainJob) -> str:
    """Build and run a Trainer in the calling thread; return its final status.

    Raises ConfigError (task-level config problems) and CheckpointError before
    any event is emitted or any file written.
    """
    from rnntui.engine.launch import open_run
    from rnntui.engine.trainer import check_resume, check_runnable

    cfg = job.cfg
    check_runnable(cfg)
    resume_payload = None
    if job.resume:
        from rnntui.engine.checkpoint import load_checkpoint

        resume_payload = load_checkpoint(job.resume)
        check_resume(cfg, resume_payload)  # a checkpoint that does not fit: rejected, no run directory
    buffer = EventBuffer(job.post)
    buffer.eval_every, buffer.eval_early = cfg.eval_every, cfg.eval_early
    frozen = False

    def freeze_once_built(event: Event) -> None:
        nonlocal frozen
        if isinstance(event, RunStarted) and not frozen:
            gc.freeze()  # the model is built: no more 200-300 ms full collections mid-run
            frozen = True

    if isinstance(job.control, UIRunControl):
        job.control.before_block = buffer.flush
    try:
        with open_run(cfg, [freeze_once_built, buffer], run_dir=job.run_dir, control=job.control,
                      run_id=job.run_id, resume=resume_payload) as trainer:
            if job.on_trainer is not None:
                job.on_trainer(trainer)
            result = trainer.run()
    finally:
        buffer.flush()
        if isinstance(job.control, UIRunControl):
            job.control.before_block = None
    return result.status


def plan_steps(cfg: Config) -> tuple[int, int] | None:
    """(steps, steps per epoch) ``cfg`` will run (a dataset task loads its data to
    know); None when the task cannot be built (the run will say why)."""
    from rnntui.config import ConfigError
    from rnntui.engine.trainer import planned_steps

    try:
        return planned_steps(cfg)
    except ConfigError:
        return None


def preload_in_thread(done: Callable[[dict[str, TaskSpec], str], Any]) -> threading.Thread:
    """Run :func:`preload_engine` in a daemon thread; ``done(infos, error)`` is called
    there once it is over (``error`` empty, or the reason the engine failed to load).

    Not a Textual worker: those run in asyncio's default executor, which the
    process joins at exit, so quitting during the import (~1.5-3 s) would wait
    for it.  A daemon thread is simply dropped.
    """

    def load() -> None:
        try:
            infos = preload_engine()
        except Exception as exc:  # the UI still opens; starting a run will report it
            done({}, f"{type(exc).__name__}: {exc}")
            return
        done(infos, "")

    thread = threading.Thread(target=load, name="rnntui-preload", daemon=True)
    thread.start()
    return thread
