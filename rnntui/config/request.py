"""What a command asks for: a validated config, and for an experiment its grid and trials.

The command line and the TUI both build a :class:`Request` through
:func:`make_request`; neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from rnntui.config.keys import show
from rnntui.config.presets import TRIALS, Preset, load_preset, parse_experiment
from rnntui.config.schema import Config, ConfigError, build_config, coerce, field_names
from rnntui.config.schema import key as declared_key


@dataclass
class Request:
    """A validated run or experiment request."""

    config: Config
    preset: Preset | None = None
    grid: dict[str, list[Any]] = field(default_factory=dict)
    trials: int = 1

    @property
    def is_experiment(self) -> bool:
        return bool(self.grid) or self.trials > 1


def split_set_pairs(pairs: Iterable[str]) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """``--set KEY=VALUE`` items -> (config overrides, grid overrides, trials or None).

    A key given twice with values that mean different things is an error."""
    overrides: dict[str, Any] = {}
    grid: dict[str, Any] = {}
    trials = None
    for item in pairs:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigError("--set", f"got {show(item)}; expected KEY=VALUE, e.g. --set hidden_size=20")
        if key == "trials":
            _once(key, trials, value.strip(), lambda v: TRIALS.parse(v))
            trials = value.strip()
        elif key.startswith("grid."):
            _once(key, grid.get(key[5:]), value.strip(), lambda v: v)
            grid[key[5:]] = value.strip()
        else:
            _once(key, overrides.get(key), value, lambda v: coerce(key, v))
            overrides[key] = value
    return overrides, grid, trials


def _once(key: str, old: Any, new: Any, parse: Any) -> None:
    """ConfigError when ``key`` already has a value ``old`` that means something else than ``new``."""
    if old is not None and parse(old) != parse(new):
        raise ConfigError(key, f"given twice with different values ({show(old)} and {show(new)}); "
                               f"allowed: one value")


def make_request(preset_name: str | None = None, flags: dict[str, Any] | None = None,
                 set_pairs: Iterable[str] = ()) -> Request:
    """defaults < preset < flags < ``--set`` pairs, every value and grid option checked.

    A flag and a ``--set`` of the same key must agree (each is checked).  An
    explicit flag or ``--set`` pins a key the preset's grid would vary."""
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
    base = preset.values if preset else {}
    cfg = build_config(base, overrides)
    grid = dict(preset.grid) if preset else {}
    trials = preset.trials if preset else 1
    extra_grid, trials = parse_experiment(grid_over, trials if trials_over is None else trials_over)
    grid.update(extra_grid)
    for key in overrides:
        if key not in grid_over:
            grid.pop(key, None)
    for key, options in grid.items():
        for option in options:
            build_config(cfg.to_dict(), {key: option})
    return Request(cfg, preset, grid, trials)
