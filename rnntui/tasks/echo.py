"""Echo: repeat the digit seen ``lag`` steps ago, on an endless stream (seed 000).

A stream of digits ``d_t`` drawn uniformly from ``A = n_symbols`` symbols, fed
one-hot: ``x: (B, T, A)``.  Target at every step ``y_t = d_{t-lag}``
(``y: (B, T)`` class indices); the first ``lag`` steps have nothing to echo and
are masked out (``mask: (B, T)``).  The model gives A logits per step.

Loss: cross-entropy over the unmasked steps.  Metric: per-step accuracy ``acc``
(baseline 1/A, cross-entropy baseline ln A).  The task is *streaming*: trained
on ``T = seq_len`` steps from a zero state, it is evaluated at ``eval_lengths``
(far longer) by running segments of ``seq_len`` steps with the hidden state
carried from one to the next — seed 000's test loop.

Seed 000 used that loop on its "copy" data, whose target was the input itself
(lag 0), so the network never had to remember anything; here ``lag >= 1`` and
the mask makes the first steps honest.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from rich.text import Text

from rnntui.config import Config
from rnntui.tasks.base import BAD_STYLE, Batch, Task, ok_text, require
from rnntui.tasks.spec import Key, Metric, TaskSpec

SHOWN_STEPS = 24


SPEC = TaskSpec(
    name="echo", cls="EchoTask", title="Echo (delayed recall stream)", per_step=True, streaming=True,
    metrics=(Metric("acc", "step accuracy"),),
    baseline="guess a symbol: step accuracy 1/A, cross-entropy ln A",
    losses=("ce",),
    options=("n_symbols", Key("lag", int, 1, "how many steps back to echo", lo=1, hi=1000),
             "seq_len_min"),
)


class EchoTask(Task, spec=SPEC):
    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        lo = cfg.seq_len_min or cfg.seq_len
        require(cfg.lag < lo, "lag", f"got {cfg.lag}; allowed: less than the training length ({lo} steps)")
        short = [n for n in cfg.eval_lengths if n <= cfg.lag]
        require(not short, "eval_lengths", f"got {short}; with lag {cfg.lag} a sequence needs more than {cfg.lag} steps")
        self.lag = cfg.lag
        self.input_size = cfg.n_symbols
        self.output_size = cfg.n_symbols

    def make_batch(self, batch_size: int, length: int, gen: torch.Generator) -> Batch:
        digits = torch.randint(0, self.input_size, (batch_size, length), generator=gen)
        y = torch.zeros_like(digits)
        y[:, self.lag:] = digits[:, : length - self.lag]
        mask = torch.zeros(batch_size, length, dtype=torch.bool)
        mask[:, self.lag:] = True
        return Batch(F.one_hot(digits, self.input_size).float(), y, mask, meta={"digits": digits})

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        assert batch.mask is not None
        return F.cross_entropy(out[batch.mask], batch.y[batch.mask])

    def metrics(self, out: torch.Tensor, batch: Batch) -> dict[str, float]:
        assert batch.mask is not None
        right = out.argmax(-1)[batch.mask] == batch.y[batch.mask]
        return {"acc": float(right.float().mean())}

    def baseline(self) -> dict[str, float]:
        return {"acc": 1.0 / self.input_size, "val_loss": math.log(self.input_size)}

    def render(self, out: torch.Tensor, batch: Batch, n: int) -> list[tuple[Text, bool]]:
        rows = []
        pred = out.argmax(-1)
        width = max(len(str(self.input_size - 1)), 1)
        sep = "" if width == 1 else " "
        for i in range(min(n, batch.size)):
            mask = batch.mask[i]  # type: ignore[index]
            ok = bool((pred[i][mask] == batch.y[i][mask]).all())
            steps = range(min(batch.length, SHOWN_STEPS))
            text = Text("in  ")
            text.append(sep.join(f"{int(batch.meta['digits'][i, t]):>{width}}" for t in steps))
            text.append("\nout ")
            for t in steps:
                if t:
                    text.append(sep)
                if not mask[t]:
                    text.append("·" * width, style="dim")
                    continue
                p = int(pred[i, t])
                text.append(f"{p:>{width}}", style="green" if p == int(batch.y[i, t]) else BAD_STYLE)
            more = batch.length - len(steps)
            text.append(f"  lag {self.lag}" + (f", +{more} steps" if more > 0 else "") + "  ", style="dim")
            text.append_text(ok_text("✓" if ok else "✗", ok))
            rows.append((text, ok))
        return rows
