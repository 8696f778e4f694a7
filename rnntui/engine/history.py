"""Bounded histories: what a long run keeps in memory stays a fixed size.

A run's metric rows, its log and its gradient profiles arrive for as long as
it trains; kept whole, they grow memory without end (a fast task logs ~100
rows a second).  The whole history is on disk (``metrics.jsonl``); in memory,
:class:`Thinned` keeps the curve's *shape*: at most ``cap`` rows spread evenly
over everything appended, plus always the latest.  :class:`Recent` keeps the
last ``cap`` items (a log: old lines matter less than new ones).

Thinning rule: with ``seen`` rows appended so far, the kept rows are those at
positions ``0, s, 2s, ...`` (``s``, the stride, a power of two) and the newest
one; ``s`` doubles whenever more than ``cap`` rows would be kept.  The kept
rows depend only on the rows and ``seen``, so a resumed run that restores both
keeps exactly the rows an uninterrupted one would.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Iterable, TypeVar

T = TypeVar("T")

STEP_ROWS = 4096
"""Training-loss rows a run keeps in memory (a plot is a few hundred points wide)."""
EVAL_ROWS = 512
"""Evaluation rows a run keeps in memory.  Small enough to fill within a few minutes
of a fast task (an evaluation every 100 steps at ~150 steps/s fills 512 rows in ~6
minutes), so that memory is flat after that; a plot shows at most a few hundred."""
LOG_LINES = 1000
"""Log lines a run keeps in memory."""
PROFILES = 256
"""Gradient profiles (one per evaluation, ``seq_len`` floats each) a run keeps."""


def _kept(seen: int, stride: int) -> int:
    """Rows kept after ``seen`` appends with ``stride``: the grid, plus the newest if off it."""
    if seen == 0:
        return 0
    return (seen - 1) // stride + 1 + (1 if (seen - 1) % stride else 0)


def stride_for(seen: int, cap: int) -> int:
    """The stride :class:`Thinned` has after ``seen`` appends (a function of ``seen``)."""
    stride = 1
    while _kept(seen, stride) > cap:
        stride *= 2
    return stride


class Thinned(list):
    """A list that keeps at most ``cap`` (>= 3) rows of all it was given, evenly spread.

    It is a plain ``list`` to every reader (indexing, iteration, equality,
    ``json.dumps``); only :meth:`append` and :meth:`extend` thin.  ``seen``
    counts every row appended."""

    def __init__(self, rows: Iterable[Any] = (), cap: int = STEP_ROWS, seen: int | None = None) -> None:
        super().__init__()
        if cap < 3:
            raise ValueError(f"cap must be at least 3, got {cap}")
        self.cap = cap
        rows = list(rows)
        if seen is None or seen <= len(rows):
            self.seen, self.stride = 0, 1
            self.extend(rows)
        else:  # rows already thinned by a Thinned that had seen `seen` rows (a checkpoint)
            super().extend(rows)
            self.seen, self.stride = seen, stride_for(seen, cap)

    def append(self, row: Any) -> None:  # type: ignore[override]
        position = self.seen
        if self and (position - 1) % self.stride:
            super().pop()  # the previous newest row was off the grid: the new one replaces it
        super().append(row)
        self.seen += 1
        if len(self) > self.cap:
            on_grid = self[:] if position % self.stride == 0 else self[:-1]
            self.stride *= 2
            kept = on_grid[::2]
            if position % self.stride:
                kept.append(row)
            self[:] = kept

    def extend(self, rows: Iterable[Any]) -> None:  # type: ignore[override]
        for row in rows:
            self.append(row)

    def __reduce_ex__(self, protocol: Any) -> Any:  # pickled (checkpoints, worker pipes) as a plain list
        return (list, (list(self),))


class Recent(deque):
    """The last ``cap`` items (a ``deque`` with ``maxlen``) that compares equal to lists."""

    def __init__(self, items: Iterable[T] = (), cap: int = LOG_LINES) -> None:
        super().__init__(items, maxlen=cap)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list):
            return list(self) == other
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (list, (list(self),))
