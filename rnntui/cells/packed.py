"""One layer/direction over a :class:`~torch.nn.utils.rnn.PackedSequence`.

A packed batch holds its sequences sorted by length, longest first, time-major:
the ``batch_sizes[t]`` rows of step ``t`` are the first ``batch_sizes[t]``
sequences.  Steps with the same batch size form a *segment* whose rows are one
contiguous ``(steps, k, I)`` block of the packed data, so a segment is an
ordinary padded-free sequence batch for the cell's layer function.

* forward direction: segments in time order, the batch shrinking; a
  sequence's final state is the state when the batch drops it;
* reverse direction: segments from the end, the batch growing; a sequence
  starts from its own initial state at its own last step, when it joins.

This is torch's own packed algorithm; no padding, no masking, and each
segment runs the cell's fused kernel (or its step-by-step path).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

__all__ = ["segments", "run_packed"]

State = tuple  # (h,) or (h, c), each (B, *)
LayerFn = Callable[[Tensor, State, bool], "tuple[Tensor, State]"]


def segments(batch_sizes: Tensor) -> list[tuple[int, int, int]]:
    """Maximal runs of equal batch size as ``(offset, steps, k)``: the run's
    rows are ``data[offset : offset + steps * k]``, step-major."""
    out: list[tuple[int, int, int]] = []
    offset = 0
    for k in batch_sizes.tolist():
        if out and out[-1][2] == k:
            off, steps, _ = out[-1]
            out[-1] = (off, steps + 1, k)
        else:
            out.append((offset, 1, k))
        offset += k
    return out


def run_packed(layer: LayerFn, data: Tensor, segs: list, state0: State,
               reverse: bool) -> "tuple[Tensor, State]":
    """Run ``layer(x (steps, k, I), state, reverse) -> (out (steps, k, H), state)``
    over the packed ``data`` (N, I) from ``state0`` (B = batch_sizes[0] rows, in
    sorted order).  Returns the packed output (N, H) and the final state (B rows)."""
    outs: list = [None] * len(segs)
    if not reverse:
        state, done = state0, []
        for i, (off, steps, k) in enumerate(segs):
            if state[0].shape[0] > k:                  # sequences that ended
                done.append(tuple(s[k:] for s in state))
                state = tuple(s[:k] for s in state)
            x = data[off:off + steps * k].reshape(steps, k, data.shape[-1])
            out, state = layer(x, state, False)
            outs[i] = out.reshape(steps * k, out.shape[-1])
        if not done:
            return _cat(outs), state
        done.append(state)
        return _cat(outs), tuple(torch.cat([d[j] for d in reversed(done)], 0)
                                 for j in range(len(state)))
    state = tuple(s[:segs[-1][2]] for s in state0)
    for i in range(len(segs) - 1, -1, -1):
        off, steps, k = segs[i]
        have = state[0].shape[0]
        if have < k:                                    # sequences that start here
            state = tuple(torch.cat([s, s0[have:k]], 0) for s, s0 in zip(state, state0))
        x = data[off:off + steps * k].reshape(steps, k, data.shape[-1])
        out, state = layer(x, state, True)
        outs[i] = out.reshape(steps * k, out.shape[-1])
    return _cat(outs), state


def _cat(parts: list) -> Tensor:
    return parts[0] if len(parts) == 1 else torch.cat(parts, 0)
