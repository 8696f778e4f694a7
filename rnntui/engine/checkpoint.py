"""Checkpoints: written atomically, read with ``torch.load(weights_only=True)``, checked.

A checkpoint is a plain dict of tensors and builtin values — model and optimiser
state, the step, the data generator's and torch's RNG states, the config and the
metric history — so resuming continues the same curve.

The file is what ``torch.save`` writes (a zip archive; ``torch.load`` reads it
as it is), sealed with the SHA-256 of all its bytes in the zip archive's
comment, which torch's reader skips.  Torch checks no checksum of its own, so
without the seal a flipped byte in a tensor would load as a different weight;
with it, a change to any byte of the file is refused.  Every field is then
checked for type and range (:data:`FIELDS`) before any of it reaches the trainer.
"""

from __future__ import annotations

import hashlib
import io
import math
import pickle
import stat
import struct
from pathlib import Path
from typing import Any, Callable

import torch

from rnntui.config.keys import one_line, show
from rnntui.config.schema import MAX_STEPS
from rnntui.engine.files import show_path, write_atomic

FORMAT = "rnntui-checkpoint"
VERSION = 2
SEAL = b"rnntui-sha256:"
"""The zip comment starts with this, then the hex digest of the unsealed file."""
_EOCD = b"PK\x05\x06"  # the zip's end-of-central-directory record: 22 bytes, then the comment
_EOCD_SIZE = 22
MAX_SECONDS = 1e9
"""Longest training time a checkpoint may hold (~31 years)."""


class CheckpointError(ValueError):
    """A checkpoint file cannot be used; the message (one printable line) says why."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


def seal(data: bytes) -> bytes:
    """``data`` (a zip archive without a comment, as torch.save writes it) with its
    SHA-256 as the archive comment."""
    if data[-_EOCD_SIZE:-_EOCD_SIZE + 4] != _EOCD or data[-2:] != b"\0\0":
        raise ValueError("torch.save did not end its archive with an empty comment")
    comment = SEAL + hashlib.sha256(data).hexdigest().encode("ascii")
    return data[:-2] + struct.pack("<H", len(comment)) + comment


def unseal(raw: bytes) -> tuple[bytes, str] | None:
    """(the unsealed bytes, the digest the seal holds), or None when ``raw`` has no seal."""
    at = raw.rfind(_EOCD, max(0, len(raw) - _EOCD_SIZE - 0xFFFF))
    if at < 0 or len(raw) < at + _EOCD_SIZE:
        return None
    (length,) = struct.unpack("<H", raw[at + 20:at + 22])
    comment = raw[at + _EOCD_SIZE:]
    if len(comment) != length or not comment.startswith(SEAL):
        return None
    return raw[:at + 20] + b"\0\0", comment[len(SEAL):].decode("ascii", "replace")


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``path``, sealed, atomically (see
    :func:`~rnntui.engine.files.write_atomic`: NoSpace on a full disk, and the
    old file is kept)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **payload}, buffer)
    return write_atomic(path, seal(buffer.getvalue()))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and check a checkpoint (tensors and builtins only); raise
    CheckpointError if the file is missing, damaged, not an rnntui checkpoint, or
    holds a field of the wrong type or out of range."""
    path = Path(path)
    name = show_path(path)
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise CheckpointError(f"checkpoint {name!r} is not a regular file")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {name!r} does not exist") from None
    except OSError as exc:
        raise CheckpointError(f"checkpoint {name!r} cannot be read: {exc.strerror or exc}") from None
    sealed = unseal(raw)
    if sealed is not None and hashlib.sha256(sealed[0]).hexdigest() != sealed[1]:
        raise CheckpointError(f"checkpoint {name!r} is damaged: its bytes do not match their checksum")
    data = _load(io.BytesIO(raw), name)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {name!r} is not an rnntui checkpoint")
    if data.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {name!r} has version {show(data.get('version'))}; "
                              f"this rnntui reads {VERSION}")
    if sealed is None:
        raise CheckpointError(f"checkpoint {name!r} is damaged: it has no checksum")
    check_fields(data, name)
    return data


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
        raise CheckpointError(f"checkpoint {name!r} cannot be read: {first}") from None


# ------------------------------------------------------------------ fields
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
    "window_loss": (lambda v: _finite(v) and v >= 0, "a finite number >= 0 (a sum of losses)"),
    "window_n": (_step, f"an integer from 0 to {MAX_STEPS}"),
    "elapsed_s": (lambda v: _finite(v) and 0 <= v <= MAX_SECONDS, f"a number of seconds from 0 to {MAX_SECONDS:g}"),
    "task_state": (_str_dict, "a dict"),
    "metrics_log": (_bytes, "the run's metrics.jsonl (uint8 tensor)"),
    "optimizer_name": (lambda v: v in ("adam", "sgd"), "adam or sgd"),
    "run_id": (lambda v: isinstance(v, str) and 0 < len(v) <= 200 and v.isprintable(), "a run id"),
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
            raise CheckpointError(f"checkpoint {name!r}: field {field!r}: got {show(value)}; allowed: {allowed}")
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
    if data.get("window_n", 0) == 0 and data.get("window_loss", 0.0) != 0:
        raise CheckpointError(f"checkpoint {name!r}: field 'window_loss': got {show(data['window_loss'])}; "
                              f"allowed: 0 when window_n is 0")
    if data.get("window_n", 0) > step:
        raise CheckpointError(f"checkpoint {name!r}: field 'window_n': got {data['window_n']}; allowed: at most "
                              f"the step, {step}")
