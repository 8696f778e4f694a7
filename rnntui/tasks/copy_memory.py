"""Copy-memory regression (seed 002): remember the first vector through noise.

Input ``x: (B, T, D)`` with ``D = mem_dim``: step 0 holds ``v ~ U[0, 1]^D``,
steps 1..T-1 hold noise ``U[0, 0.1]^D``.  Target ``y: (B, D) = v``, read at the
last step.  Loss: MSE over all D components.

Baseline: predicting the mean 0.5 for every component scores
``MSE = Var(U[0, 1]) = 1/12 ≈ 0.0833`` — exactly the plateau where seed 002's RNN
and LSTM sat for all 100 epochs.  Metrics: ``mse`` and ``acc``, the fraction of
vectors with every component within 0.05 of the truth (baseline ``0.1^D``).

Seed 002 used D = 10 and T = 50, trained on 10 fresh batches per "epoch" and
reported its test MSE on a single batch of 16; here the held-out set is
``eval_size`` vectors drawn once, and longer delays come from ``eval_lengths``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from rich.text import Text

from rnntui.config import Config
from rnntui.tasks.base import Batch, Task, ok_text
from rnntui.tasks.spec import Key, Metric, TaskSpec

NOISE = 0.1
TOLERANCE = 0.05
SHOWN = 6


SPEC = TaskSpec(
    name="copy-memory", cls="CopyMemoryTask", title="Copy memory (regression)", per_step=False,
    metrics=(Metric("mse", "MSE", higher_is_better=False), Metric("acc", f"vectors within {TOLERANCE}")),
    baseline="predict the mean vector: MSE = 1/12",
    losses=("mse",),
    options=(Key("mem_dim", int, 4, "size of the vector to remember", lo=1, hi=1024,
                 label="mem dim"),
             "seq_len_min"),
)


class CopyMemoryTask(Task, spec=SPEC):
    output_size: int

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self.input_size = cfg.mem_dim
        self.output_size = cfg.mem_dim

    def make_batch(self, batch_size: int, length: int, gen: torch.Generator) -> Batch:
        dim = self.input_size
        first = torch.rand(batch_size, dim, generator=gen)
        x = torch.rand(batch_size, length, dim, generator=gen) * NOISE
        x[:, 0] = first
        return Batch(x, first.clone())

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.mse_loss(out, batch.y)

    def metrics(self, out: torch.Tensor, batch: Batch) -> dict[str, float]:
        err = out - batch.y
        within = (err.abs() < TOLERANCE).all(dim=1)
        return {"mse": float((err**2).mean()), "acc": float(within.float().mean())}

    def baseline(self) -> dict[str, float]:
        return {"mse": 1.0 / 12.0, "acc": (2 * TOLERANCE) ** self.input_size}

    def render(self, out: torch.Tensor, batch: Batch, n: int) -> list[tuple[Text, bool]]:
        rows = []
        dim = self.input_size
        for i in range(min(n, batch.size)):
            err = (out[i] - batch.y[i]).abs()
            ok = bool((err < TOLERANCE).all())
            text = Text("v = " + " ".join(f"{float(v):.2f}" for v in batch.y[i, :SHOWN]))
            text.append(" …" if dim > SHOWN else "")
            text.append("  →  ")
            for j in range(min(dim, SHOWN)):
                if j:
                    text.append(" ")
                text.append_text(ok_text(f"{float(out[i, j]):.2f}", bool(err[j] < TOLERANCE)))
            text.append(" …" if dim > SHOWN else "")
            text.append(f"  (T {batch.length}, mse {float((err**2).mean()):.4f})", style="dim")
            rows.append((text, ok))
        return rows
