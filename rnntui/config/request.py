"""What a command asks for: a validated config, and for an experiment its grid and trials.

The command line and the TUI both build a :class:`Request` through
:func:`make_request`; neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from rnntui.config.keys import show
from rnntui.config.presets import (TRIALS, Override, Preset, load_preset, parse_experiment, point_overrides,
                                    preset_paths)
from rnntui.config.schema import KEYS, Config, ConfigError, build_config, coerce, field_names
from rnntui.config.schema import key as declared_key


@dataclass
class Request:
    """A validated run or experiment request."""

    config: Config
    preset: Preset | None = None
    grid: dict[str, list[Any]] = field(default_factory=dict)
    trials: int = 1
    overrides: list[Override] = field(default_factory=list)
    """The preset's per-grid-point settings, less the keys a flag or ``--set`` pins."""

    @property
    def is_experiment(self) -> bool:
        return bool(self.grid) or self.trials > 1


def split_set_pairs(pairs: Iterable[str]) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """``--set KEY=VALUE`` items -> (config overrides, grid overrides, trials or None).

    A key given twice takes the later value; the earlier one is still checked
    (nothing is accepted unseen)."""
    overrides: dict[str, Any] = {}
    grid: dict[str, Any] = {}
    trials = None
    for item in pairs:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigError("--set", f"got {show(item)}; expected KEY=VALUE, e.g. --set hidden_size=20")
        if key == "trials":
            if trials is not None:
                TRIALS.validate(TRIALS.parse(trials))
            trials = value.strip()
        elif key.startswith("grid."):
            if key[5:] in grid:
                parse_experiment({key[5:]: grid[key[5:]]}, 1)
            grid[key[5:]] = value.strip()
        else:
            if key in overrides:
                declared_key(key).validate(coerce(key, overrides[key]))
            overrides[key] = value
    return overrides, grid, trials


def task_preset(task: str) -> Preset | None:
    """The preset named after ``task`` (its recommended settings), or None."""
    return load_preset(task) if task in preset_paths() else None


def make_request(preset_name: str | None = None, flags: dict[str, Any] | None = None,
                 set_pairs: Iterable[str] = (), *, task_defaults: bool = False) -> Request:
    """defaults < preset < flags < ``--set`` pairs, every value and grid option checked.

    A flag and a ``--set`` of the same key must agree (each is checked).  An
    explicit flag or ``--set`` pins a key the preset's grid or its overrides
    would vary (and a key a ``grid.`` pair adds to the grid drops out of the
    overrides).  With
    ``task_defaults`` (the TUI) and no preset named, the preset of the task (the
    one the flags name, else the default task) is the base: the lab opens with
    its task's recommended settings."""
    preset = load_preset(preset_name) if preset_name is not None else None
    overrides = {k: v for k, v in (flags or {}).items() if k in field_names()}
    for name, value in overrides.items():
        declared_key(name).validate(coerce(name, value))  # checked even when --set gives the key too
    set_over, grid_over, trials_over = split_set_pairs(set_pairs)
    for name, value in set_over.items():
        if name in overrides and coerce(name, overrides[name]) != coerce(name, value):
            raise ConfigError(name, f"--{name.replace('_', '-')} {show(overrides[name])} and --set "
                                    f"{name}={show(value)} disagree; allowed: give the key once")
    overrides.update(set_over)
    if preset is None and task_defaults:
        preset = task_preset(str(coerce("task", overrides.get("task", KEYS["task"].default))))
    base = preset.values if preset else {}
    cfg = build_config(base, overrides)
    grid = dict(preset.grid) if preset else {}
    trials = preset.trials if preset else 1
    extra_grid, trials = parse_experiment(grid_over, trials if trials_over is None else trials_over)
    grid.update(extra_grid)
    for key in overrides:
        if key not in grid_over:
            grid.pop(key, None)
    kept = [Override(o.when, {k: v for k, v in o.values.items() if k not in overrides and k not in grid})
            for o in (preset.overrides if preset else [])]
    kept = [o for o in kept if o.values]
    for key, options in grid.items():
        for option in options:
            point = build_config(cfg.to_dict(), {key: option})
            build_config(point.to_dict(), point_overrides(point.to_dict(), kept))
    if not grid and trials == 1:  # a single run is the one point: its overrides apply now
        cfg = build_config(cfg.to_dict(), point_overrides(cfg.to_dict(), kept))
    return Request(cfg, preset, grid, trials, kept)
