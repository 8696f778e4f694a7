"""The Ray side of an experiment: one run per task, on whichever node Ray picks.

:func:`train_in_ray` is a Ray *generator* task.  It trains the run with the
same :func:`~rnntui.engine.experiment.one_run.run_spec` the local worker
processes use (so the numbers are the same), into a temporary directory on its
own node, and yields

    {"events": [event dicts]}               while the run trains (as the local
                                            workers send them: no samples, step
                                            metrics at most twice a second)
    {"outcome": RunOutcome, "files": {...}} once, at the end: the run directory's
                                            files as bytes

so nothing needs a filesystem shared with the driver, which writes the files
into the experiment directory (:mod:`rnntui.engine.experiment.ray_executor`).

Stop and abort reach a running task through a :class:`StopFlags` actor: the
trainer reads the level every step, but the actor is asked at most every
``POLL_S`` seconds, without ever blocking a step.  This module imports ray only
inside the functions Ray runs.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import shutil
import tempfile
import threading
import time
from typing import Any, Iterator

from rnntui.engine.experiment.grid import RunSpec
from rnntui.engine.experiment.one_run import run_spec, warm_worker
from rnntui.engine.rundir import pack_run_dir

RUNNING, CANCEL, ABORT = 0, 1, 2
"""Stop levels: run on; stop at the next step (closing evaluation and checkpoint); stop at once."""
POLL_S = 0.1


class StopFlags:
    """The experiment's stop level (a Ray actor the driver sets and the tasks read)."""

    def __init__(self) -> None:
        self.level = RUNNING

    def set(self, level: int) -> None:
        self.level = max(self.level, level)

    def get(self) -> int:
        return self.level


class FlagPoller:
    """The stop level as a task sees it: read once when the task starts, so a run
    queued before Stop never begins; then refreshed in the background, one
    request in flight at a time.

    The answers are awaited as futures, never with ``ray.get``/``ray.wait``: Ray
    lends a task's CPU to another task while the task blocks in those, and a
    training loop that polled with them would let a third run start on two CPUs."""

    def __init__(self, flags: Any) -> None:
        self.flags = flags
        self.level = flags.get.remote().future().result() if flags is not None else RUNNING
        self._pending: Any = None
        self._checked = time.monotonic()

    def current(self) -> int:
        now = time.monotonic()
        if self.flags is None or self.level == ABORT or now - self._checked < POLL_S:
            return self.level
        self._checked = now
        if self._pending is not None:
            if not self._pending.done():
                return self.level
            self.level = max(self.level, self._pending.result())
        self._pending = self.flags.get.remote().future()
        return self.level


@dataclasses.dataclass
class _AtLeast:
    """A flag (``is_set()``, what run_spec reads) that is set once the stop level reaches ``level``."""

    poller: FlagPoller
    level: int

    def is_set(self) -> bool:
        return self.poller.current() >= self.level


_DONE = object()


def train_in_ray(spec: RunSpec, flags: Any = None, attempt: int = 0) -> Iterator[dict[str, Any]]:
    """Ray generator task: train ``spec`` on this node and stream back what the
    module docstring lists.  ``attempt`` counts the driver's tries of this run
    (0 first; it names the scratch directory)."""
    warm_worker()
    poller = FlagPoller(flags)
    cancel, abort = _AtLeast(poller, CANCEL), _AtLeast(poller, ABORT)
    scratch = tempfile.mkdtemp(prefix=f"rnntui-{spec.run_id}-a{attempt}-")
    try:
        here = dataclasses.replace(spec, out_dir=os.path.join(scratch, "run"))
        sent: queue.SimpleQueue[Any] = queue.SimpleQueue()
        box: dict[str, Any] = {}

        def train() -> None:  # in a thread: run_spec reports through a callback, a generator must yield
            try:
                box["outcome"] = run_spec(here, sent.put, cancel, abort)
            finally:
                sent.put(_DONE)

        worker = threading.Thread(target=train, name=f"rnntui-run-{spec.run_id}", daemon=True)
        worker.start()
        done = False
        while not done:
            batch = [sent.get()]
            while True:  # whatever else is waiting goes in the same message
                try:
                    batch.append(sent.get_nowait())
                except queue.Empty:
                    break
            done = batch[-1] is _DONE
            events = [e for e in batch if e is not _DONE]
            if events:
                yield {"events": events}
        worker.join()
        outcome = box["outcome"]
        outcome.path = spec.out_dir
        files = pack_run_dir(here.out_dir) if os.path.isdir(here.out_dir) else {}
        yield {"outcome": outcome, "files": files}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
