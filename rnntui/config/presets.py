"""Preset files: TOML with top-level config keys, a ``description``, and for
experiments a ``[grid]`` table (config key -> list of values), ``trials`` and
``[[override]]`` tables (per-grid-point settings)::

    [grid]
    seq_len = [100, 1000]

    [[override]]              # where seq_len = 1000: fewer steps (each step costs 10x)
    when = { seq_len = 1000 }
    steps = 200

An override applies to every grid point whose config has all its ``when``
values (grid values or base values alike); later overrides win over earlier
ones, an explicit flag or ``--set`` wins over all of them.  It may not set a
key the grid varies.

Presets are found by name in the package (``rnntui/_presets`` in an installed
wheel) or the checkout's ``presets/`` folder, or given as a path.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from rnntui.config import ConfigError, build_config, coerce, field_names

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_PACKAGE = Path(__file__).resolve().parent.parent
PRESET_DIRS = (_PACKAGE / "_presets", _PACKAGE.parent / "presets")
META_KEYS = ("description", "grid", "trials", "name", "override")


@dataclass(frozen=True)
class Override:
    """One ``[[override]]`` table: at the grid points whose config holds every
    ``when`` value, set ``values`` (on top of the point's grid values)."""

    when: dict[str, Any]
    values: dict[str, Any]

    def matches(self, config: Mapping[str, Any]) -> bool:
        return all(config.get(key) == value for key, value in self.when.items())

    def to_json(self) -> dict[str, Any]:
        return {"when": dict(self.when), "set": dict(self.values)}


def point_overrides(config: Mapping[str, Any], overrides: list[Override]) -> dict[str, Any]:
    """The settings the overrides give a grid point whose config is ``config`` (later ones win)."""
    out: dict[str, Any] = {}
    for override in overrides:
        if override.matches(config):
            out.update(override.values)
    return out


@dataclass
class Preset:
    name: str
    description: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    trials: int = 1
    path: Path | None = None
    overrides: list[Override] = field(default_factory=list)

    @property
    def is_experiment(self) -> bool:
        return bool(self.grid) or self.trials > 1


def preset_paths() -> dict[str, Path]:
    """Preset name -> file, first directory wins."""
    found: dict[str, Path] = {}
    for folder in PRESET_DIRS:
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found.setdefault(path.stem, path)
    return found


def list_presets() -> list[Preset]:
    out = []
    for name, path in sorted(preset_paths().items()):
        try:
            out.append(load_preset(str(path)))
        except ConfigError as exc:
            out.append(Preset(name, f"(invalid: {exc})", path=path))
    return out


def resolve_preset(name_or_path: str) -> Path:
    path = Path(name_or_path).expanduser()
    if path.suffix == ".toml" or path.exists() or "/" in name_or_path:
        if not path.is_file():
            raise ConfigError("preset", f"file {name_or_path!r} does not exist")
        return path
    known = preset_paths()
    if name_or_path not in known:
        allowed = ", ".join(sorted(known)) or "(none found)"
        raise ConfigError("preset", f"got {name_or_path!r}; allowed: {allowed}, or a path to a .toml file")
    return known[name_or_path]


def load_preset(name_or_path: str) -> Preset:
    """Parse and validate a preset (every value and every grid value is checked)."""
    path = resolve_preset(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("preset", f"{path}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("preset", f"{path}: cannot be read ({exc})") from None
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("description", f"in {path.name}: got {description!r}; allowed: a string")
    values = {k: v for k, v in data.items() if k not in META_KEYS}
    try:
        for key in values:
            if key not in field_names():
                coerce(key, values[key])  # raises the 'unknown setting' error
        grid, trials = parse_experiment(data.get("grid", {}), data.get("trials", 1))
        overrides = parse_overrides(data.get("override", []), grid)
        build_config(values)
        for key, options in grid.items():
            for option in options:
                build_config(values, {key: option})
        for override in overrides:
            build_config(values, {**override.when, **override.values})
    except ConfigError as exc:
        raise ConfigError(exc.key, f"in {path.name}: {exc.message}") from None
    return Preset(path.stem, description, values, grid, trials, path, overrides)


def parse_experiment(grid: Any, trials: Any) -> tuple[dict[str, list[Any]], int]:
    """Check a ``[grid]`` table and ``trials`` count."""
    if not isinstance(grid, dict):
        raise ConfigError("grid", f"got {grid!r}; allowed: a table of config key = [values]")
    out: dict[str, list[Any]] = {}
    for key, options in grid.items():
        if key not in field_names():
            coerce(key, None)
        if isinstance(options, str):
            options = [coerce(key, part) for part in options.strip("[]").split(",") if part.strip()]
        if not isinstance(options, list) or not options:
            raise ConfigError(f"grid.{key}", f"got {options!r}; allowed: a non-empty list of values")
        out[key] = [coerce(key, o) for o in options]
    if isinstance(trials, str) and trials.strip().isdigit():
        trials = int(trials)
    if not isinstance(trials, int) or isinstance(trials, bool) or not 1 <= trials <= 100:
        raise ConfigError("trials", f"got {trials!r}; allowed: an integer from 1 to 100")
    return out, trials


def parse_overrides(items: Any, grid: Mapping[str, list[Any]]) -> list[Override]:
    """Check the ``[[override]]`` tables: each a non-empty ``when`` table of
    config keys and at least one config key to set that the grid does not vary."""
    shape = "[[override]] tables, each with when = { key = value } and the config keys to set there"
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ConfigError("override", f"got {items!r}; allowed: {shape}")
    out = []
    for number, item in enumerate(items, 1):
        when = item.get("when")
        if not isinstance(when, dict) or not when:
            raise ConfigError("override.when", f"override #{number}: got {when!r}; allowed: a table of "
                                               f"config key = value, e.g. when = {{ seq_len = 1000 }}")
        values = {k: v for k, v in item.items() if k != "when"}
        if not values:
            raise ConfigError("override", f"override #{number} sets nothing; allowed: {shape}")
        for key in [*when, *values]:
            if key not in field_names():
                coerce(key, None)  # raises the 'unknown setting' error
        for key in values:
            if key in grid:
                raise ConfigError(f"override.{key}", f"override #{number}: the grid varies {key!r}; "
                                                     f"allowed: keys the grid does not vary")
            if key in when:
                raise ConfigError(f"override.{key}", f"override #{number}: {key!r} is both matched (when) "
                                                     f"and set; allowed: one of the two")
        out.append(Override({k: coerce(k, v) for k, v in when.items()},
                            {k: coerce(k, v) for k, v in values.items()}))
    return out
