"""Did a run beat its task's trivial baseline, by how much, and what to try if not.

The finish message of the TUI and of a headless run reads this, so a learner
learns from the first run whether the network learned anything:

* a lower-is-better metric (MSE, cross-entropy) is compared as a ratio:
  *clearly* learned at most half the baseline, *barely* below it, else not;
* a higher-is-better one (an accuracy, baseline ``b < 1``) by how far it went
  from the baseline towards 1, ``(value - b) / (1 - b)``: *clearly* learned at
  least half the way.

The metric judged is the task's first metric that has a baseline (the main one
for most tasks; ``bit_acc`` for binary addition, whose exact-sum accuracy has
none).  No torch, no Textual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

CLEAR = 0.5
"""The fraction of the way from the baseline to perfect that counts as clearly learned."""


@dataclass(frozen=True)
class Verdict:
    """``level``: ``"clear"``, ``"barely"`` or ``"none"``; ``text``: one sentence;
    ``advice``: what to try (empty when it clearly learned)."""

    metric: str
    value: float
    baseline: float
    level: str
    text: str
    advice: str = ""

    @property
    def learned(self) -> bool:
        return self.level == "clear"


def judge(metrics: Sequence[tuple[str, str, bool]], final: Mapping[str, float], baseline: Mapping[str, float],
          config: Mapping[str, Any], *, step: int = 0, total_steps: int = 0) -> Verdict | None:
    """The verdict on ``final`` against ``baseline``, or None when no metric has both.

    ``metrics``: the task's (name, label, higher_is_better), main first;
    ``config``: the run's settings (the advice names them); ``step`` of
    ``total_steps``: where the run ended (a stopped run is told to run longer)."""
    for name, label, higher in metrics:
        value, base = final.get(name), baseline.get(name)
        if value is None or base is None or not math.isfinite(value):
            continue
        if higher:
            if base >= 1.0:
                continue
            progress = (value - base) / (1.0 - base)
            level = "clear" if progress >= CLEAR else ("barely" if value > base else "none")
            how = (f"{_pct(progress)} of the way from the baseline {base:.3g} to 1" if value > base
                   else f"not above the baseline {base:.3g}")
        else:
            level = "clear" if value <= CLEAR * base else ("barely" if value < base else "none")
            how = (f"{_times(base, value)} below the baseline {base:.3g}" if value < base
                   else f"not below the baseline {base:.3g}")
        word = {"clear": "it learned", "barely": "it barely beat the baseline",
                "none": "it did not beat the baseline"}[level]
        text = f"{label} {value:.4g}: {how} — {word}"
        advice = "" if level == "clear" else _advice(config, step, total_steps)
        return Verdict(name, value, base, level, text, advice)
    return None


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.0f}%"


def _times(base: float, value: float) -> str:
    if value <= 0:
        return "far"
    ratio = base / value
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def _advice(config: Mapping[str, Any], step: int, total_steps: int) -> str:
    """What to change, most likely first, as one line."""
    tips = []
    if total_steps and step < total_steps:
        tips.append(f"let it run to the end (stopped at step {step} of {total_steps})")
    if config.get("cell") == "rnn":
        tips.append("a gated cell (cell gru or lstm) to carry information further")
    lr = config.get("lr")
    if config.get("optimizer", "adam") == "adam" and isinstance(lr, (int, float)) and lr < 0.003:
        tips.append(f"a larger learning rate (lr {lr:g} → 0.01)")
    steps = config.get("epochs") or config.get("steps")
    unit = "epochs" if config.get("epochs") else "steps"
    if steps:
        tips.append(f"more {unit} (now {steps})")
    task = config.get("task")
    if task:
        tips.append(f"the {task!r} preset's settings")
    return "try " + "; ".join(tips)
