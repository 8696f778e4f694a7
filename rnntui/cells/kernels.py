"""Building blocks of the fused sequence kernels (one layer, one direction).

A cell's fused kernel is a pair of plain functions over whole sequences,
``forward(x, state, p, reverse, need_grad) -> (outputs, saved)`` and
``backward(saved, x, state, p, reverse, need_dx, grads) -> (dx, dstate, dp)``
(see :class:`rnntui.cells.base.FusedLayer`, which wraps them into one autograd
node).  Inside, every per-step tensor is a view into a preallocated buffer and
every step writes with ``out=``, so the Python time loop only issues kernels;
the helpers below build those buffers and the slot bookkeeping.
"""

from __future__ import annotations

import functools
import gc
from typing import Optional

import torch
from torch import Tensor

__all__ = [
    "gc_paused", "shift_prev", "proj_in", "add_bias", "time_order", "record",
    "slot_order", "in_time_order", "read_slots", "input_slots",
]


def gc_paused(fn):
    """Run ``fn`` with Python's cyclic garbage collector paused.

    The fused kernels create a few thousand short-lived tensor views per call;
    with the collector on, those allocations trigger collections that walk
    every live tensor (several ms per call, more than the arithmetic of a
    small layer).  Nothing here creates reference cycles, so deferring the
    collector until the loop is done is safe; it is re-enabled on exit (only if
    it was enabled before, so nesting and other callers are unaffected).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return wrapper


def shift_prev(seq: Tensor, first: Tensor, reverse: bool) -> Tensor:
    """The state *before* each step: ``prev[t] = seq[t-1]`` (``seq[t+1]`` when
    running in reverse) with ``first`` at the starting end.  ``seq`` is
    ``(T, B, X)`` and ``first`` is ``(B, X)``."""
    if reverse:
        return torch.cat([seq[1:], first.unsqueeze(0)], 0)
    return torch.cat([first.unsqueeze(0), seq[:-1]], 0)


def proj_in(x: Tensor, w: Tensor, b: Optional[Tensor]) -> Tensor:
    """``x @ w.T + b`` for a whole ``(T, B, I)`` sequence in one matmul."""
    T, B, I = x.shape
    x2 = x.reshape(T * B, I)
    y = torch.mm(x2, w.t()) if b is None else torch.addmm(b, x2, w.t())
    return y.view(T, B, w.shape[0])


def add_bias(a: Optional[Tensor], b: Optional[Tensor]) -> Optional[Tensor]:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def time_order(T: int, reverse: bool):
    return range(T - 1, -1, -1) if reverse else range(T)


def record(rec: Optional[dict], **tensors: Tensor) -> None:
    """Append detached per-step tensors to the trace recorder ``rec``."""
    if rec is None:
        return
    for k, v in tensors.items():
        rec.setdefault(k, []).append(v.detach())


def slot_order(T: int, reverse: bool):
    """Slots of a (T+1)-slot state buffer: step ``t`` reads the previous state
    from slot ``R[t]`` and writes its new state into slot ``W[t]``; the initial
    state goes into slot ``first``.  Then ``buf[1:]`` (forward) or ``buf[:-1]``
    (reverse) holds the new states in time order, and ``buf[:-1]`` /
    ``buf[1:]`` the states each step reads."""
    if reverse:
        return list(range(1, T + 1)), list(range(T)), T
    return list(range(T)), list(range(1, T + 1)), 0


def in_time_order(buf: Tensor, reverse: bool) -> Tensor:
    """The T slots written by the steps, in time order."""
    return buf[:-1] if reverse else buf[1:]


def read_slots(buf: Tensor, reverse: bool) -> Tensor:
    """The T slots read by the steps, in time order."""
    return buf[1:] if reverse else buf[:-1]


def input_slots(x: Tensor, h0: Tensor, Hin: int, first: int, reverse: bool) -> Tensor:
    """The (T+1, Hin, B) buffer whose read slots hold ``[h_{t-1}; x_t; 1]``
    (feature-major): ``x`` (T, B, I) and the trailing 1 (when there is a bias
    column) are filled in, and ``h0`` (B, H) goes into slot ``first``.  The steps
    write each new ``h_t`` into the top rows of the next slot."""
    T, B, I = x.shape
    H = h0.shape[-1]
    HX = x.new_empty((T + 1, Hin, B))
    xs = read_slots(HX, reverse)
    xs[:, H:H + I] = x.transpose(1, 2)
    if Hin > H + I:
        xs[:, -1] = 1.0
    HX[first, :H] = h0.t()
    return HX
