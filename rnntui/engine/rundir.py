"""A run directory: what a finished (or failed) run leaves on disk.

    config.toml     the full config of the run
    metrics.jsonl   one JSON object per step-window and per evaluation, as they happen
    summary.json    config, final validation metrics, params, steps, wall time, status
    checkpoint.pt   model/optimiser/RNG state (torch.load(weights_only=True))

:class:`RunWriter` is an event consumer: the headless runner and the TUI both
feed it the trainer's events, so a run that fails half-way keeps its history.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Any

from rnntui.config import Config, to_toml
from rnntui.engine.events import EvalMetrics, Event, RunFailed, RunFinished, RunStarted, StepMetrics

CHECKPOINT_NAME = "checkpoint.pt"


def timestamped_dir(name: str, root: str | Path = "runs") -> Path:
    """``root/<YYYYmmdd-HHMMSS>-<name>``, with ``-2``, ``-3``... if it exists."""
    base = Path(root) / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = Path(f"{base}-{n}")
    return path


def default_run_dir(cfg: Config, root: str | Path = "runs") -> Path:
    return timestamped_dir(f"{cfg.task}-{cfg.cell}", root)


class RunWriter:
    def __init__(self, path: str | Path, cfg: Config) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.cfg = cfg
        (self.path / "config.toml").write_text(to_toml(cfg), encoding="utf-8")
        self._metrics: IO[str] = open(self.path / "metrics.jsonl", "w", encoding="utf-8")
        self.started: RunStarted | None = None
        self.summary: dict[str, Any] | None = None

    def write_history(self, steps: list[dict[str, Any]], evals: list[dict[str, Any]]) -> None:
        """Rows a resumed run inherits from its checkpoint, so the file holds the whole curve."""
        for kind, rows in (("step", steps), ("eval", evals)):
            for row in rows:
                self._metrics.write(json.dumps({"event": kind, **row}) + "\n")
        self._metrics.flush()

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT_NAME

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.started = event
        elif isinstance(event, (StepMetrics, EvalMetrics)):
            self._metrics.write(json.dumps(event.to_json()) + "\n")
            self._metrics.flush()
        elif isinstance(event, (RunFinished, RunFailed)):
            self._write_summary(event)

    def _write_summary(self, event: RunFinished | RunFailed) -> None:
        if isinstance(event, RunFinished):
            status, final, reason = ("stopped" if event.stopped else "finished"), event.final, ""
        else:
            status, final, reason = "failed", {}, event.reason
        self.summary = {
            "run_id": event.run_id,
            "status": status,
            "reason": reason,
            "config": self.cfg.to_dict(),
            "final": final,
            "params": self.started.params if self.started else 0,
            "device": self.started.device if self.started else "",
            "baseline": self.started.baseline if self.started else {},
            "steps": event.step,
            "wall_time_s": round(event.wall_time_s, 3),
        }
        (self.path / "summary.json").write_text(json.dumps(self.summary, indent=2) + "\n", encoding="utf-8")

    def close(self) -> None:
        self._metrics.close()


def read_run_dir(path: str | Path) -> dict[str, Any]:
    """Load a run directory's summary and metric history (for Compare)."""
    path = Path(path)
    summary_path = path / "summary.json"
    if not summary_path.is_file():
        raise FileNotFoundError(f"{path} has no summary.json (not an rnntui run directory?)")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    steps, evals = [], []
    metrics_path = path / "metrics.jsonl"
    if metrics_path.is_file():
        for line in metrics_path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            (steps if row.get("event") == "step" else evals).append(row)
    return {"summary": summary, "steps": steps, "evals": evals, "path": str(path)}


def pack_run_dir(path: str | Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``path`` as ``{relative POSIX name: (permission bits, bytes)}``:
    a run directory made on another machine travels back to the driver in one message."""
    root = Path(path)
    return {p.relative_to(root).as_posix(): (p.stat().st_mode & 0o777, p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file()}


def unpack_run_dir(files: dict[str, tuple[int, bytes]], path: str | Path) -> None:
    """Write :func:`pack_run_dir`'s files under ``path``, with their permission bits
    (a name that would land outside it is refused with ValueError)."""
    root = Path(path).resolve()
    for name, (mode, data) in files.items():
        target = (root / name).resolve()
        if root != target and root not in target.parents:
            raise ValueError(f"run directory file {name!r} would land outside {root}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(mode)
