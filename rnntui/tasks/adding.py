"""The adding problem (Hochreiter & Schmidhuber 1997).

Input ``x: (B, T, 2)``: channel 0 holds values ``v_t ~ U[0, 1]``, channel 1 is a
marker that is 1 at exactly two positions.  Target ``y: (B, 1) = Σ_t v_t·mark_t``,
the sum of the two marked values, read at the last step.  Loss: MSE.

* Fixed length (seed 002): one mark in the first half, one in the second.
* Variable length (seed 004; set ``seq_len_min``): each batch has a length drawn
  from ``[seq_len_min, seq_len]`` and the two marks are two *distinct* positions
  anywhere.  Seed 004 drew the two indices with replacement, so ~1 in L sequences
  had a single mark and a target of one value, and it trained one sequence at a
  time; here the marks are distinct and sequences of one length share a batch.

Baseline: always predicting 1.0 (the mean of the sum) gives
``MSE = Var(v_a + v_b) = 2/12 ≈ 0.167``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from rich.text import Text

from rnntui.config import Config
from rnntui.tasks.base import Batch, Task, ok_text, require
from rnntui.tasks.spec import Metric, TaskSpec

TOLERANCE = 0.04


SPEC = TaskSpec(
    name="adding", cls="AddingTask", title="Adding problem", per_step=False,
    metrics=(Metric("mse", "MSE", higher_is_better=False), Metric("acc", f"acc (|err| < {TOLERANCE})")),
    baseline="predict 1.0, the mean sum: MSE = Var(v_a + v_b) = 1/6 ≈ 0.167",
    losses=("mse",), options=("seq_len_min",),
)


class AddingTask(Task, spec=SPEC):
    input_size = 2
    output_size = 1

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        require(cfg.seq_len >= 2, "seq_len", f"got {cfg.seq_len}; the adding problem needs at least 2 steps")
        require(cfg.seq_len_min == 0 or cfg.seq_len_min >= 2, "seq_len_min",
                f"got {cfg.seq_len_min}; allowed: 0 (fixed length) or >= 2")
        require(all(n >= 2 for n in cfg.eval_lengths), "eval_lengths",
                f"got {cfg.eval_lengths}; the adding problem needs lengths >= 2")
        self.variable = bool(cfg.seq_len_min)

    def make_batch(self, batch_size: int, length: int, gen: torch.Generator) -> Batch:
        values = torch.rand(batch_size, length, generator=gen)
        if self.variable:
            # two distinct positions anywhere: argsort of random keys, first two
            keys = torch.rand(batch_size, length, generator=gen)
            pos = keys.argsort(dim=1)[:, :2]
        else:
            half = length // 2
            first = torch.randint(0, half, (batch_size,), generator=gen)
            second = torch.randint(half, length, (batch_size,), generator=gen)
            pos = torch.stack([first, second], dim=1)
        marks = torch.zeros(batch_size, length)
        marks.scatter_(1, pos, 1.0)
        x = torch.stack([values, marks], dim=2)
        y = (values * marks).sum(dim=1, keepdim=True)
        return Batch(x, y, meta={"pos": pos})

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.mse_loss(out, batch.y)

    def metrics(self, out: torch.Tensor, batch: Batch) -> dict[str, float]:
        err = (out - batch.y).abs()
        return {"mse": float((err**2).mean()), "acc": float((err < TOLERANCE).float().mean())}

    def baseline(self) -> dict[str, float]:
        return {"mse": 1.0 / 6.0}

    def render(self, out: torch.Tensor, batch: Batch, n: int) -> list[tuple[Text, bool]]:
        rows = []
        for i in range(min(n, batch.size)):
            a, b = (float(batch.x[i, int(p), 0]) for p in batch.meta["pos"][i])
            pred, true = float(out[i, 0]), float(batch.y[i, 0])
            ok = abs(pred - true) < TOLERANCE
            text = Text(f"{a:.3f} + {b:.3f} = ")
            text.append_text(ok_text(f"{pred:.3f}", ok))
            text.append(f"  (true {true:.3f}, len {batch.length})", style="dim")
            rows.append((text, ok))
        return rows
