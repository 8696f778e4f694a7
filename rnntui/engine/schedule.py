"""When a run evaluates: every ``eval_every`` steps, ``EARLY_FACTOR`` times as
often before step ``eval_early``, and at the last step.

Most of what a learner wants to see happens early: a task is often solved in
the first few hundred steps, and an evaluation every ``eval_every`` steps would
show the climb as one jump (or not at all).  A plain function of the step, so
the trainer and the UI's event buffer (which flushes just before an
evaluation) agree, and a resumed run evaluates at the same steps.  No torch.
"""

from __future__ import annotations

EARLY_FACTOR = 5
"""Evaluations before step ``eval_early`` come this many times as often."""


def early_interval(eval_every: int) -> int:
    """Steps between the early evaluations: ``max(1, eval_every // EARLY_FACTOR)``."""
    return max(1, eval_every // EARLY_FACTOR)


def eval_due(step: int, eval_every: int, eval_early: int = 0, total_steps: int = 0) -> bool:
    """Whether the model is evaluated after 1-based ``step``: at multiples of
    ``eval_every``, at multiples of :func:`early_interval` up to ``eval_early``,
    and at ``total_steps`` (when given)."""
    if step <= 0:
        return False
    if step % eval_every == 0 or (total_steps and step == total_steps):
        return True
    return step <= eval_early and step % early_interval(eval_every) == 0


def eval_steps(total_steps: int, eval_every: int, eval_early: int = 0) -> list[int]:
    """Every step a run of ``total_steps`` evaluates at, in order."""
    return [s for s in range(1, total_steps + 1) if eval_due(s, eval_every, eval_early, total_steps)]
