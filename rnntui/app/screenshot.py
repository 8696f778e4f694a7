"""Saving a screenshot (the palette's "Save screenshot") where it can be written.

Textual saves it in the user's downloads folder and, when that fails (no such
folder on a server, no permission), says only "Failed to save screenshot".
Here the folders are tried in turn -- the one asked for (else the downloads
folder), the working directory, the temporary directory -- and the result
names the file written or, for each folder, why it could not be.  No Textual.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def screenshot_name(title: str = "rnntui") -> str:
    """``rnntui_2026-01-31T12_00_00.svg`` (no characters a file system refuses)."""
    return f"{title}_{time.strftime('%Y-%m-%dT%H_%M_%S')}.svg"


def candidate_dirs(asked: str | Path | None, downloads: Path | None) -> list[Path]:
    """Where to try, in order, without repeats."""
    found: list[Path] = []
    for folder in (Path(asked) if asked else downloads, Path.cwd(), Path(tempfile.gettempdir())):
        if folder is not None and folder not in found:
            found.append(folder)
    return found


def save_text(text: str, name: str, folders: list[Path]) -> tuple[Path | None, list[str]]:
    """Write ``text`` as ``name`` in the first folder that takes it: (the path or
    None, one "folder: reason" line per folder that refused)."""
    refused = []
    for folder in folders:
        path = folder / name
        try:
            with open(path, "x", encoding="utf-8") as fh:  # never overwrite another file
                fh.write(text)
        except OSError as exc:
            refused.append(f"{folder}: {exc.strerror or type(exc).__name__}")
            continue
        return path, refused
    return None, refused
