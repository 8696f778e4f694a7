"""Curves over several runs: what differs between them, runs grouped by their
config up to the seed, and a group's mean curve with a ± standard-error band.

Used by the Compare and Experiment views and by ``rnntui plot``.  numpy only:
no torch, no Textual.

The band at a step is ``mean ± s / sqrt(n)`` over the ``n`` runs that have a
finite value there, ``s`` the sample standard deviation (``n - 1`` in the
denominator, as in :func:`rnntui.engine.experiment.results.mean_stderr`); where
only one run has a value the band is that value (no spread is known).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from rnntui.engine.experiment.results import format_value
from rnntui.engine.record import RunRecord

SEED_KEYS = ("seed",)
"""Config keys that only pick the random draw: runs differing in them alone are trials of one setting."""


@dataclass
class Band:
    """A mean curve and its ± standard-error band at ``xs`` (``n``: runs with a value there)."""

    xs: list[float]
    mean: list[float]
    lo: list[float]
    hi: list[float]
    n: list[int]


def mean_band(series: Sequence[tuple[Sequence[float], Sequence[float]]]) -> Band:
    """The mean and mean ∓ standard error of several runs' ``(xs, ys)`` at every x
    any of them has (runs need not share their xs)."""
    series = [(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)) for xs, ys in series if len(xs)]
    if not series:
        return Band([], [], [], [], [])
    grid = np.unique(np.concatenate([xs for xs, _ in series]))
    values = np.full((len(series), len(grid)), np.nan)
    for row, (xs, ys) in enumerate(series):
        values[row, np.searchsorted(grid, xs)] = ys
    values[~np.isfinite(values)] = np.nan
    n = np.sum(~np.isnan(values), axis=0)
    keep = n > 0
    grid, values, n = grid[keep], values[:, keep], n[keep]
    mean = np.nansum(values, axis=0) / n
    centred = np.where(np.isnan(values), 0.0, values - mean)
    var = np.sum(centred ** 2, axis=0) / np.maximum(n - 1, 1)
    stderr = np.where(n > 1, np.sqrt(var) / np.sqrt(n), 0.0)
    return Band(grid.tolist(), mean.tolist(), (mean - stderr).tolist(), (mean + stderr).tolist(), n.tolist())


def differing_keys(configs: Sequence[dict[str, Any]], ignore: Iterable[str] = ()) -> list[str]:
    """The config keys whose values are not the same in every one of ``configs``
    (in the first config's key order), less ``ignore``."""
    skip = set(ignore)
    keys: list[str] = []
    for config in configs:
        keys += [k for k in config if k not in keys and k not in skip]
    return [k for k in keys if len({_canonical(c.get(k)) for c in configs}) > 1]


def config_label(config: dict[str, Any], keys: Sequence[str], max_keys: int = 3) -> str:
    """``"cell=gru hidden_size=32"``: the values of ``keys`` in ``config`` (the first
    ``max_keys`` of them, then ``+N`` for the rest)."""
    text = " ".join(f"{k}={format_value(config.get(k))}" for k in keys[:max_keys])
    return text + (f" +{len(keys) - max_keys}" if len(keys) > max_keys else "")


def run_labels(records: Sequence[RunRecord]) -> list[str]:
    """A legend label per run naming what sets it apart (``cell=gru``; ``seed=1``
    when only the seed does), or its run id when the configs are all the same."""
    keys = differing_keys([r.config for r in records])
    if not keys:
        return [r.run_id for r in records]
    labels = [config_label(r.config, keys) for r in records]
    if len(set(labels)) < len(labels):  # past max_keys: the id tells them apart
        labels = [f"{label} {r.run_id}" for label, r in zip(labels, records)]
    return labels


@dataclass
class RunGroup:
    """Runs whose configs are equal up to the seed: trials of one setting."""

    label: str
    records: list[RunRecord] = field(default_factory=list)

    @property
    def seeds(self) -> list[Any]:
        return [r.config.get("seed") for r in self.records]

    def band(self, series: str) -> Band:
        """The group's mean ± standard error of ``series`` (``loss`` or a metric key)."""
        return mean_band([r.series(series) for r in self.records])


def group_runs(records: Sequence[RunRecord]) -> list[RunGroup]:
    """``records`` grouped by config up to the seed, in first-seen order; each group
    labelled by what sets it apart from the others (``cell=gru``), or ``all runs``
    when there is one group."""
    groups: dict[str, list[RunRecord]] = {}
    for record in records:
        key = _canonical({k: v for k, v in record.config.items() if k not in SEED_KEYS})
        groups.setdefault(key, []).append(record)
    members = list(groups.values())
    keys = differing_keys([g[0].config for g in members], SEED_KEYS)
    if len(members) == 1:
        return [RunGroup("all runs", members[0])]
    return [RunGroup(config_label(g[0].config, keys), g) for g in members]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
