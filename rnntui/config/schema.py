"""Run configuration: every key declared once, one validated dataclass.

Precedence: defaults < preset TOML < CLI flags (``--hidden-size 20`` or
``--set hidden_size=20``) < UI edits.  The keys are the common ones below, then
the options the cells and tasks declare in their specs; :class:`Config` is built
from them.  Every value is checked; a bad one raises :class:`ConfigError` whose
message names the key, the bad value and what is allowed.  Imports neither
torch nor textual.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

from rnntui.cells.spec import INIT_SCHEMES, CellSpec, cell_specs
from rnntui.config.keys import ConfigError, Key
from rnntui.engine.schedule import EARLY_FACTOR
from rnntui.tasks.spec import LOSSES, TaskSpec, task_specs

__all__ = ["Config", "ConfigError", "KEYS", "build_config", "coerce", "diff", "field_names", "field_type",
           "key", "section_of", "to_toml"]

MAX_STEPS = 10**9
"""Most optimisation steps a run may ask for (also the largest step a checkpoint may hold)."""
MAX_LENGTH = 100_000
"""Longest sequence a run trains or evaluates on."""

_CELLS: dict[str, CellSpec] = cell_specs()
_TASKS: dict[str, TaskSpec] = task_specs()

_WHAT = (
    Key("task", str, "adding", "task to train on", choices=tuple(_TASKS), section="run"),
    Key("cell", str, "lstm", "recurrent cell", choices=tuple(_CELLS), section="run"),
    Key("backend", str, "scratch", "scratch (our equations) or builtin (torch's fused nn.RNN/LSTM/GRU)",
        choices=("scratch", "builtin"), section="run"),
)
_MODEL = (
    Key("hidden_size", int, 32, "hidden units per layer and direction", lo=1, hi=8192, label="hidden",
        section="model"),
    Key("num_layers", int, 1, "stacked recurrent layers", lo=1, hi=16, label="layers", section="model"),
    Key("bidirectional", bool, False, "run a second layer backwards in time", label="bidir", section="model"),
    Key("dropout", float, 0.0, "dropout between stacked layers", lo=0.0, hi=1.0, hi_open=True, section="model"),
    Key("bias", bool, True, "use bias vectors"),
)
_INIT = (
    Key("init", str, "default", "weight init: default (torch), normal (seed 000, std init_std), chrono (gated cells)",
        choices=INIT_SCHEMES),
    Key("init_std", float, 0.05, "standard deviation for init = normal", lo=0.0, hi=10.0, lo_open=True),
)
_TRAINING = (
    Key("optimizer", str, "adam", "adam or sgd", choices=("adam", "sgd"), section="training"),
    Key("lr", float, 1e-3, "learning rate", lo=0.0, hi=10.0, lo_open=True, section="training"),
    Key("lr_schedule", str, "constant",
        "constant, or cosine: lr·½(1+cos(π·step/steps)), decaying to 0 at the last step",
        choices=("constant", "cosine")),
    Key("momentum", float, 0.0, "SGD momentum", lo=0.0, hi=1.0, hi_open=True),
    Key("weight_decay", float, 0.0, "L2 weight decay", lo=0.0, hi=1.0),
    Key("batch_size", int, 32, "sequences per training batch", lo=1, hi=65536, label="batch", section="training"),
    Key("steps", int, 1000, "optimisation steps (generated-data tasks)", lo=0, hi=MAX_STEPS, section="training"),
    Key("epochs", int, 0, "passes over the training set (dataset tasks; 0 = use steps)", lo=0, hi=1_000_000,
        section="training"),
    Key("clip", float, 0.0, "gradient-norm clipping (0 = off)", lo=0.0, section="training"),
    Key("loss", str, "auto", "loss function: auto picks the task's own", choices=("auto",) + LOSSES),
)
_SEQUENCES = (
    Key("seq_len", int, 50, "training sequence length (delay for copy, bits for binary-addition)",
        lo=1, hi=MAX_LENGTH, label="seq len", section="training"),
    Key("seq_len_min", int, 0, "if > 0, each batch's length is drawn from [seq_len_min, seq_len]",
        lo=0, hi=MAX_LENGTH, label="min len"),
    Key("eval_lengths", list, [], "extra lengths to evaluate at, e.g. [16, 32]", item_lo=1, item_hi=MAX_LENGTH,
        max_items=16, section="evaluation"),
    Key("eval_every", int, 100, "steps between held-out evaluations", lo=1, hi=MAX_STEPS, label="eval every",
        section="evaluation"),
    Key("eval_early", int, 0, f"until this step, evaluate {EARLY_FACTOR} times as often (every "
        f"eval_every/{EARLY_FACTOR} steps), so the early climb shows on the plots; 0 = off", lo=0, hi=MAX_STEPS,
        label="eval early", section="evaluation"),
    Key("eval_size", int, 1000, "held-out sequences per evaluation length", lo=1, hi=1_000_000,
        label="eval size", section="evaluation"),
    Key("n_samples", int, 4, "sample predictions shown per evaluation", lo=0, hi=64),
)
_RUN = (
    Key("seed", int, 0, "random seed (same seed, same numbers)", lo=0, hi=2**32 - 1, section="evaluation"),
    Key("device", str, "cpu", "cpu, cuda, cuda:N or auto", check="device", section="evaluation"),
    Key("threads", int, 1, "torch CPU threads", lo=1, hi=256),
    Key("log_every", int, 10, "steps per reported training-loss point", lo=1, hi=MAX_STEPS),
    Key("checkpoint_every", int, 0, "steps between checkpoints (0 = only at the end)", lo=0, hi=MAX_STEPS, label="ckpt every"),
    Key("tensorboard", bool, False, "also write each run's curves as TensorBoard event files in its run "
        "directory (needs rnntui[tensorboard])"),
)
_SCALE_OUT = (
    Key("executor", str, "local", "where an experiment's runs execute: local worker processes, or tasks on a "
        "Ray cluster (needs rnntui[ray])", choices=("local", "ray")),
    Key("ray_address", str, "", "executor = ray: the cluster's head as HOST:PORT, or auto (the cluster started "
        "on this machine); empty = start a private local Ray", check="ray_address"),
)


def _declared(specs: list[Any]) -> tuple[Key, ...]:
    """The keys the specs declare, each once (first declaration wins; a second
    declaration of the same name must be identical)."""
    out: dict[str, Key] = {}
    for spec in specs:
        for k in spec.declared_keys:
            if k.name in out and out[k.name] != k:
                raise ValueError(f"config key {k.name!r} is declared twice, differently ({spec.module})")
            out.setdefault(k.name, k)
    return tuple(out.values())


KEYS: dict[str, Key] = {
    k.name: k for k in (*_WHAT, *_MODEL, *_declared(list(_CELLS.values())), *_INIT, *_TRAINING, *_SEQUENCES,
                        *_declared(list(_TASKS.values())), *_RUN,
                        *_SCALE_OUT)
}
"""Every config key, in the order config files list them."""


def _check_references() -> None:
    for spec in (*_CELLS.values(), *_TASKS.values()):
        for name in spec.option_names + getattr(spec, "ignores", ()):
            if name not in KEYS:
                raise ValueError(f"{spec.module}: SPEC names config key {name!r}, which nothing declares")


_check_references()
_CELL_ONLY = {name for spec in _CELLS.values() for name in spec.option_names}
"""Keys that only some cells read: set to anything but the default, the cell must list them."""


class _ConfigMethods:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def replace(self, **changes: Any) -> "Config":
        return build_config(self.to_dict(), changes)

    def validate(self) -> "Config":
        for k in KEYS.values():
            k.validate(getattr(self, k.name))
        _check_cross_field(self)  # type: ignore[arg-type]
        return self  # type: ignore[return-value]


def _field(k: Key) -> tuple[str, type, Any]:
    default = dataclasses.field(default_factory=lambda d=k.default: list(d)) if k.type is list \
        else dataclasses.field(default=k.default)
    kind = list[int] if k.type is list else (k.type | None if k.optional else k.type)
    return k.name, kind, default


Config = dataclasses.make_dataclass("Config", [_field(k) for k in KEYS.values()], bases=(_ConfigMethods,))
Config.__module__ = __name__  # so that pickle (worker processes) finds it here
Config.__doc__ = "Every setting of one training run.  Field names are the preset/CLI keys (see ``KEYS``)."


def _check_cross_field(cfg: Any) -> None:
    cell, task = _CELLS[cfg.cell], _TASKS[cfg.task]
    for name in sorted(_CELL_ONLY - set(cell.option_names)):
        value = getattr(cfg, name)
        if value != KEYS[name].default:
            users = [f"{c.name!r}" for c in _CELLS.values() if name in c.option_names]
            who = f"cells {', '.join(users)} use" if len(users) > 1 else f"cell {users[0]} uses"
            raise ConfigError(name, f"got {value!r}; only {who} {name} (allowed for {cell.name!r}: "
                                    f"{KEYS[name].default!r})")
    if cfg.proj_size and cfg.proj_size >= cfg.hidden_size:
        raise ConfigError("proj_size", f"got {cfg.proj_size}; allowed: 0 or less than hidden_size ({cfg.hidden_size})")
    if cfg.backend == "builtin" and not cell.has_builtin:
        raise ConfigError("backend", f"got 'builtin'; cell {cell.name!r} exists only from scratch (allowed: scratch)")
    if cfg.init not in cell.init_schemes:
        raise ConfigError("init", f"got {cfg.init!r}; cell {cell.name!r} allows: {', '.join(cell.init_schemes)}")
    if (cfg.init == "chrono" or cfg.forget_bias is not None) and not cfg.bias:
        what = "init 'chrono'" if cfg.init == "chrono" else "forget_bias"
        raise ConfigError("bias", f"got false; {what} sets gate biases and needs bias = true")
    if cfg.init == "chrono" and cfg.forget_bias is not None:
        raise ConfigError("forget_bias", f"got {cfg.forget_bias!r}; init 'chrono' sets the forget bias itself "
                                         f"(allowed with chrono: none)")
    if cfg.seq_len_min and cfg.seq_len_min > cfg.seq_len:
        raise ConfigError("seq_len_min", f"got {cfg.seq_len_min}; allowed: 0 (fixed length) or at most seq_len ({cfg.seq_len})")
    if cfg.dropout and cfg.num_layers == 1:
        raise ConfigError("dropout", f"got {cfg.dropout}; dropout acts between stacked layers, so it needs num_layers >= 2 (or use 0)")
    if cfg.executor == "ray" and cfg.device.startswith("cuda:"):
        raise ConfigError("device", f"got {cfg.device!r}; with executor = ray each run is given its GPU by Ray "
                                    f"(allowed: cpu, cuda, auto)")
    if cfg.loss != "auto" and cfg.loss not in task.losses:
        raise ConfigError("loss", f"got {cfg.loss!r}; task {task.name!r} allows: auto, {', '.join(task.losses)}")


# -------------------------------------------------------- building configs
def key(name: str) -> Key:
    """The declaration of config key ``name`` (ConfigError with a suggestion otherwise)."""
    if name not in KEYS:
        raise _unknown_key(name)
    return KEYS[name]


def field_names() -> list[str]:
    return list(KEYS)


def field_type(name: str) -> Any:
    """``int``, ``float``, ``bool``, ``str`` or ``list`` (of integers)."""
    return key(name).type


def _unknown_key(name: str) -> ConfigError:
    close = difflib.get_close_matches(name, list(KEYS), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(name, f"unknown setting{hint} (see `rnntui --help` for all keys)")


def coerce(name: str, value: Any) -> Any:
    """Convert ``value`` (from TOML, a flag string or a UI field) to the type of ``name``."""
    return key(name).parse(value)


def build_config(*layers: dict[str, Any]) -> Any:
    """Merge ``layers`` (later wins) over the defaults, coerce and validate."""
    values: dict[str, Any] = {}
    for layer in layers:
        for name, value in layer.items():
            values[name] = coerce(name, value)
    return Config(**values).validate()


def tasks() -> dict[str, TaskSpec]:
    """The task specs the schema was built from."""
    return dict(_TASKS)


def cells() -> dict[str, CellSpec]:
    """The cell specs the schema was built from."""
    return dict(_CELLS)


def task_keys(task: str) -> tuple[str, ...]:
    """The keys that are ``task``'s own (its options, and ``loss`` when it offers a choice)."""
    spec = _TASKS[task]
    return spec.option_names + (("loss",) if len(spec.losses) > 1 else ())


def applies(name: str, task: str, cell: str) -> bool:
    """Whether key ``name`` means anything for ``task`` trained with ``cell``: a
    task option only for the tasks that list it, a cell option only for the cells
    that list it, ``loss`` when the task offers a choice, ``epochs`` for a dataset
    task, a common key unless the task ignores it."""
    if name == "loss":
        return len(_TASKS[task].losses) > 1
    if name == "epochs":
        return _TASKS[task].finite
    task_options = {n for t in _TASKS.values() for n in t.option_names}
    if name in task_options and name not in _TASKS[task].option_names:
        return False
    if name in _CELL_ONLY and name not in _CELLS[cell].option_names:
        return False
    return name not in _TASKS[task].ignores


_TASK_OPTIONS = {name for t in _TASKS for name in task_keys(t)}


def section_of(name: str) -> str:
    """Where the form shows key ``name``: ``task`` for a task's own options,
    ``model`` for a cell's, else the key's declared ``section``."""
    if name in _TASK_OPTIONS:
        return "task"
    if name in _CELL_ONLY:
        return "model"
    return key(name).section


def diff(a: Any, b: Any) -> dict[str, tuple[Any, Any]]:
    """Keys whose values differ between two configs, as (a, b) pairs."""
    da, db = a.to_dict(), b.to_dict()
    return {k: (da[k], db[k]) for k in da if da[k] != db[k]}


def to_toml(cfg: Any) -> str:
    """Serialise a config as TOML (top-level keys; None values are omitted)."""
    data = cfg if isinstance(cfg, dict) else cfg.to_dict()
    lines = []
    for name, value in data.items():
        if value is None:
            continue
        lines.append(f"{name} = {_toml_value(value)}")
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
