"""The copying-memory problem (Hochreiter & Schmidhuber 1997; Arjovsky, Shah &
Bengio 2016), seed 000/001's "copy task" done right.

Alphabet of ``A = n_symbols`` symbols, ``K = copy_len`` of them to remember, a
delay ``T = seq_len``.  One sequence has ``T + 2K`` steps (classes: 0 = blank,
1..A = symbols, A+1 = delimiter)::

    step      0 .. K-1     K .. K+T-2    K+T-1      K+T .. T+2K-1
    input     s_1 .. s_K   blank (T-1)   delimiter  blank (K)
    target    blank ...................................  s_1 .. s_K

So the delay ``T`` counts the ``T-1`` blanks and the delimiter, exactly as in
Arjovsky et al., and each symbol is recalled ``T+K`` steps after it was seen.
Input ``x: (B, T+2K, A+2)`` one-hot; target ``y: (B, T+2K)`` class indices in
``0..A``; the model gives ``A+1`` logits per step.

Loss: cross-entropy averaged over **all** ``T+2K`` steps of every sequence (the
trained loss, ``val_loss`` and the ``ce`` metric are the same number).  A
memoryless predictor, blank for the first ``T+K`` steps and uniform over the A
symbols on the K answer steps, scores ``K·ln(A) / (T+2K)`` on that average —
the ``ce`` baseline.  Metrics: ``acc`` (per-symbol accuracy on the K answer
steps; baseline 1/A), ``exact`` (all K right; baseline A^-K) and ``ce``.

Seed 000 drew random integers 0–9 as *real-valued* input features, appended
three "delimiter" steps and set the target to a copy of the input at the same
step — an identity mapping that needs no memory at all, so its accuracies said
nothing about remembering.  Here the answer comes after the delay and the
delimiter, as in the literature.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from rich.text import Text

from rnntui.config import Config
from rnntui.tasks.base import BAD_STYLE, OK_STYLE, Batch, Task, ok_text, require
from rnntui.tasks.spec import Key, Metric, TaskSpec

BLANK = 0


SPEC = TaskSpec(
    name="copy", cls="CopyTask", title="Copying memory", per_step=True,
    metrics=(Metric("acc", "symbol accuracy"), Metric("exact", "exact copies"),
             Metric("ce", "cross-entropy", higher_is_better=False)),
    baseline="memoryless: blanks, then a uniform guess of the K symbols: cross-entropy K·ln(A)/(T+2K), "
             "symbol accuracy 1/A, exact copies A^-K",
    losses=("ce",),
    options=(Key("n_symbols", int, 8, "alphabet size", lo=2, hi=1000, label="symbols"),
             Key("copy_len", int, 10, "symbols to remember", lo=1, hi=1000, label="copy len"),
             "seq_len_min"),
)


class CopyTask(Task, spec=SPEC):
    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        require(cfg.seq_len_min == 0 or cfg.seq_len_min >= 1, "seq_len_min", "allowed: 0 or >= 1")
        self.n_symbols = cfg.n_symbols
        self.copy_len = cfg.copy_len
        self.delimiter = cfg.n_symbols + 1
        self.input_size = cfg.n_symbols + 2
        self.output_size = cfg.n_symbols + 1

    def total_length(self, delay: int) -> int:
        return delay + 2 * self.copy_len

    def make_batch(self, batch_size: int, length: int, gen: torch.Generator) -> Batch:
        """``length`` is the delay T; the sequences have ``T + 2K`` steps."""
        k, steps = self.copy_len, self.total_length(length)
        payload = torch.randint(1, self.n_symbols + 1, (batch_size, k), generator=gen)
        tokens = torch.full((batch_size, steps), BLANK, dtype=torch.long)
        tokens[:, :k] = payload
        tokens[:, k + length - 1] = self.delimiter
        y = torch.full((batch_size, steps), BLANK, dtype=torch.long)
        y[:, steps - k:] = payload
        x = F.one_hot(tokens, self.input_size).float()
        return Batch(x, y, meta={"delay": length})

    # eval_sets: the base class calls make_batch with each delay in
    # [seq_len_min, seq_len] and each of eval_lengths (delays, too).

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), batch.y.reshape(-1))

    def metrics(self, out: torch.Tensor, batch: Batch) -> dict[str, float]:
        k = self.copy_len
        right = out[:, -k:].argmax(-1) == batch.y[:, -k:]
        return {
            "acc": float(right.float().mean()),
            "exact": float(right.all(dim=1).float().mean()),
            "ce": float(self.loss(out, batch)),
        }

    def baseline(self) -> dict[str, float]:
        k, a = self.copy_len, self.n_symbols
        ce = k * math.log(a) / self.total_length(self.cfg.seq_len)
        return {"ce": ce, "val_loss": ce, "acc": 1.0 / a, "exact": a ** -k}

    def render(self, out: torch.Tensor, batch: Batch, n: int) -> list[tuple[Text, bool]]:
        k = self.copy_len
        pred = out[:, -k:].argmax(-1)
        rows = []
        for i in range(min(n, batch.size)):
            true = batch.y[i, -k:].tolist()
            got = pred[i].tolist()
            ok = got == true
            text = Text(" ".join(_symbol(s) for s in true) + "  →  ")
            for j, (p, t) in enumerate(zip(got, true)):
                if j:
                    text.append(" ")
                text.append(_symbol(p), style=OK_STYLE if p == t else BAD_STYLE)
            text.append_text(Text(f"  delay {batch.meta.get('delay', '?')}  ", style="dim"))
            text.append_text(ok_text("✓" if ok else "✗", ok))
            rows.append((text, ok))
        return rows


def _symbol(index: int) -> str:
    """Symbol 1..A shown as 0..A-1 (so the default alphabet reads as digits); blank as '·'."""
    return "·" if index == BLANK else str(index - 1)
