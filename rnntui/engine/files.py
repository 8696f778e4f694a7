"""Writing a file atomically with the permissions every other file gets.

``tempfile.mkstemp`` creates its file with mode 0600 whatever the umask, and a
rename keeps that mode: checkpoints and exported tables written that way were
private while a run's config and metrics (plain ``open``) were not.  Here the
temporary file is created with ``0o666 & ~umask``, as ``open`` would, under a
name no one else uses, then renamed over the target.  No torch.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import IO, Callable


def atomic_write(path: str | Path, write: Callable[[IO], object], *, binary: bool = False) -> Path:
    """Create ``path`` (or replace it) with what ``write(file)`` writes; a reader
    sees the old file or the whole new one, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as with open()
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")) as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
