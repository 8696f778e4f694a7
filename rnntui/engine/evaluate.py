"""Held-out evaluation, including long sequences run in carried-state segments."""

from __future__ import annotations

import sys
from typing import Any

import torch
from rich.text import Text

from rnntui.engine.metrics import MetricKey
from rnntui.engine.model import SequenceModel, detach_state
from rnntui.tasks.base import Batch, Task


def run_segmented(model: SequenceModel, x: torch.Tensor, segment: int) -> torch.Tensor:
    """Per-step outputs for ``x: (B, T, I)`` computed ``segment`` steps at a time,
    the hidden state carried from one segment to the next (seed 000's test loop)."""
    outs, state = [], None
    for chunk in x.split(segment, dim=1):
        out, state = model(chunk, state)
        outs.append(out)
        state = detach_state(state)
    return torch.cat(outs, dim=1)


def predict(model: SequenceModel, task: Task, batch: Batch, segment: int) -> torch.Tensor:
    bidirectional = getattr(model.rnn, "bidirectional", False)
    if task.streaming and batch.length > segment and not bidirectional:
        return run_segmented(model, batch.x, segment)
    return model(batch.x)[0]


@torch.no_grad()
def evaluate(
    model: SequenceModel,
    task: Task,
    sets: dict[int | None, list[Batch]],
    device: torch.device,
    segment: int,
    n_samples: int = 0,
) -> tuple[dict[str, float], list[tuple[Text, bool]]]:
    """Batch-size-weighted means of ``val_loss`` and the task's metrics per set.

    The training distribution's set (key ``None``) gives plain names; an extra
    length ``L`` gives ``name@L`` (``str(MetricKey(name, L))``).  Samples come from the
    first held-out batch.
    """
    was_training = model.training
    model.eval()
    metrics: dict[str, float] = {}
    samples: list[tuple[Text, bool]] = []
    try:
        for length, batches in sets.items():
            sums: dict[str, float] = {}
            total = 0
            for i, batch in enumerate(batches):
                batch = batch.to(device)
                out = predict(model, task, batch, segment)
                values: dict[str, Any] = {"val_loss": float(task.loss(out, batch))}
                values.update(task.metrics(out, batch))
                for key, value in values.items():
                    sums[key] = sums.get(key, 0.0) + value * batch.size
                total += batch.size
                if length is None and i == 0 and n_samples:
                    samples = task.render(out.cpu(), batch.to("cpu"), n_samples)
            for name, value in sums.items():
                metrics[sys.intern(str(MetricKey(name, length)))] = value / max(total, 1)  # rows share their keys
    finally:
        model.train(was_training)
    return metrics, samples
