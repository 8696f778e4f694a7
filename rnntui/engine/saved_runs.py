"""Runs saved on disk: load run and experiment directories as RunRecords, and
list what a runs folder holds (the Compare view's browser, ``rnntui plot``).

A run directory holds ``summary.json`` (see :mod:`rnntui.engine.rundir`); an
experiment directory holds ``results.json`` and one run directory per run.
No torch, no Textual.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnntui.config.keys import printable, shorten
from rnntui.engine.files import show_path
from rnntui.engine.record import RunRecord
from rnntui.engine.rundir import RunDirError, has_file, read_summary


def is_run_dir(path: Path) -> bool:
    return has_file(path / "summary.json")


def run_subdirs(path: Path) -> list[Path]:
    """The run directories directly inside ``path`` (an experiment's runs), sorted."""
    try:
        return sorted(p for p in path.iterdir() if is_run_dir(p))
    except (OSError, ValueError):
        return []


def load_runs(path: str | Path) -> list[RunRecord]:
    """Records from a run directory, or from every run directory inside an
    experiment directory.  Raises RunDirError (a ValueError) with one line naming
    the directory or file and what is wrong, whatever ``path`` and its files hold."""
    shown = show_path(path)
    try:
        path = Path(path).expanduser()
        exists = path.exists()
    except RuntimeError:  # ~user of no such user
        raise RunDirError(f"{shown}: no such user's home directory") from None
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte
        raise RunDirError(f"{shown}: not a usable path ({getattr(exc, 'strerror', None) or exc})") from None
    if not exists:
        raise RunDirError(f"{shown} does not exist")
    if is_run_dir(path):
        return [read_record(path)]
    if path.is_dir():
        subdirs = run_subdirs(path)
        if subdirs:
            return [read_record(p) for p in subdirs]
    raise RunDirError(f"{shown} is neither a run directory (no summary.json) nor an experiment directory "
                      "(no run directories inside)")


def read_record(path: Path) -> RunRecord:
    """The record of one run directory; RunDirError (one line) when it cannot be read."""
    return RunRecord.from_run_dir(str(path))


@dataclass(frozen=True)
class SavedEntry:
    """One loadable directory under a runs folder, described for a chooser."""

    path: Path
    kind: str  # "run" | "experiment"
    title: str  # task/cell and status, or the experiment's name and size
    mtime: float


def list_saved(root: str | Path, limit: int = 500) -> list[SavedEntry]:
    """The run and experiment directories directly under ``root``, newest first
    (an experiment's own runs are reached through it)."""
    try:
        root = Path(root).expanduser()
        children = sorted(((_mtime(p), p) for p in root.iterdir() if p.is_dir()), key=lambda c: (-c[0], c[1].name))
    except (OSError, ValueError, RuntimeError):  # no such folder or user, a path the system refuses
        return []
    entries = []
    for mtime, path in children:  # newest first, so that only the listed ones are read
        if len(entries) >= limit:
            break
        if is_run_dir(path):
            entries.append(SavedEntry(path, "run", _run_title(path), mtime))
        else:
            runs = run_subdirs(path)
            if runs:
                entries.append(SavedEntry(path, "experiment", _experiment_title(path, len(runs)), mtime))
    return entries


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


MAX_RESULTS_BYTES = 1 << 20
"""Most of results.json read for a title (its first keys are the experiment's name and size)."""


def _results_head(path: Path) -> dict[str, Any]:
    """results.json's top-level fields, or {} when it is missing, damaged or huge
    (an experiment's title falls back on its directory's name)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_RESULTS_BYTES + 1)
        if len(raw) > MAX_RESULTS_BYTES:
            return {}
        data = json.loads(raw.decode("utf-8", "replace"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _run_title(path: Path) -> str:
    try:
        summary = read_summary(path)
    except RunDirError as exc:
        return f"damaged: {shorten(str(exc).removeprefix(show_path(path / 'summary.json') + ': '), 80)}"
    config = summary["config"]
    return shorten(f"{config.get('task', '?')}/{config.get('cell', '?')} h{config.get('hidden_size', '?')} · "
                   f"{summary['status']}", 120)


def _experiment_title(path: Path, runs: int) -> str:
    results = _results_head(path / "results.json")
    name = results.get("experiment")
    total = results.get("runs_total")
    name = name if isinstance(name, str) and name else path.name
    total = total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else runs
    return f"{shorten(printable(name), 80)} · {runs} of {total} runs"
