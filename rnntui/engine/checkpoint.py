"""Checkpoints: written atomically, read with ``torch.load(weights_only=True)``.

A checkpoint is a plain dict of tensors and builtin values — model and optimiser
state, the step, the data generator's and torch's RNG states, the config and the
metric history — so resuming continues the same curve.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from rnntui.engine.files import atomic_write

FORMAT = "rnntui-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file cannot be used; the message says why."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``path`` via a temporary file and an atomic rename (the
    file gets the permissions of the run's other files)."""
    data = {"format": FORMAT, "version": VERSION, **payload}
    return atomic_write(path, lambda fh: torch.save(data, fh), binary=True)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint (tensors and builtins only); raise CheckpointError if the
    file is missing, corrupt, or not an rnntui checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {str(path)!r} cannot be read: {first}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {str(path)!r} is not an rnntui checkpoint")
    if data.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {str(path)!r} has version {data.get('version')!r}; this rnntui reads {VERSION}")
    return data
