"""Claiming a run (or experiment) directory: one writer at a time, no one else's files.

Before rnntui writes into a directory it claims it (:func:`claim_dir`):

* the directory gets a marker file, ``.rnntui``, which says rnntui made it and
  is the lock: an exclusive ``flock`` held until the run ends, so a second run
  given the same ``--out`` is refused at once instead of mixing its files with
  the first one's (the kernel drops the lock when a process dies, even by
  ``kill -9``);
* a directory that already holds files but no marker holds someone else's files:
  it is refused unless the caller asks to overwrite (rnntui then writes only its
  own file names and leaves the others alone);
* a directory rnntui wrote before is reused: the previous run's files are
  removed first (except ``keep``, the checkpoint a run resumes from), so the
  directory never mixes two runs, and so are temporary files a killed run left.

Errors are ConfigError with key ``out`` (exit code 2): nothing was trained yet.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from rnntui.config import ConfigError
from rnntui.engine.files import TMP_SUFFIX, is_full, show_path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, the marker still guards
    fcntl = None  # type: ignore[assignment]

MARKER = ".rnntui"
"""Marks a directory rnntui writes, and is its lock file."""
RESERVE = ".rnntui-reserve"
"""Space a run keeps in reserve so its summary can be written on a full disk."""
RUN_FILES = ("config.toml", "metrics.jsonl", "summary.json", "checkpoint.pt")
EXPERIMENT_FILES = ("results.csv", "results.json")
OWN_FILES = (*RUN_FILES, *EXPERIMENT_FILES, RESERVE)
MARKER_TEXT = "This directory is written by rnntui (https://pypi.org/project/rnntui/); pid {pid}\n"


@dataclass
class DirClaim:
    """A claimed directory: its lock is held until :meth:`release`."""

    path: Path
    created: list[Path] = field(default_factory=list)
    """Directories this claim created, deepest first (removed by :meth:`discard`)."""
    fd: int | None = None
    made_marker: bool = False

    def release(self) -> None:
        """Drop the lock (the marker stays: the directory is rnntui's)."""
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = None

    def discard(self, files: Iterable[Path] = ()) -> None:
        """Undo the claim of a run that never started: remove ``files``, the marker
        if this claim created the directory, and the directories it created."""
        for path in files:
            _unlink(path)
        if self.made_marker:
            _unlink(self.path / MARKER)
        self.release()
        for folder in self.created:
            try:
                folder.rmdir()
            except OSError:
                break


def claim_dir(path: str | Path, *, overwrite: bool = False, keep: Iterable[str | Path] = (),
              stale: Iterable[str] = RUN_FILES) -> DirClaim:
    """Create (if needed), check and lock ``path`` for one writer; remove the
    ``stale`` files of an earlier run in it (not those in ``keep``) and leftover
    temporary files.  Raises ConfigError (key ``out``)."""
    path = Path(path)
    shown = show_path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError("out", f"{shown!r} is a file; allowed: a folder (new, empty, or an earlier run's)")
    created = [p for p in (path, *path.parents) if not p.exists()]
    claim = DirClaim(path, created)
    try:
        path.mkdir(parents=True, exist_ok=True)
        marked = (path / MARKER).is_file()
        if not marked and not overwrite:
            foreign = sorted(p.name for p in path.iterdir())
            if foreign:
                listed = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
                raise ConfigError("out", f"{shown!r} holds files rnntui did not write ({show_path(listed)}); "
                                         f"allowed: a new or empty folder, an earlier rnntui run's, or "
                                         f"--overwrite to write beside them")
        fd = os.open(path / MARKER, os.O_RDWR | os.O_CREAT, 0o644)
        _lock(fd, path)
        claim.fd, claim.made_marker = fd, not marked
        os.ftruncate(claim.fd, 0)
        os.pwrite(claim.fd, MARKER_TEXT.format(pid=os.getpid()).encode(), 0)
        kept = {Path(k).resolve() for k in keep}
        for name in stale:
            if (path / name).resolve() not in kept:
                _unlink(path / name)
        for leftover in path.glob(f"*{TMP_SUFFIX}"):  # a killed run's half-written files
            if any(leftover.name.startswith(own + ".") for own in OWN_FILES):
                _unlink(leftover)
        _unlink(path / RESERVE)
    except ConfigError:
        claim.discard()
        raise
    except OSError as exc:
        claim.discard()
        if is_full(exc):
            raise ConfigError("out", f"no space left on {shown!r}") from None
        raise ConfigError("out", f"cannot write the run directory {shown!r}: {exc.strerror or exc}") from None
    return claim


def _lock(fd: int, path: Path) -> None:
    if fcntl is None:  # pragma: no cover
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise
        try:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").rsplit("pid", 1)[-1].strip()
        except OSError:
            holder = "?"
        os.close(fd)
        raise ConfigError("out", f"{show_path(path)!r} is in use by another rnntui run (pid {holder}); "
                                 f"allowed: a folder no other run is writing") from None


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        pass
