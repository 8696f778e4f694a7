"""Thread-safe run control: pause, resume, cancel, checkpoint on demand.

The trainer checks :meth:`RunControl.checkpoint` once per step; the UI or a
signal handler calls the other methods from any thread.  Cancelling also
releases a pause, so a paused run can always be stopped; aborting (on quit)
also skips the closing evaluation and checkpoint so the thread ends at once.
"""

from __future__ import annotations

import threading
from typing import Callable


class RunControl:
    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._cancelled = threading.Event()
        self._save = threading.Event()
        self._abort = threading.Event()
        self._calls: list[Callable[[], None]] = []
        self._calls_lock = threading.Lock()

    # -- called from anywhere
    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()

    def abort(self) -> None:
        """Cancel and skip the closing evaluation and checkpoint (quitting)."""
        self._abort.set()
        self.cancel()

    def request_checkpoint(self) -> None:
        self._save.set()

    def call_between_steps(self, fn: Callable[[], None]) -> None:
        """Have the training thread call ``fn`` at its next safe point: after an
        optimisation step, or while it waits in a pause — never while the model is
        changing (e.g. to copy the live model).  ``fn`` must not raise."""
        with self._calls_lock:
            self._calls.append(fn)

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def aborted(self) -> bool:
        return self._abort.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    # -- called by the trainer
    def run_calls(self) -> None:
        """Run what :meth:`call_between_steps` queued (the trainer's safe point)."""
        with self._calls_lock:
            calls, self._calls = self._calls, []
        for fn in calls:
            fn()

    def wait_while_paused(self, poll_s: float = 0.1) -> None:
        """Block while paused, serving queued calls; return at once when resumed or cancelled."""
        while self.paused and not self.cancelled:
            self.run_calls()
            self._running.wait(timeout=poll_s)
        self.run_calls()

    def take_checkpoint_request(self) -> bool:
        if self._save.is_set():
            self._save.clear()
            return True
        return False
