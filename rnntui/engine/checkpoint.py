"""Checkpoints: written atomically, read with ``torch.load(weights_only=True)``, checked.

A checkpoint is a plain dict of tensors and builtin values — model and optimiser
state, the step, the data generator's and torch's RNG states, the config and the
metric history — so resuming continues the same curve.

On disk it is a torch file holding ``{"format", "version", "sha256", "payload"}``:
``payload`` is the checkpoint dict serialised by ``torch.save`` (as a ``uint8``
tensor) and ``sha256`` its digest, so a single flipped byte anywhere is refused
(torch's own reader checks no checksum).  Every field is then checked for type
and range (:data:`FIELDS`) before any of it reaches the trainer.
"""

from __future__ import annotations

import hashlib
import io
import math
import pickle
import stat
from pathlib import Path
from typing import Any, Callable

import torch

from rnntui.config.keys import show
from rnntui.config.schema import MAX_STEPS
from rnntui.engine.files import show_path, write_atomic

FORMAT = "rnntui-checkpoint"
VERSION = 2


class CheckpointError(ValueError):
    """A checkpoint file cannot be used; the message says why."""


def _serialise(data: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(data, buffer)
    return buffer.getvalue()


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``path`` with its digest, atomically (see
    :func:`~rnntui.engine.files.write_atomic`: NoSpace on a full disk, and the
    old file is kept)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = _serialise(payload)
    outer = {"format": FORMAT, "version": VERSION, "sha256": hashlib.sha256(blob).hexdigest(),
             "payload": torch.frombuffer(bytearray(blob), dtype=torch.uint8)}
    return write_atomic(path, _serialise(outer))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and check a checkpoint (tensors and builtins only); raise
    CheckpointError if the file is missing, damaged, not an rnntui checkpoint, or
    holds a field of the wrong type or out of range."""
    path = Path(path)
    name = show_path(path)
    try:
        mode = path.stat().st_mode
    except OSError:
        raise CheckpointError(f"checkpoint {name!r} does not exist") from None
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"checkpoint {name!r} is not a regular file")
    outer = _load(path, name)
    if not isinstance(outer, dict) or outer.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {name!r} is not an rnntui checkpoint")
    if outer.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {name!r} has version {_short(outer.get('version'))}; "
                              f"this rnntui reads {VERSION}")
    blob, digest = outer.get("payload"), outer.get("sha256")
    if not (isinstance(blob, torch.Tensor) and blob.dtype == torch.uint8 and blob.dim() == 1
            and isinstance(digest, str)):
        raise CheckpointError(f"checkpoint {name!r} is damaged (no payload and checksum)")
    raw = blob.numpy().tobytes()
    if hashlib.sha256(raw).hexdigest() != digest:
        raise CheckpointError(f"checkpoint {name!r} is damaged: its contents do not match their checksum")
    data = _load(io.BytesIO(raw), name)
    if not isinstance(data, dict):
        raise CheckpointError(f"checkpoint {name!r} is damaged (its payload is not a dict)")
    check_fields(data, name)
    return {"format": FORMAT, "version": VERSION, **data}


def _load(source: Any, name: str) -> Any:
    try:
        return torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's text here suggests weights_only=False: never
        raise CheckpointError(f"checkpoint {name!r} cannot be read: it holds objects other than tensors and "
                              f"plain values, which rnntui refuses to load") from None
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a bad file
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        if "weights_only" in first:
            first = type(exc).__name__
        raise CheckpointError(f"checkpoint {name!r} cannot be read: {_short(first, 120)}") from None


# ------------------------------------------------------------------ fields
def _short(value: Any, limit: int = 60) -> str:
    return show(value, limit) if not isinstance(value, str) or len(value) > limit else value


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _step(v: Any) -> bool:
    return _is_int(v) and 0 <= v <= MAX_STEPS


def _finite(v: Any) -> bool:
    return _is_number(v) and math.isfinite(v)


def _str_dict(v: Any, value: Callable[[Any], bool] = lambda _: True) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and value(x) for k, x in v.items())


def _bytes(v: Any) -> bool:
    return isinstance(v, torch.Tensor) and v.dtype == torch.uint8 and v.dim() == 1


def _step_row(row: Any) -> bool:
    return (isinstance(row, dict) and _step(row.get("step")) and _step(row.get("epoch"))
            and _is_number(row.get("loss")) and _is_number(row.get("grad_norm")))


def _eval_row(row: Any) -> bool:
    return (isinstance(row, dict) and _step(row.get("step")) and _step(row.get("epoch"))
            and _str_dict(row.get("metrics"), _is_number))


def _optimizer(v: Any) -> bool:
    return (isinstance(v, dict) and isinstance(v.get("state"), dict) and isinstance(v.get("param_groups"), list)
            and all(isinstance(g, dict) for g in v["param_groups"]))


FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "step": (_step, f"an integer from 0 to {MAX_STEPS}"),
    "model": (lambda v: _str_dict(v, lambda t: isinstance(t, torch.Tensor)), "a dict of tensors"),
    "optimizer": (_optimizer, "an optimiser state dict (state, param_groups)"),
    "data_rng": (_bytes, "a generator state (uint8 tensor)"),
    "torch_rng": (_bytes, "a generator state (uint8 tensor)"),
    "config": (_str_dict, "a dict of config keys"),
    "steps": (lambda v: isinstance(v, list) and all(_step_row(r) for r in v),
              "a list of {step, epoch, loss, grad_norm} rows"),
    "evals": (lambda v: isinstance(v, list) and all(_eval_row(r) for r in v),
              "a list of {step, epoch, metrics} rows"),
    "steps_seen": (_step, f"an integer from 0 to {MAX_STEPS}"),
    "evals_seen": (_step, f"an integer from 0 to {MAX_STEPS}"),
    "window_loss": (_finite, "a finite number"),
    "window_n": (_step, f"an integer from 0 to {MAX_STEPS}"),
    "elapsed_s": (lambda v: _finite(v) and v >= 0, "a finite number >= 0"),
    "task_state": (_str_dict, "a dict"),
    "metrics_log": (_bytes, "the run's metrics.jsonl (uint8 tensor)"),
    "optimizer_name": (lambda v: v in ("adam", "sgd"), "adam or sgd"),
    "run_id": (lambda v: isinstance(v, str) and len(v) <= 200, "a run id"),
}
"""Checkpoint field -> (check, what is allowed).  A field the trainer needs but
the file lacks is reported when the checkpoint is fitted to a run ("does not fit")."""


def check_fields(data: dict[str, Any], name: str = "checkpoint") -> None:
    """CheckpointError naming the first field of the wrong type or out of range;
    then the cross-field rules (no history row after ``step``)."""
    for field, (ok, allowed) in FIELDS.items():
        if field not in data:
            continue
        value = data[field]
        try:
            good = ok(value)
        except (RecursionError, TypeError, ValueError):
            good = False
        if not good:
            raise CheckpointError(f"checkpoint {name!r}: field {field!r}: got {_short(value)}; allowed: {allowed}")
    step = data.get("step", MAX_STEPS)
    for field in ("steps", "evals"):
        rows = data.get(field, [])
        late = next((r["step"] for r in rows if r["step"] > step), None)
        if late is not None:
            raise CheckpointError(f"checkpoint {name!r}: field {field!r}: a row at step {late}, after the "
                                  f"checkpoint's step {step}")
        seen = data.get(f"{field}_seen", len(rows))
        if seen < len(rows):
            raise CheckpointError(f"checkpoint {name!r}: field '{field}_seen': got {seen}; allowed: at least "
                                  f"the {len(rows)} rows of {field!r}")
    if data.get("window_n", 0) > step:
        raise CheckpointError(f"checkpoint {name!r}: field 'window_n': got {data['window_n']}; allowed: at most "
                              f"the step, {step}")
