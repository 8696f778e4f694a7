"""Run configuration: one validated dataclass built from layered sources.

Precedence: defaults < preset TOML < CLI flags (``--hidden-size 20`` or
``--set hidden_size=20``) < UI edits.  Every key is checked; a bad value raises
:class:`ConfigError` whose message names the key, the bad value and what is
allowed.  This module imports neither torch nor textual.
"""

from __future__ import annotations

import ast
import dataclasses
import math
from dataclasses import dataclass, field, fields
from typing import Any, Callable, get_type_hints

from rnntui.config.names import CELL_NAMES, TASK_NAMES


class ConfigError(ValueError):
    """A configuration value is invalid.  ``key`` names the offending field."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass
class Config:
    """Every setting of one training run.  Field names are the preset/CLI keys."""

    # -- what to train
    task: str = "adding"
    cell: str = "lstm"
    backend: str = "scratch"
    # -- model
    hidden_size: int = 32
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    bias: bool = True
    nonlinearity: str = "tanh"
    proj_size: int = 0
    init: str = "default"
    init_std: float = 0.05
    forget_bias: float | None = None
    mult_bias: float = 1.0
    # -- optimisation
    optimizer: str = "adam"
    lr: float = 1e-3
    lr_schedule: str = "constant"
    momentum: float = 0.0
    weight_decay: float = 0.0
    batch_size: int = 32
    steps: int = 1000
    epochs: int = 0
    clip: float = 0.0
    loss: str = "auto"
    # -- sequences and evaluation
    seq_len: int = 50
    seq_len_min: int = 0
    eval_lengths: list[int] = field(default_factory=list)
    eval_every: int = 100
    eval_size: int = 1000
    n_samples: int = 4
    # -- task options
    n_symbols: int = 8
    copy_len: int = 10
    lag: int = 1
    mem_dim: int = 4
    recall_index: int = 1
    dataset: str = "mnist-5k"
    data_dir: str = ""
    val_fraction: float = 0.2
    # -- run
    seed: int = 0
    device: str = "cpu"
    threads: int = 1
    log_every: int = 10
    checkpoint_every: int = 0

    # -------------------------------------------------------------- helpers
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> "Config":
        return build_config(self.to_dict(), changes)

    def validate(self) -> "Config":
        for f in fields(self):
            check = _CHECKS.get(f.name)
            if check is not None:
                check(getattr(self, f.name), self)
        _check_cross_field(self)
        return self


# ----------------------------------------------------------------- checks
def _choice(*allowed: str) -> Callable[[Any, Config], None]:
    def check(value: Any, cfg: Config) -> None:
        if value not in allowed:
            raise ValueError(f"got {value!r}; allowed: {', '.join(allowed)}")

    return check


def _int_range(lo: int, hi: int | None = None) -> Callable[[Any, Config], None]:
    def check(value: Any, cfg: Config) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"got {value!r}; allowed: an integer >= {lo}")
        if value < lo or (hi is not None and value > hi):
            span = f">= {lo}" if hi is None else f"from {lo} to {hi}"
            raise ValueError(f"got {value}; allowed: an integer {span}")

    return check


def _float_range(lo: float, hi: float | None = None, lo_open: bool = False,
                 hi_open: bool = False) -> Callable[[Any, Config], None]:
    def check(value: Any, cfg: Config) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise ValueError(f"got {value!r}; allowed: a finite number")
        bad_lo = value <= lo if lo_open else value < lo
        bad_hi = hi is not None and (value >= hi if hi_open else value > hi)
        if bad_lo or bad_hi:
            left = "(" if lo_open else "["
            right = ")" if hi_open else "]"
            span = f"{left}{lo}, {hi if hi is not None else 'inf'}{right}"
            raise ValueError(f"got {value}; allowed: a number in {span}")

    return check


def _optional_float(value: Any, cfg: Config) -> None:
    if value is None:
        return
    _float_range(-100.0, 100.0)(value, cfg)


def _eval_lengths(value: Any, cfg: Config) -> None:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value
    ):
        raise ValueError(f"got {value!r}; allowed: a list of integers >= 1, e.g. [16, 32]")


def _device(value: Any, cfg: Config) -> None:
    if not isinstance(value, str) or not (
        value in ("cpu", "cuda", "auto") or value.startswith("cuda:") and value[5:].isdigit()
    ):
        raise ValueError(f"got {value!r}; allowed: cpu, cuda, cuda:N, auto")


def _string(value: Any, cfg: Config) -> None:
    if not isinstance(value, str):
        raise ValueError(f"got {value!r}; allowed: a string")


_CHECKS: dict[str, Callable[[Any, Config], None]] = {
    "task": _choice(*TASK_NAMES),
    "cell": _choice(*CELL_NAMES),
    "backend": _choice("scratch", "builtin"),
    "hidden_size": _int_range(1, 8192),
    "num_layers": _int_range(1, 16),
    "dropout": _float_range(0.0, 1.0, hi_open=True),
    "nonlinearity": _choice("tanh", "relu"),
    "proj_size": _int_range(0),
    "init": _choice("default", "normal", "chrono"),
    "init_std": _float_range(0.0, 10.0, lo_open=True),
    "forget_bias": _optional_float,
    "mult_bias": _float_range(-100.0, 100.0),
    "optimizer": _choice("adam", "sgd"),
    "lr": _float_range(0.0, 10.0, lo_open=True),
    "lr_schedule": _choice("constant", "cosine"),
    "momentum": _float_range(0.0, 1.0, hi_open=True),
    "weight_decay": _float_range(0.0, 1.0),
    "batch_size": _int_range(1, 65536),
    "steps": _int_range(0),
    "epochs": _int_range(0),
    "clip": _float_range(0.0),
    "loss": _choice("auto", "mse", "bce", "ce"),
    "seq_len": _int_range(1, 100000),
    "seq_len_min": _int_range(0, 100000),
    "eval_lengths": _eval_lengths,
    "eval_every": _int_range(1),
    "eval_size": _int_range(1, 1_000_000),
    "n_samples": _int_range(0, 64),
    "n_symbols": _int_range(2, 1000),
    "copy_len": _int_range(1, 1000),
    "lag": _int_range(1, 1000),
    "mem_dim": _int_range(1, 1024),
    "recall_index": _int_range(0, 1000),
    "dataset": _choice("mnist-5k", "digits-8x8", "mnist"),
    "data_dir": _string,
    "val_fraction": _float_range(0.0, 1.0, lo_open=True, hi_open=True),
    "seed": _int_range(0, 2**32 - 1),
    "device": _device,
    "threads": _int_range(1, 256),
    "log_every": _int_range(1),
    "checkpoint_every": _int_range(0),
}


def _wrap_checks() -> None:
    """Re-raise every check's ValueError as a ConfigError that names the key."""
    for key, check in list(_CHECKS.items()):
        def wrapped(value: Any, cfg: Config, _check=check, _key=key) -> None:
            try:
                _check(value, cfg)
            except ConfigError:
                raise
            except ValueError as exc:
                raise ConfigError(_key, str(exc)) from None

        _CHECKS[key] = wrapped


_wrap_checks()


def _check_cross_field(cfg: Config) -> None:
    if cfg.proj_size and cfg.cell != "lstm":
        raise ConfigError("proj_size", f"got {cfg.proj_size}; only cell 'lstm' supports a projection (use 0)")
    if cfg.proj_size and cfg.proj_size >= cfg.hidden_size:
        raise ConfigError("proj_size", f"got {cfg.proj_size}; allowed: 0 or less than hidden_size ({cfg.hidden_size})")
    if cfg.backend == "builtin" and cfg.cell in ("mlstm", "mgru"):
        raise ConfigError("backend", f"got 'builtin'; cell {cfg.cell!r} exists only from scratch (allowed: scratch)")
    if cfg.init == "chrono" and cfg.cell not in ("lstm", "mlstm"):
        raise ConfigError("init", f"got 'chrono'; chrono init is for lstm/mlstm (allowed here: default, normal)")
    if cfg.seq_len_min and cfg.seq_len_min > cfg.seq_len:
        raise ConfigError("seq_len_min", f"got {cfg.seq_len_min}; allowed: 0 (fixed length) or at most seq_len ({cfg.seq_len})")
    if cfg.dropout and cfg.num_layers == 1:
        raise ConfigError("dropout", f"got {cfg.dropout}; dropout acts between stacked layers, so it needs num_layers >= 2 (or use 0)")


# -------------------------------------------------------- building configs
_FIELD_TYPES: dict[str, Any] = {}


def field_names() -> list[str]:
    return [f.name for f in fields(Config)]


def field_type(key: str) -> Any:
    if not _FIELD_TYPES:
        _FIELD_TYPES.update(get_type_hints(Config))
    return _FIELD_TYPES[key]


def _unknown_key(key: str) -> ConfigError:
    import difflib

    close = difflib.get_close_matches(key, field_names(), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(key, f"unknown setting{hint} (see `rnntui --help` for all keys)")


def coerce(key: str, value: Any) -> Any:
    """Convert ``value`` (from TOML, a flag string or a UI field) to the type of ``key``."""
    if key not in field_names():
        raise _unknown_key(key)
    kind = field_type(key)
    try:
        if isinstance(value, str):
            return _parse_string(key, kind, value)
        if kind is float or kind == (float | None):
            if isinstance(value, int) and not isinstance(value, bool):
                return float(value)
        return value
    except ConfigError:
        raise
    except (ValueError, SyntaxError):
        raise ConfigError(key, f"got {value!r}; allowed: {_describe(kind)}") from None


def _describe(kind: Any) -> str:
    return {
        int: "an integer",
        float: "a number",
        bool: "true or false",
        str: "a string",
        list[int]: "a list of integers such as [16,32] or 16,32",
    }.get(kind, "a number or none")


def _parse_string(key: str, kind: Any, text: str) -> Any:
    text = text.strip()
    if kind is bool:
        low = text.lower()
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise ValueError(text)
    if kind is int:
        return int(text)
    if kind is float:
        return float(text)
    if kind == (float | None):
        return None if text.lower() in ("", "none", "null") else float(text)
    if kind == list[int]:
        if text in ("", "[]"):
            return []
        parsed = ast.literal_eval(text if text.startswith("[") else f"[{text}]")
        if not isinstance(parsed, list):
            raise ValueError(text)
        return [int(v) if isinstance(v, int) else _bad_int(v) for v in parsed]
    return text


def _bad_int(value: Any) -> int:
    raise ValueError(value)


def build_config(*layers: dict[str, Any]) -> Config:
    """Merge ``layers`` (later wins) over the defaults, coerce and validate."""
    values: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            values[key] = coerce(key, value)
    try:
        cfg = Config(**values)
    except TypeError as exc:  # pragma: no cover - guarded by coerce()
        raise ConfigError("config", str(exc)) from None
    return cfg.validate()


def diff(a: Config, b: Config) -> dict[str, tuple[Any, Any]]:
    """Keys whose values differ between two configs, as (a, b) pairs."""
    da, db = a.to_dict(), b.to_dict()
    return {k: (da[k], db[k]) for k in da if da[k] != db[k]}


def to_toml(cfg: Config | dict[str, Any]) -> str:
    """Serialise a config as TOML (top-level keys; None values are omitted)."""
    data = cfg.to_dict() if isinstance(cfg, Config) else cfg
    lines = []
    for key, value in data.items():
        if value is None:
            continue
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")
