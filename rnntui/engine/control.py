"""Thread-safe run control: pause, resume, cancel, checkpoint on demand.

The trainer checks :meth:`RunControl.checkpoint` once per step; the UI or a
signal handler calls the other methods from any thread.  Cancelling also
releases a pause, so a paused run can always be stopped; aborting (on quit)
also skips the closing evaluation and checkpoint so the thread ends at once.
"""

from __future__ import annotations

import threading


class RunControl:
    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._cancelled = threading.Event()
        self._save = threading.Event()
        self._abort = threading.Event()

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
    def wait_while_paused(self, poll_s: float = 0.1) -> None:
        """Block while paused; return at once when resumed or cancelled."""
        while not self._running.wait(timeout=poll_s):
            if self._cancelled.is_set():
                return

    def take_checkpoint_request(self) -> bool:
        if self._save.is_set():
            self._save.clear()
            return True
        return False
