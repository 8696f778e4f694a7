"""Signals and closed pipes: every way a user stops rnntui ends cleanly.

* **Start-up** (imports, reading the config, building the task): nothing has been
  written yet, so Ctrl-C or SIGTERM ends the process at once with one line
  and exit code 130 or 143 (:func:`guard_startup`).  A KeyboardInterrupt
  raised in the middle of ``import torch`` would otherwise leave half-imported
  modules behind and surface as an ImportError, a RecursionError, or nothing.
* **A run**: the first Ctrl-C or SIGTERM stops it cleanly — it ends at its next
  step with a closing evaluation, a checkpoint and a summary — and the process
  exits 130 (Ctrl-C) or 143 (SIGTERM); a second one aborts
  (:func:`cancel_on_sigint`).
* **A closed pipe** (``rnntui --headless --json | head -1``): the reader has
  left, which is not a failure of the run; it stops as for Ctrl-C and the
  process exits 141, quietly (:class:`Output`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, Callable, TextIO

from rnntui.cli.exit_codes import EXIT_INTERRUPTED, EXIT_TERMINATED

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_CODES = {signal.SIGINT: EXIT_INTERRUPTED, signal.SIGTERM: EXIT_TERMINATED}


def _quit_at_once(signum: int, frame: Any) -> None:
    word = "interrupted" if signum == signal.SIGINT else "terminated"
    try:
        os.write(2, f"rnntui: {word}\n".encode())
    except OSError:
        pass
    os._exit(EXIT_CODES.get(signum, 128 + signum))


def guard_startup() -> None:
    """Until a run installs its own handlers, Ctrl-C and SIGTERM end the process
    at once (see the module docstring).  Main thread only."""
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            signal.signal(signum, _quit_at_once)


def release_startup() -> None:
    """Give Ctrl-C and SIGTERM their defaults back (the TUI handles its own keys)."""
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) is _quit_at_once:
                signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)


class Restore:
    """Puts the previous signal handlers back when called; ``signum`` is the
    first stop signal received (None when none came)."""

    def __init__(self, previous: dict[int, Any]) -> None:
        self.previous = previous
        self.signum: int | None = None

    def __call__(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.signum, EXIT_INTERRUPTED) if self.signum is not None else EXIT_INTERRUPTED


def cancel_on_sigint(control: Any, notice: Callable[[], None] | None = None) -> Restore:
    """First Ctrl-C or SIGTERM stops cleanly (results are written); a second aborts.

    ``control`` is anything with ``cancelled`` and ``cancel()`` (a RunControl, an
    ExperimentRunner); ``notice`` is called on the first signal.  Returns the
    :class:`Restore` that puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return Restore({})
    restore = Restore({})

    def handler(signum: int, frame: Any) -> None:
        if control.cancelled:
            raise KeyboardInterrupt
        restore.signum = signum
        if notice is not None:
            notice()
        control.cancel()

    restore.previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    return restore


class Output:
    """A stream the run writes to, which may close under it (``| head``).

    ``write`` never raises: the first failure (a broken pipe) marks the output
    closed, points the file descriptor at /dev/null (so the interpreter's last
    flush has nowhere to fail) and calls ``on_closed`` once."""

    def __init__(self, stream: TextIO, on_closed: Callable[[], None] | None = None) -> None:
        self.stream = stream
        self.on_closed = on_closed
        self.closed = False

    def write(self, text: str) -> None:
        if self.closed:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self._close()

    def _close(self) -> None:
        self.closed = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # not a real file (a test's StringIO)
            pass
        if self.on_closed is not None:
            self.on_closed()


def say(text: str, stream: TextIO | None = None) -> None:
    """Print one line on stderr (or ``stream``); a closed stream is not an error."""
    try:
        print(text, file=stream or sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
