"""Writing files so that no crash, kill or full disk leaves half of one.

Every file rnntui replaces (config, summary, checkpoint, results tables) is
written with :func:`write_atomic`: the bytes go to a temporary file beside the
target, are flushed to the disk, and the temporary file is renamed over the
target — a reader sees the old file or the new one, never a part.  When the
write fails, the temporary file is removed, so a full disk leaves no 0-byte or
truncated file behind.  :func:`append_line` adds one line to a log and, when the
disk fills half-way through it, cuts the file back to its last whole line.

A full disk surfaces as :class:`NoSpace`, whose message is ``no space left on
<path>``; any other write error keeps its own message with the path.
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile
from pathlib import Path

from rnntui.config.keys import printable, shorten

TMP_SUFFIX = ".tmp"
"""Temporary files are ``<name>.<random>.tmp`` beside ``<name>``."""
FULL = (errno.ENOSPC, errno.EDQUOT)


class NoSpace(OSError):
    """The disk (or the user's quota) is full; ``filename`` is the file being written."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(errno.ENOSPC, "no space left", str(path))

    def __str__(self) -> str:
        return f"no space left on {show_path(self.filename)}"


def show_path(path: str | Path) -> str:
    """A path as messages print it: control characters escaped, long ones shortened."""
    return shorten(printable(str(path)), 120)


def is_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in FULL


def write_error(exc: OSError, path: str | Path) -> OSError:
    """``exc`` (raised writing ``path``) as a :class:`NoSpace` when the disk is full."""
    return NoSpace(path) if is_full(exc) else exc


def write_atomic(path: str | Path, data: bytes | str, *, sync: bool = True) -> Path:
    """Replace ``path`` with ``data`` atomically (see the module docstring).

    Raises :class:`NoSpace` on a full disk, OSError otherwise; either way
    ``path`` keeps its old content and no temporary file is left."""
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=TMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise write_error(exc, path) from None
    try:
        try:
            os.fchmod(fd, _file_mode())  # mkstemp makes 0600; a plain open() would give 0666 less the umask
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view):]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        raise write_error(exc, path) from None
    except BaseException:
        _unlink(tmp)
        raise
    return path


@functools.lru_cache(maxsize=1)
def _file_mode() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def append_line(fd: int, line: bytes, end: int, path: str | Path) -> int:
    """Write ``line`` at offset ``end`` of the file open as ``fd``; return the new end.

    When the write fails half-way (a full disk), the file is cut back to ``end``,
    so it still ends with a whole line, and NoSpace/OSError is raised."""
    try:
        view, at = memoryview(line), end
        while view:
            n = os.pwrite(fd, view, at)
            view, at = view[n:], at + n
        return at
    except OSError as exc:
        try:
            os.ftruncate(fd, end)
        except OSError:
            pass
        raise write_error(exc, path) from None


def _unlink(path: str | Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
