"""A copy of a live run's model, taken where no step is changing it.

A run's model belongs to its training thread.  To look inside it from another
thread (the TUI's Inspect view), ask the training thread to copy it at its next
safe point -- ``control.call_between_steps(snapshot.take)``: after an
optimisation step, or while it waits in a pause -- and :meth:`RunSnapshot.wait`
for the copy.  Once the run has ended no thread uses the model any more, and the
waiting thread copies it itself.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from torch import nn

    from rnntui.config import Config
    from rnntui.engine.trainer import Trainer
    from rnntui.tasks.base import Batch, Task


@dataclass(frozen=True)
class RunModel:
    """A copy of a run's model at ``step`` and what is needed to look inside it:
    its task and ``batch``, the first held-out sequences (the probes' batch)."""

    cfg: "Config"
    task: "Task"
    model: "nn.Module"
    batch: "Batch"
    run_id: str
    step: int


class RunSnapshot:
    """The copy of ``trainer``'s model, made once by whichever thread calls
    :meth:`take` first."""

    def __init__(self, trainer: "Trainer") -> None:
        self.trainer = trainer
        self.done = threading.Event()
        self.model: Any = None
        self.step = 0
        self.error: Exception | None = None
        self._lock = threading.Lock()

    def take(self) -> None:
        """Copy the model now (never raises: a failure is kept for :meth:`wait`)."""
        with self._lock:
            if self.done.is_set():
                return
            try:
                from rnntui.engine.inspect.probes import snapshot

                self.model, self.step = snapshot(self.trainer.model), self.trainer.step
            except Exception as exc:  # never fail the run for a view; the waiting thread reports it
                self.error = exc
            finally:
                self.done.set()

    def wait(self, ended: Callable[[], bool], cancelled: Callable[[], bool] = lambda: False,
             poll_s: float = 0.05) -> RunModel | None:
        """Block until the copy exists and return it; None when ``cancelled()`` came first.

        ``ended()`` tells that no training thread uses the model any more (the run
        has ended, or never got going): the copy is then taken here."""
        while not self.done.is_set():
            if cancelled():
                self.done.set()  # the training thread need not copy it now
                return None
            if ended():
                self.take()
            else:
                self.done.wait(poll_s)
        if self.error is not None:
            raise self.error
        if self.model is None:  # cancelled before
            return None
        from rnntui.engine.inspect.probes import probe_batch

        trainer = self.trainer
        return RunModel(trainer.cfg, trainer.task, self.model, probe_batch(trainer), trainer.run_id, self.step)
