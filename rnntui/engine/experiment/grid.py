"""An experiment's grid: config keys × trials, expanded into the runs to make.

    exp = Experiment.create(cfg, grid={"cell": ["lstm", "gru"], "seq_len": [50, 100]},
                            trials=3, out_dir="runs/x")
    rows = exp.rows()                  # the results table so far

* Grid points are the cartesian product of the grid lists, in the order the keys
  are given.  To compare combinations that are not a product (seed 003's
  rnn/lstm/gru/bi-rnn/bi-lstm) grid over ``cell`` × ``bidirectional``: the
  product holds all five plus bi-gru.
* ``overrides`` (a preset's ``[[override]]`` tables) set keys per grid point:
  e.g. fewer steps where ``seq_len`` is long, so each point gets a similar
  budget.  They apply on top of the point's grid values.
* Trial ``k`` of a point uses ``seed = seed + k`` (``seed`` from the point's config);
  :meth:`Experiment.create` rejects a grid whose last trial seed passes 2**32 - 1.
* Each run has its own run directory ``<out_dir>/<run>/`` (config, metrics,
  summary, checkpoint); :meth:`Experiment.write` keeps ``results.csv`` /
  ``results.json`` up to date with the outcomes known so far.

:mod:`rnntui.engine.experiment.runner` runs the specs.
"""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from rnntui.cells.spec import cell_spec
from rnntui.config import Config, ConfigError, build_config
from rnntui.config.presets import Override, point_overrides
from rnntui.engine.experiment.results import (
    GridPoint,
    Row,
    RunOutcome,
    aggregate,
    choose_columns,
    format_value,
    metric_names,
    write_results,
)
from rnntui.engine.dirclaim import EXPERIMENT_FILES, DirClaim, claim_dir
from rnntui.engine.rundir import timestamped_dir
from rnntui.tasks.spec import task_specs

MAX_SEED = 2**32 - 1  # the config's (and numpy's) limit; trial k of a point uses seed + k



@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: a grid point's config with the trial's seed."""

    run_id: str
    point: int
    trial: int
    config: dict[str, Any]
    out_dir: str

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    def cost(self) -> float:
        c = self.config
        steps = c["steps"] if not c["epochs"] else c["epochs"] * 200
        width = c["hidden_size"] * (c["hidden_size"] + 8) * c["num_layers"] * (2 if c["bidirectional"] else 1)
        return steps * c["batch_size"] * c["seq_len"] * width * cell_spec(c["cell"]).cost


def expand_grid(base: Config, grid: dict[str, list[Any]],
                overrides: Sequence[Override] = ()) -> list[tuple[GridPoint, Config]]:
    """The grid points (cartesian product, first key slowest) with their configs,
    each with the ``overrides`` that match it applied.
    Raises ConfigError for a combination that is invalid as a whole."""
    keys = list(grid)
    out = []
    for index, combo in enumerate(itertools.product(*(grid[k] for k in keys))):
        values = dict(zip(keys, combo))
        cfg = build_config(base.to_dict(), values)
        extra = point_overrides(cfg.to_dict(), list(overrides))
        if extra:
            cfg = build_config(cfg.to_dict(), extra)
        out.append((GridPoint(index, values), cfg))
    return out


def _slug(point: GridPoint, trial: int) -> str:
    parts = [f"p{point.index:02d}"] + [re.sub(r"[^A-Za-z0-9.+-]", "", format_value(v)) for v in point.values.values()]
    return "-".join(p for p in parts if p) + f"-t{trial}"


@dataclass
class Experiment:
    """A grid × trials over a base config, and what is known of its runs so far."""

    name: str
    base: Config
    grid: dict[str, list[Any]]
    trials: int
    out_dir: Path
    points: list[GridPoint]
    configs: list[Config]
    specs: list[RunSpec]
    exp_id: str = ""
    outcomes: dict[str, RunOutcome] = field(default_factory=dict)
    started_at: float = 0.0
    wall_time_s: float = 0.0
    _baselines: list[dict[str, float]] | None = field(default=None, repr=False)
    _by_point: dict[int, list[str]] | None = field(default=None, repr=False)
    _names: list[str] = field(default_factory=list, repr=False)
    _names_from: int = field(default=0, repr=False)
    _preferred: list[str] | None = field(default=None, repr=False)
    overrides: list[Override] = field(default_factory=list)
    _claim: DirClaim | None = field(default=None, repr=False)

    def claim_dir(self, overwrite: bool = False) -> None:
        """Create and lock ``out_dir`` for this experiment (see ``engine.dirclaim``):
        ConfigError (key ``out``) when another run writes there or it holds files
        rnntui did not write (unless ``overwrite``).  Idempotent."""
        if self._claim is None:
            self._claim = claim_dir(self.out_dir, overwrite=overwrite, stale=EXPERIMENT_FILES)

    def release_dir(self) -> None:
        if self._claim is not None:
            self._claim.release()
            self._claim = None

    @classmethod
    def create(cls, base: Config, grid: dict[str, list[Any]], trials: int = 1,
               out_dir: str | Path | None = None, name: str = "experiment",
               check: bool = True, overrides: Sequence[Override] = ()) -> "Experiment":
        """Expand and validate the grid (every point's task is built once when
        ``check``, so a bad combination fails now, before anything is written)."""
        pairs = expand_grid(base, grid, overrides)
        top = max(cfg.seed for _, cfg in pairs)
        if top + trials - 1 > MAX_SEED:
            raise ConfigError("trials", f"seed {top} with {trials} trials would use seeds up to {top + trials - 1}, "
                                        f"past the largest seed {MAX_SEED}; use a seed of at most "
                                        f"{MAX_SEED - trials + 1} or fewer trials")
        if check:
            from rnntui.engine.trainer import check_runnable

            for _, cfg in pairs:
                check_runnable(cfg)
        exp_id = uuid.uuid4().hex[:4]
        path = Path(out_dir) if out_dir else default_experiment_dir(name)
        specs = []
        for point, cfg in pairs:
            for trial in range(trials):
                config = cfg.to_dict()
                config["seed"] = cfg.seed + trial
                specs.append(RunSpec(f"{exp_id}.p{point.index:02d}t{trial}", point.index, trial, config,
                                     str(path / _slug(point, trial))))
        return cls(name, base, dict(grid), trials, path, [p for p, _ in pairs], [c for _, c in pairs],
                   specs, exp_id, overrides=list(overrides))

    @classmethod
    def from_request(cls, request: Any, out_dir: str | Path | None = None, check: bool = True) -> "Experiment":
        name = request.preset.name if getattr(request, "preset", None) else "experiment"
        return cls.create(request.config, request.grid, request.trials, out_dir, name, check,
                          getattr(request, "overrides", []))

    @property
    def total(self) -> int:
        return len(self.specs)

    @property
    def done(self) -> int:
        return len(self.outcomes)

    def spec(self, run_id: str) -> RunSpec | None:
        return next((s for s in self.specs if s.run_id == run_id), None)

    def rows(self) -> list[Row]:
        return aggregate(self.points, self.trials, self.outcomes.values())

    def row(self, point: int) -> Row:
        """Grid point ``point``'s row alone: it reads only that point's trials, so
        a front end can show it after every outcome at any grid size."""
        if self._by_point is None:
            self._by_point = {}
            for s in self.specs:
                self._by_point.setdefault(s.point, []).append(s.run_id)
        mine = [self.outcomes[r] for r in self._by_point.get(point, []) if r in self.outcomes]
        return aggregate([self.points[point]], self.trials, mine)[0]

    def metric_names(self) -> list[str]:
        """Every final-metric name so far, in first-seen order (kept up to date
        from the outcomes added since the last call: outcomes only grow)."""
        if self._names_from > len(self.outcomes):  # outcomes were replaced: start over
            self._names, self._names_from = [], 0
        new = itertools.islice(self.outcomes.values(), self._names_from, None)
        self._names += [n for n in metric_names(new) if n not in self._names]
        self._names_from = len(self.outcomes)
        return list(self._names)

    def columns(self, limit: int = 4) -> list[str]:
        """Metrics worth showing: the task's own metrics first."""
        if self._preferred is None:  # once: the headless table asks after every outcome
            specs = task_specs()
            self._preferred = [m.name for task in dict.fromkeys(c.task for c in self.configs)
                               for m in specs[task].metrics]
        return choose_columns(self.metric_names(), self._preferred, limit)

    def baselines(self) -> list[dict[str, float]]:
        """Each grid point's trivial-predictor scores (they can depend on the
        point: the copy task's cross-entropy baseline falls with the delay)."""
        if self._baselines is None:
            from rnntui.tasks import build_task

            out = []
            for cfg in self.configs:
                try:
                    out.append({k: float(v) for k, v in build_task(cfg).baseline().items()})
                except Exception:  # noqa: BLE001 - display only
                    out.append({})
            self._baselines = out
        return self._baselines

    def baseline_text(self) -> str:
        """One line: a metric's baseline value, or its range when it varies by point."""
        parts = []
        names: list[str] = []
        for b in self.baselines():
            names += [k for k in b if k not in names]
        for name in names:
            values = [b[name] for b in self.baselines() if name in b]
            lo, hi = min(values), max(values)
            parts.append(f"{name} {lo:.4g}" if hi - lo <= 1e-12 * max(1.0, abs(hi))
                         else f"{name} {lo:.4g}..{hi:.4g} (by grid point)")
        return "  ".join(parts)

    def meta(self) -> dict[str, Any]:
        return {"experiment": self.name, "id": self.exp_id, "grid": self.grid, "trials": self.trials,
                "runs": self.total, "base_config": self.base.to_dict(), "baselines": self.baselines(),
                "overrides": [o.to_json() for o in self.overrides],
                "wall_time_s": round(self.wall_time_s, 3)}

    def write(self) -> tuple[Path, Path]:
        """(Re)write results.csv and results.json with what is known now."""
        meta = self.meta()
        meta["runs_total"] = meta.pop("runs")
        meta["runs_done"] = self.done
        return write_results(self.out_dir, self.rows(), list(self.outcomes.values()), meta)


def default_experiment_dir(name: str, root: str | Path = "runs") -> Path:
    return timestamped_dir(name, root)

