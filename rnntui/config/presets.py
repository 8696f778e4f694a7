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

import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from rnntui.config import ConfigError, build_config, coerce, field_names
from rnntui.config.keys import MAX_TEXT, PATH_RULE, Key, show, usable_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_PACKAGE = Path(__file__).resolve().parent.parent
PRESET_DIRS = (_PACKAGE / "_presets", _PACKAGE.parent / "presets")
META_KEYS = ("description", "grid", "trials", "name", "override")
MAX_GRID_VALUES = 100
"""Most values one grid key may list."""
MAX_OVERRIDES = 100
"""Most [[override]] tables a preset may hold."""


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


MAX_PRESET_BYTES = 1 << 20
"""Largest preset file read (presets are a few hundred bytes)."""

TRIALS = Key("trials", int, 1, "runs per grid point, seeds seed, seed+1, ...", lo=1, hi=100)
"""The ``trials`` count of an experiment (a preset's ``trials`` or ``--set trials=N``)."""


def resolve_preset(name_or_path: str) -> Path:
    """A preset name or path -> an existing regular file (ConfigError otherwise)."""
    if not isinstance(name_or_path, str) or not name_or_path.strip():
        raise ConfigError("preset", f"got {show(name_or_path)}; allowed: a preset name ({_names()}) "
                                    f"or a path to a .toml file")
    if not usable_path(name_or_path):
        raise ConfigError("preset", f"got {show(name_or_path)}; allowed: a preset name or a path "
                                    f"({PATH_RULE})")
    try:
        path = Path(name_or_path).expanduser()
    except RuntimeError:  # ~nosuchuser
        user = name_or_path[1:].split("/", 1)[0]
        raise ConfigError("preset", f"got {show(name_or_path)}: there is no user {show(user)} for ~ to "
                                    f"refer to") from None
    if path.suffix == ".toml" or "/" in name_or_path or _exists(path):
        _check_file(path, name_or_path)
        return path
    known = preset_paths()
    if name_or_path not in known:
        raise ConfigError("preset", f"got {show(name_or_path)}; allowed: {_names()}, or a path to a .toml file")
    return known[name_or_path]


def _names() -> str:
    return ", ".join(sorted(preset_paths())) or "(none found)"


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return True  # let _check_file say what is wrong with it


def _check_file(path: Path, given: str) -> None:
    """ConfigError unless ``path`` is a regular file (a FIFO would block the read,
    a device would never end)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError("preset", f"file {show(given)} does not exist") from None
    except OSError as exc:
        raise ConfigError("preset", f"file {show(given)} cannot be read: {exc.strerror or exc}") from None
    kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else None)
    if kind is not None:
        raise ConfigError("preset", f"{show(given)} is {kind}; allowed: a preset name or a .toml file")


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_PRESET_BYTES + 1)
    except OSError as exc:
        raise ConfigError("preset", f"{show(str(path))}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_PRESET_BYTES:
        raise ConfigError("preset", f"{show(str(path))}: larger than {MAX_PRESET_BYTES >> 20} MB; "
                                    f"allowed: a preset file of config keys")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError("preset", f"{show(str(path))}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (tomllib.TOMLDecodeError, ValueError) as exc:  # ValueError: an integer past the digit limit
        raise ConfigError("preset", f"{show(str(path))}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError("preset", f"{show(str(path))}: nested too deeply; allowed: top-level keys and a "
                                    f"[grid] table of lists") from None


def load_preset(name_or_path: str) -> Preset:
    """Parse and validate a preset (every value and every grid value is checked)."""
    path = resolve_preset(name_or_path)
    data = _read(path)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("description", f"in {path.name}: got {show(description)}; allowed: a string")
    values = {k: v for k, v in data.items() if k not in META_KEYS}
    try:
        for key in values:
            if key not in field_names():
                coerce(key, values[key])  # raises the 'unknown setting' error
        grid, trials = parse_experiment(data.get("grid", {}), data.get("trials", 1), text=False)
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


def parse_list_text(text: str) -> list[str]:
    """``"[a, b]"`` or ``"a,b"`` -> ``["a", "b"]``: one flat list, brackets balanced
    (``[gru`` and ``[[gru]]`` are refused with ValueError)."""
    body = text.strip()
    if body.startswith("[") or body.endswith("]"):
        if not (body.startswith("[") and body.endswith("]")) or len(body) < 2:
            raise ValueError("unbalanced brackets")
        body = body[1:-1]
    if "[" in body or "]" in body:
        raise ValueError("nested brackets")
    parts = [p.strip() for p in body.split(",")]
    if parts == [""]:
        return []
    if any(not p for p in parts):
        raise ValueError("an empty item")
    return parts


def parse_experiment(grid: Any, trials: Any, text: bool = True) -> tuple[dict[str, list[Any]], int]:
    """Check a ``[grid]`` table and ``trials`` count.  ``text``: a grid value may be
    list text (``"[a, b]"``, as ``--set grid.KEY=...`` gives it); a preset's must
    be a TOML list."""
    if not isinstance(grid, dict):
        raise ConfigError("grid", f"got {show(grid)}; allowed: a table of config key = [values]")
    out: dict[str, list[Any]] = {}
    for key, options in grid.items():
        if key not in field_names():
            coerce(key, None)
        if isinstance(options, str) and text:
            try:
                options = parse_list_text(options) if len(options) <= MAX_TEXT else None
            except ValueError as exc:
                raise ConfigError(f"grid.{key}", f"got {show(options)} ({exc}); allowed: a list of values "
                                                 f"such as [a, b] or a,b") from None
        if not isinstance(options, list) or not options or len(options) > MAX_GRID_VALUES:
            raise ConfigError(f"grid.{key}", f"got {show(options)}; allowed: a non-empty list of at most "
                                             f"{MAX_GRID_VALUES} values")
        out[key] = [coerce(key, o) for o in options]
    trials = TRIALS.parse(trials)
    TRIALS.validate(trials)
    return out, trials


def parse_overrides(items: Any, grid: Mapping[str, list[Any]]) -> list[Override]:
    """Check the ``[[override]]`` tables: each a non-empty ``when`` table of
    config keys and at least one config key to set that the grid does not vary."""
    shape = "[[override]] tables, each with when = { key = value } and the config keys to set there"
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ConfigError("override", f"got {show(items)}; allowed: {shape}")
    if len(items) > MAX_OVERRIDES:
        raise ConfigError("override", f"{len(items)} tables; allowed: at most {MAX_OVERRIDES}")
    out = []
    for number, item in enumerate(items, 1):
        when = item.get("when")
        if not isinstance(when, dict) or not when:
            raise ConfigError("override.when", f"override #{number}: got {show(when)}; allowed: a table of "
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
