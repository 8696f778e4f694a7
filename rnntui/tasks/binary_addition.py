"""Binary addition, one bit pair per step (seed 003).

Two ``L``-bit numbers ``a`` and ``b`` (``L = seq_len``) are fed least significant
bit first: ``x: (B, L+1, 2)`` with ``x[:, t] = (a_t, b_t)`` and a zero pair at
step ``L`` for the final carry.  The target at every step is the sum bit:
``y: (B, L+1)``, ``y_t = (a + b)_t``.  A network only has to learn a carry, so it
generalises to any length: train on 8 bits, evaluate on 32 (``eval_lengths``),
run in segments of the training length with the hidden state carried over.

Loss (``loss``): ``bce`` (auto) — one logit per step, binary cross-entropy;
``mse`` — sigmoid output, squared error against the bit (seed 003's "MSE");
``ce`` — two logits per step, softmax cross-entropy (seed 003's "CE").
Metrics: ``exact`` (all L+1 sum bits right) and ``bit_acc``.  The seed drew
numbers with numpy per sample in a Python loop and reported accuracy on the
training stream; here data are generated vectorised and measured held out.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from rich.text import Text

from rnntui.config import Config
from rnntui.tasks.base import Batch, Task, ok_text, require
from rnntui.tasks.spec import Metric, TaskSpec


def add_bits(a_bits: torch.Tensor, b_bits: torch.Tensor) -> torch.Tensor:
    """Sum bits of LSB-first bit tensors ``(B, L)`` -> ``(B, L+1)`` (ripple carry)."""
    batch, length = a_bits.shape
    out = torch.zeros(batch, length + 1, dtype=torch.long)
    carry = torch.zeros(batch, dtype=torch.long)
    a, b = a_bits.long(), b_bits.long()
    for t in range(length):
        total = a[:, t] + b[:, t] + carry
        out[:, t] = total % 2
        carry = total // 2
    out[:, length] = carry
    return out


def bits_to_int(bits: torch.Tensor) -> int:
    """LSB-first 0/1 tensor -> Python int (any length)."""
    return sum(int(v) << i for i, v in enumerate(bits.tolist()))


SPEC = TaskSpec(
    name="binary-addition", cls="BinaryAdditionTask", title="Binary addition", per_step=True, streaming=True,
    metrics=(Metric("exact", "exact sums"), Metric("bit_acc", "bit accuracy")),
    baseline="guess every bit: bit accuracy 1/2",
    losses=("bce", "mse", "ce"),
)


class BinaryAdditionTask(Task, spec=SPEC):
    input_size = 2

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        require(cfg.seq_len_min == 0, "seq_len_min", "binary-addition uses a fixed number of bits; set seq_len_min = 0")
        self.kind = self.loss_kind
        self.output_size = 2 if self.kind == "ce" else 1

    def make_batch(self, batch_size: int, length: int, gen: torch.Generator) -> Batch:
        a = torch.randint(0, 2, (batch_size, length), generator=gen)
        b = torch.randint(0, 2, (batch_size, length), generator=gen)
        y = add_bits(a, b)
        pad = torch.zeros(batch_size, 1, dtype=torch.long)
        x = torch.stack([torch.cat([a, pad], 1), torch.cat([b, pad], 1)], dim=2).float()
        return Batch(x, y.float())

    def probs(self, out: torch.Tensor) -> torch.Tensor:
        """P(sum bit = 1) per step, ``(B, T)``."""
        if self.kind == "ce":
            return out.softmax(-1)[..., 1]
        return torch.sigmoid(out[..., 0])

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        if self.kind == "ce":
            return F.cross_entropy(out.reshape(-1, 2), batch.y.reshape(-1).long())
        if self.kind == "mse":
            return F.mse_loss(torch.sigmoid(out[..., 0]), batch.y)
        return F.binary_cross_entropy_with_logits(out[..., 0], batch.y)

    def metrics(self, out: torch.Tensor, batch: Batch) -> dict[str, float]:
        right = (self.probs(out) > 0.5).float() == batch.y
        return {"exact": float(right.all(dim=1).float().mean()), "bit_acc": float(right.float().mean())}

    def baseline(self) -> dict[str, float]:
        return {"bit_acc": 0.5}

    def render(self, out: torch.Tensor, batch: Batch, n: int) -> list[tuple[Text, bool]]:
        rows = []
        pred_bits = (self.probs(out) > 0.5).long()
        for i in range(min(n, batch.size)):
            a = bits_to_int(batch.x[i, :-1, 0].long())
            b = bits_to_int(batch.x[i, :-1, 1].long())
            true_bits = batch.y[i].long()
            pred = bits_to_int(pred_bits[i])
            ok = bool((pred_bits[i] == true_bits).all())
            text = Text(f"{a} + {b} = ")
            text.append_text(ok_text(str(pred), ok))
            text.append(f"  (true {a + b})  ", style="dim")
            for p, t in zip(reversed(pred_bits[i].tolist()), reversed(true_bits.tolist())):
                text.append(str(p), style="green" if p == t else "bold red reverse")
            rows.append((text, ok))
        return rows
