"""Aggregating an experiment's runs into its results table, and writing it.

Pure Python (no torch, no textual): the Experiment view and the headless runner
both call it with whatever runs have finished so far.

Per grid point and per final metric: the mean over the *finished* trials and
the standard error ``s / sqrt(n)`` where ``s`` is the sample standard deviation
(``n - 1`` in the denominator; seed 000 used the population one, which
understates the error for 3 trials by a factor sqrt(3/2)).  With ``n = 1`` the
standard error is undefined: ``None`` (an empty CSV cell, JSON ``null``).
Failed and stopped runs are counted but never averaged.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from rnntui.engine.files import write_atomic
from rnntui.engine.metrics import keys_named


@dataclass(frozen=True)
class GridPoint:
    """One combination of grid values; ``values`` maps config key -> value."""

    index: int
    values: dict[str, Any]

    @property
    def label(self) -> str:
        return " ".join(f"{k}={format_value(v)}" for k, v in self.values.items()) or "(base config)"


@dataclass
class RunOutcome:
    """What one run of an experiment ended with (returned by a worker)."""

    run_id: str
    point: int
    trial: int
    seed: int
    status: str  # finished | stopped | failed | cancelled
    final: dict[str, float] = field(default_factory=dict)
    wall_time_s: float = 0.0
    params: int = 0
    step: int = 0
    reason: str = ""
    path: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The outcome without its metric history (for results.json)."""
        return {
            "run_id": self.run_id, "point": self.point, "trial": self.trial, "seed": self.seed,
            "status": self.status, "reason": self.reason, "step": self.step,
            "wall_time_s": round(self.wall_time_s, 3), "params": self.params,
            "final": self.final, "path": self.path,
        }


@dataclass(frozen=True)
class Stat:
    mean: float | None
    stderr: float | None
    n: int

    def format(self, digits: int = 4) -> str:
        if self.mean is None:
            return "—"
        text = f"{self.mean:.{digits}g}"
        if self.stderr is not None:
            text += f" ± {self.stderr:.2g}"
        return text


@dataclass
class Row:
    """One grid point of the results table."""

    point: GridPoint
    trials: int
    finished: int = 0
    failed: int = 0
    stopped: int = 0
    params: int = 0
    wall_time: Stat = field(default_factory=lambda: Stat(None, None, 0))
    metrics: dict[str, Stat] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.finished + self.failed + self.stopped

    @property
    def complete(self) -> bool:
        return self.done >= self.trials

    @property
    def status(self) -> str:
        if self.done == 0:
            return "pending"
        if not self.complete:
            return f"{self.done}/{self.trials}"
        if self.failed and not self.finished:
            return "failed"
        if self.failed:
            return f"{self.failed} failed"
        if self.stopped:
            return f"{self.stopped} stopped"
        return "done"

    def to_flat(self, metric_names: Sequence[str]) -> dict[str, Any]:
        """One CSV row: grid values, counts, params, wall time, then per metric
        ``<m>_mean``, ``<m>_stderr``, ``<m>_n``."""
        out: dict[str, Any] = {"point": self.point.index}
        out.update({k: _csv_value(v) for k, v in self.point.values.items()})
        out.update({"trials": self.trials, "finished": self.finished, "failed": self.failed,
                    "stopped": self.stopped, "params": self.params,
                    "wall_time_s_mean": self.wall_time.mean, "wall_time_s_stderr": self.wall_time.stderr})
        for name in metric_names:
            stat = self.metrics.get(name, Stat(None, None, 0))
            out[f"{name}_mean"] = stat.mean
            out[f"{name}_stderr"] = stat.stderr
            out[f"{name}_n"] = stat.n
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "point": self.point.index,
            "values": self.point.values,
            "label": self.point.label,
            "trials": self.trials,
            "finished": self.finished,
            "failed": self.failed,
            "stopped": self.stopped,
            "params": self.params,
            "wall_time_s": {"mean": self.wall_time.mean, "stderr": self.wall_time.stderr, "n": self.wall_time.n},
            "metrics": {k: {"mean": s.mean, "stderr": s.stderr, "n": s.n} for k, s in self.metrics.items()},
            "reasons": self.reasons,
        }


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    return str(value)


def _csv_value(value: Any) -> Any:
    return format_value(value) if isinstance(value, (bool, list)) else value


def mean_stderr(values: Iterable[float]) -> Stat:
    """Mean and standard error (sample std / sqrt(n)) of the finite ``values``."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(xs)
    if n == 0:
        return Stat(None, None, 0)
    mean = math.fsum(xs) / n
    if n == 1:
        return Stat(mean, None, 1)
    var = math.fsum((x - mean) ** 2 for x in xs) / (n - 1)
    return Stat(mean, math.sqrt(var) / math.sqrt(n), n)


def metric_names(outcomes: Iterable[RunOutcome]) -> list[str]:
    """Every final-metric name, in first-seen order."""
    names: list[str] = []
    for outcome in outcomes:
        for key in outcome.final:
            if key not in names:
                names.append(key)
    return names


def aggregate(points: Sequence[GridPoint], trials: int, outcomes: Iterable[RunOutcome]) -> list[Row]:
    """The results table for the outcomes known so far (one row per grid point)."""
    by_point: dict[int, list[RunOutcome]] = {p.index: [] for p in points}
    for outcome in outcomes:
        by_point.setdefault(outcome.point, []).append(outcome)
    rows = []
    for point in points:
        runs = sorted(by_point[point.index], key=lambda o: o.trial)
        done = [o for o in runs if o.status == "finished"]
        row = Row(point, trials)
        row.finished = len(done)
        row.failed = sum(o.status == "failed" for o in runs)
        row.stopped = sum(o.status in ("stopped", "cancelled") for o in runs)
        row.params = max((o.params for o in runs), default=0)
        row.wall_time = mean_stderr(o.wall_time_s for o in done)
        row.reasons = [f"trial {o.trial}: {o.reason}" for o in runs if o.status == "failed"]
        for name in metric_names(done):
            row.metrics[name] = mean_stderr(o.final[name] for o in done if name in o.final)
        rows.append(row)
    return rows


# ------------------------------------------------------------------ writers
def _atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file and a rename, so a reader never sees half a table
    (NoSpace on a full disk, the old table kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text, sync=False)


def rows_to_csv(rows: Sequence[Row], names: Sequence[str]) -> str:
    flat = [row.to_flat(names) for row in rows]
    header: list[str] = []
    for item in flat:
        for key in item:
            if key not in header:
                header.append(key)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for item in flat:
        writer.writerow({k: ("" if v is None else v) for k, v in item.items()})
    return buf.getvalue()


def write_results(
    directory: str | Path,
    rows: Sequence[Row],
    outcomes: Sequence[RunOutcome],
    meta: dict[str, Any],
) -> tuple[Path, Path]:
    """Write ``results.csv`` and ``results.json`` into ``directory`` (atomically)."""
    directory = Path(directory)
    names = metric_names(o for o in outcomes if o.status == "finished") or metric_names(outcomes)
    csv_path, json_path = directory / "results.csv", directory / "results.json"
    _atomic_write(csv_path, rows_to_csv(rows, names))
    data = {**meta, "metrics": names, "rows": [r.to_json() for r in rows],
            "runs": [o.summary() for o in sorted(outcomes, key=lambda o: (o.point, o.trial))]}
    _atomic_write(json_path, json_lines_layout(data))
    return csv_path, json_path


def json_lines_layout(data: dict[str, Any]) -> str:
    """``data`` as JSON with one top-level key per line and one item per line in
    its lists (a row, a run): readable, and written by the C encoder (``indent``
    would switch json to its pure-Python encoder, 10× slower, and results.json
    grows with every run of the experiment)."""
    def dump(value: Any) -> str:
        return json.dumps(value, default=str)

    parts = []
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            items = ",\n    ".join(dump(v) for v in value)
            parts.append(f"  {dump(key)}: [\n    {items}\n  ]")
        else:
            parts.append(f"  {dump(key)}: {dump(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


# ------------------------------------------------------------- text table
def choose_columns(names: Sequence[str], preferred: Sequence[str] = (), limit: int = 4) -> list[str]:
    """The metrics worth a column: the task's own first, then val_loss, then the rest."""
    ordered = [n for n in preferred if n in names]
    if ordered:  # the main metric at the other evaluation lengths (length generalisation)
        ordered += [n for n in keys_named(names, ordered[0]) if n not in ordered]
    if "val_loss" in names and "val_loss" not in ordered:
        ordered.append("val_loss")
    ordered += [n for n in names if n not in ordered]
    return ordered[:limit]


def _format_time(stat: Stat) -> str:
    if stat.mean is None:
        return "—"
    return f"{stat.mean:.1f}" + (f" ± {stat.stderr:.1f}" if stat.stderr is not None else "")


def format_table(rows: Sequence[Row], columns: Sequence[str],
                 baselines: Sequence[dict[str, float]] | None = None) -> str:
    """A plain-text results table (what the headless runner prints).  With
    ``baselines`` (one dict per grid point), a metric whose trivial baseline
    differs between points gets a baseline column next to it."""
    keys: list[str] = []
    for row in rows:
        for key in row.point.values:
            if key not in keys:
                keys.append(key)
    varying = set()
    if baselines:
        for c in columns:
            values = {round(b[c], 12) for b in baselines if c in b}
            if len(values) > 1:
                varying.add(c)
    header = keys[:]
    for c in columns:
        header.append(f"{c} (mean ± se)")
        if c in varying:
            header.append(f"{c} baseline")
    header += ["n", "time s", "params", "status"]
    body = []
    for row in rows:
        cells = [format_value(row.point.values.get(k, "")) for k in keys]
        for c in columns:
            cells.append(row.metrics.get(c, Stat(None, None, 0)).format())
            if c in varying:
                base = baselines[row.point.index].get(c) if baselines and row.point.index < len(baselines) else None
                cells.append("—" if base is None else f"{base:.4g}")
        cells += [str(row.finished), _format_time(row.wall_time),
                  f"{row.params:,}" if row.params else "—", row.status]
        body.append(cells)
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in body]
    return "\n".join(line.rstrip() for line in lines)


# ------------------------------------------------------ exporting runs
def export_records(records: Sequence[Any], directory: str | Path, stem: str = "compare") -> tuple[Path, Path]:
    """Write selected runs (``RunRecord`` objects) as ``<stem>.csv`` (one row per
    run: id, status, params, wall time, the config keys that differ between the
    runs, final metrics) and ``<stem>.json`` (full configs and curves)."""
    directory = Path(directory)
    configs = [r.config for r in records]
    keys = sorted({k for c in configs for k in c})
    varying = [k for k in keys if len({json.dumps(c.get(k), sort_keys=True, default=str) for c in configs}) > 1]
    finals: list[str] = []
    for r in records:
        finals += [k for k in r.final if k not in finals]
    rows = []
    for r in records:
        row: dict[str, Any] = {"run_id": r.run_id, "status": r.status, "task": r.config.get("task", ""),
                               "cell": r.config.get("cell", ""), "params": r.params, "step": r.step,
                               "wall_time_s": round(r.wall_time_s, 3), "path": r.path or ""}
        row.update({k: _csv_value(r.config.get(k)) for k in varying if k not in row})
        row.update({k: r.final.get(k) for k in finals})
        rows.append(row)
    header: list[str] = []
    for row in rows:
        header += [k for k in row if k not in header]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    data = {"runs": [{"run_id": r.run_id, "status": r.status, "reason": r.reason, "path": r.path,
                      "params": r.params, "step": r.step, "wall_time_s": r.wall_time_s,
                      "config": r.config, "final": r.final, "baseline": r.baseline,
                      "steps": r.steps, "evals": r.evals} for r in records],
            "varying": varying}
    csv_path, json_path = directory / f"{stem}.csv", directory / f"{stem}.json"
    _atomic_write(csv_path, buf.getvalue())
    _atomic_write(json_path, json.dumps(data, indent=1, default=str) + "\n")
    return csv_path, json_path
