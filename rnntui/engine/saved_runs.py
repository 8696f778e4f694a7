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

from rnntui.engine.record import RunRecord


def is_run_dir(path: Path) -> bool:
    return (path / "summary.json").is_file()


def run_subdirs(path: Path) -> list[Path]:
    """The run directories directly inside ``path`` (an experiment's runs), sorted."""
    try:
        return sorted(p for p in path.iterdir() if is_run_dir(p))
    except OSError:
        return []


def load_runs(path: str | Path) -> list[RunRecord]:
    """Records from a run directory, or from every run directory inside an
    experiment directory.  Raises ValueError with a readable message."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ValueError(f"{path} does not exist")
    if is_run_dir(path):
        return [read_record(path)]
    if path.is_dir():
        subdirs = run_subdirs(path)
        if subdirs:
            return [read_record(p) for p in subdirs]
    raise ValueError(f"{path} is neither a run directory (no summary.json) nor an experiment directory "
                     "(no run directories inside)")


def read_record(path: Path) -> RunRecord:
    try:
        return RunRecord.from_run_dir(str(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from None


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
    root = Path(root).expanduser()
    try:
        children = [p for p in root.iterdir() if p.is_dir()]
    except OSError:
        return []
    entries = []
    for path in children:
        if is_run_dir(path):
            entries.append(SavedEntry(path, "run", _run_title(path), _mtime(path)))
        else:
            runs = run_subdirs(path)
            if runs:
                entries.append(SavedEntry(path, "experiment", _experiment_title(path, len(runs)), _mtime(path)))
    entries.sort(key=lambda e: (-e.mtime, e.path.name))
    return entries[:limit]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _run_title(path: Path) -> str:
    summary = _read_json(path / "summary.json")
    config = summary.get("config") or {}
    return (f"{config.get('task', '?')}/{config.get('cell', '?')} h{config.get('hidden_size', '?')} · "
            f"{summary.get('status', '?')}")


def _experiment_title(path: Path, runs: int) -> str:
    results = _read_json(path / "results.json")
    name = results.get("experiment") or path.name
    total = results.get("runs_total", runs)
    return f"{name} · {runs} of {total} runs"
