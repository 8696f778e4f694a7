"""Sequential XOR (seed 002): each output is the XOR of the last two input bits.

Input ``x: (B, T, 1)`` random bits ``b_t``; target ``y: (B, T)`` with
``y_t = b_t XOR b_{t-1}``.  Step 0 has no previous bit: it is masked out
(``mask: (B, T)``).  The model gives one logit per step.

Loss: binary cross-entropy on the logits over the unmasked steps.  Metric:
per-step accuracy ``acc`` (baseline 50%).  Streaming: trained on
``seq_len`` steps, evaluated on ``eval_lengths`` in carried-state segments.

Seed 002 put a sigmoid inside the model and used ``BCELoss`` on probabilities
(less stable than the logit form), trained 5 batches per "epoch" and measured
test accuracy on one batch of 32 sequences of 20 steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from rich.text import Text

from rnntui.config import Config
from rnntui.tasks.base import BAD_STYLE, Batch, Task, ok_text, require
from rnntui.tasks.spec import Metric, TaskSpec

SHOWN_STEPS = 32


SPEC = TaskSpec(
    name="xor", cls="XorTask", title="Sequential XOR", per_step=True, streaming=True,
    metrics=(Metric("acc", "step accuracy"),),
    baseline="guess every bit: step accuracy 1/2",
    losses=("bce",), options=("seq_len_min",),
)


class XorTask(Task, spec=SPEC):
    input_size = 1
    output_size = 1

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        require((cfg.seq_len_min or cfg.seq_len) >= 2, "seq_len", "xor needs sequences of at least 2 steps")
        require(all(n >= 2 for n in cfg.eval_lengths), "eval_lengths",
                f"got {cfg.eval_lengths}; xor needs sequences of at least 2 steps")

    def make_batch(self, batch_size: int, length: int, gen: torch.Generator) -> Batch:
        bits = torch.randint(0, 2, (batch_size, length), generator=gen)
        y = torch.zeros(batch_size, length)
        y[:, 1:] = (bits[:, 1:] ^ bits[:, :-1]).float()
        mask = torch.ones(batch_size, length, dtype=torch.bool)
        mask[:, 0] = False
        return Batch(bits.float().unsqueeze(-1), y, mask)

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        assert batch.mask is not None
        return F.binary_cross_entropy_with_logits(out[..., 0][batch.mask], batch.y[batch.mask])

    def metrics(self, out: torch.Tensor, batch: Batch) -> dict[str, float]:
        assert batch.mask is not None
        right = (out[..., 0] > 0).float()[batch.mask] == batch.y[batch.mask]
        return {"acc": float(right.float().mean())}

    def baseline(self) -> dict[str, float]:
        return {"acc": 0.5}

    def render(self, out: torch.Tensor, batch: Batch, n: int) -> list[tuple[Text, bool]]:
        rows = []
        pred = (out[..., 0] > 0).long()
        for i in range(min(n, batch.size)):
            ok = bool((pred[i, 1:] == batch.y[i, 1:].long()).all())
            steps = range(min(batch.length, SHOWN_STEPS))
            text = Text("in  " + "".join(str(int(batch.x[i, t, 0])) for t in steps))
            text.append("\nxor ·", style="")
            for t in steps[1:]:
                p = int(pred[i, t])
                text.append(str(p), style="green" if p == int(batch.y[i, t]) else BAD_STYLE)
            more = batch.length - len(steps)
            text.append(f"  (+{more} steps)  " if more > 0 else "  ", style="dim")
            text.append_text(ok_text("✓" if ok else "✗", ok))
            rows.append((text, ok))
        return rows
