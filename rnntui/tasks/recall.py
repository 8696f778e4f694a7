"""Digit recall (seed 003): name the digit at position K of a sequence.

A sequence of ``L`` digits ``d_0 .. d_{L-1}``, each uniform in 0–9, fed one-hot:
``x: (B, L, 10)``.  ``L`` is drawn per batch from ``[seq_len_min, seq_len]``
(the seed's 3..9; ``seq_len_min = 0`` means always ``seq_len``).  Target
``y: (B,) = d_K`` with ``K = recall_index`` (0-based), read at the last step;
10 logits.  Loss: cross-entropy.  Metric: ``acc`` (baseline 10%).

The net cannot simply keep the last input: it must count to K, latch that digit
and hold it for a variable number of further steps.  Extra ``eval_lengths``
test longer sequences than any trained on.

Seed 003 drew digits with ``np.random.randint(0, 9)`` — 0..8 only, so the
digit 9 never occurred — trained with K = 1 and then showed predictions for
K = 2, and fed log-softmax outputs to ``CrossEntropyLoss`` (a second softmax).
Here all ten digits occur, one K is used throughout, and the loss is plain
cross-entropy on logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from rich.text import Text

from rnntui.config import Config
from rnntui.tasks.base import Batch, Task, ok_text, require
from rnntui.tasks.spec import Key, Metric, TaskSpec

DIGITS = 10


SPEC = TaskSpec(
    name="recall", cls="RecallTask", title="Digit recall", per_step=False,
    metrics=(Metric("acc", "accuracy"),),
    baseline="guess a digit: accuracy 1/10",
    losses=("ce",),
    options=(Key("recall_index", int, 1, "which position to recall, 0-based", lo=0, hi=1000,
                 label="recall idx"),
             "seq_len_min"),
)


class RecallTask(Task, spec=SPEC):
    input_size = DIGITS
    output_size = DIGITS

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        k, shortest = cfg.recall_index, cfg.seq_len_min or cfg.seq_len
        require(k < shortest, "recall_index",
                f"got {k}; allowed: 0 to {shortest - 1} (below the shortest sequence, "
                f"{'seq_len_min' if cfg.seq_len_min else 'seq_len'} = {shortest})")
        short = [n for n in cfg.eval_lengths if n <= k]
        require(not short, "eval_lengths",
                f"got {short}; recall_index {k} needs sequences longer than {k} steps")
        self.index = k

    def make_batch(self, batch_size: int, length: int, gen: torch.Generator) -> Batch:
        digits = torch.randint(0, DIGITS, (batch_size, length), generator=gen)
        return Batch(F.one_hot(digits, DIGITS).float(), digits[:, self.index].clone(), meta={"digits": digits})

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(out, batch.y)

    def metrics(self, out: torch.Tensor, batch: Batch) -> dict[str, float]:
        return {"acc": float((out.argmax(-1) == batch.y).float().mean())}

    def baseline(self) -> dict[str, float]:
        return {"acc": 1.0 / DIGITS}

    def render(self, out: torch.Tensor, batch: Batch, n: int) -> list[tuple[Text, bool]]:
        rows = []
        pred = out.argmax(-1)
        for i in range(min(n, batch.size)):
            digits = batch.meta["digits"][i].tolist()
            p, t = int(pred[i]), int(batch.y[i])
            ok = p == t
            text = Text()
            for j, d in enumerate(digits):
                text.append(f"{d} ", style="bold underline" if j == self.index else "")
            text.append(f" [{self.index}] → ")
            text.append_text(ok_text(str(p), ok))
            if not ok:
                text.append(f" (true {t})", style="dim")
            rows.append((text, ok))
        return rows
