"""Elman RNN, a drop-in replacement for :class:`torch.nn.RNN`.

Equations (layer ``k``, one direction)::

    h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)        act = tanh | relu

Shapes: ``W_ih`` (H, I_k), ``W_hh`` (H, H), ``b_ih``/``b_hh`` (H,),
``x_t`` (B, I_k), ``h_t`` (B, H).  ``I_k`` is ``input_size`` for the first
layer and ``D*H`` above it.

Speed: ``W_ih x_t + b_ih + b_hh`` is computed for all ``T`` steps in one
matmul; the recurrence of a layer is one autograd node
(:class:`~rnntui.cells.base.FusedLayer`) whose backward is the hand-written BPTT::

    a_t      = dL/dh_t * act'(h_t)                 (1 - h_t^2 | [h_t > 0])
    dL/dh_t-1 += a_t W_hh
    dW_hh    = sum_t a_t^T h_{t-1}      (one matmul after the loop; dW_ih, db, dx alike)

Both loops also exist compiled (:mod:`rnntui.cells.native`), used whenever the
compiled library is loaded.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from rnntui.config.keys import Key

from . import native
from .spec import CellSpec
from .base import RecurrentBase
from .checks import reject_proj_size
from .kernels import add_bias, gc_paused, proj_in, record, shift_prev, time_order

__all__ = ["RNN"]

SPEC = CellSpec(
    name="rnn", cls="RNN", title="Elman RNN", gates=(), state=("h",), builtin="RNN", cost=1.0,
    options=(Key("nonlinearity", str, "tanh", "activation of the Elman cell",
                 choices=("tanh", "relu")),),
    compiled_loop=True,
)


@gc_paused
def rnn_forward(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b: Optional[Tensor],
                relu: bool, reverse: bool):
    """The recurrence of one layer/direction: ``x`` (T,B,I), ``h0`` (B,H),
    ``b = b_ih + b_hh`` or None.  Returns ``out`` (T,B,H) (also what the
    backward needs) and ``h_T``."""
    xw = proj_in(x, w_ih, b)                        # W_ih x_t + b for every t
    T, B, H = xw.shape
    out = xw.new_empty((T, B, H))
    ops = native.loops_for(x)
    if ops is not None:                             # the loop below, compiled
        ops.rnn_forward_loop(xw, h0, w_hh.t(), out, relu, reverse)
        return out, out[T - 1 if not reverse else 0].clone()
    xs, os_ = xw.unbind(0), out.unbind(0)
    w_t = w_hh.t()
    h = h0
    for t in time_order(T, reverse):
        h = torch.addmm(xs[t], h, w_t, out=os_[t])
        if relu:
            h.relu_()
        else:
            h.tanh_()
    return out, h.clone()


@gc_paused
def rnn_backward(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, out: Tensor, relu: bool,
                 reverse: bool, need_dx: bool, d_out: Tensor, d_hT: Tensor):
    """BPTT of :func:`rnn_forward` -> ``(dx, dh0, dw_ih, dw_hh, db)``."""
    T, B, H = out.shape
    deriv = (out > 0).to(out.dtype) if relu else 1 - out * out
    dA = torch.empty_like(out)
    ops = native.loops_for(out)
    if ops is not None:                             # the loop below, compiled
        dh0 = ops.rnn_backward_loop(deriv, d_out, d_hT, w_hh, dA, reverse)
    else:
        dAs, Ds, dos = dA.unbind(0), deriv.unbind(0), d_out.unbind(0)
        order = list(time_order(T, not reverse))
        dh = dos[order[0]] + d_hT
        for k, t in enumerate(order):
            a = torch.mul(dh, Ds[t], out=dAs[t])
            if k + 1 < T:
                dh = torch.addmm(dos[order[k + 1]], a, w_hh)
        dh0 = torch.mm(dAs[order[-1]], w_hh)
    h_prev = shift_prev(out, h0, reverse)
    dA2 = dA.view(T * B, H)
    dw_hh = torch.mm(dA2.t(), h_prev.reshape(T * B, H))
    dw_ih = torch.mm(dA2.t(), x.reshape(T * B, x.shape[-1]))
    dx = torch.mm(dA2, w_ih).view(T, B, -1) if need_dx else None
    return dx, dh0, dw_ih, dw_hh, dA2.sum(0)


class RNN(RecurrentBase, spec=SPEC):
    """From-scratch ``torch.nn.RNN`` (same arguments, state_dict and outputs).

    Args: ``input_size, hidden_size, num_layers=1, nonlinearity='tanh',
    bias=True, batch_first=False, dropout=0.0, bidirectional=False``.

    ``forward(x, h_0=None) -> (output, h_n)`` with ``x`` (T, B, I) (or (B, T, I)
    with ``batch_first``, or unbatched (T, I)), ``h_0``/``h_n`` (L*D, B, H),
    ``output`` (T, B, D*H).
    """


    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None, **kwargs) -> None:
        reject_proj_size(kwargs, "RNN or GRU")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        self.nonlinearity = nonlinearity
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device=device, dtype=dtype)

    def _fused_forward(self, x, state, p, reverse, need_grad):
        out, hT = rnn_forward(x, state[0], p["w_ih"], p["w_hh"], add_bias(p["b_ih"], p["b_hh"]),
                              self.nonlinearity == "relu", reverse)
        return (out, hT), (out,)

    def _fused_backward(self, saved, x, state, p, reverse, need_dx, grads):
        dx, dh0, dw_ih, dw_hh, db = rnn_backward(
            x, state[0], p["w_ih"], p["w_hh"], saved[0], self.nonlinearity == "relu", reverse,
            need_dx, *grads)
        dp = {"w_ih": dw_ih, "w_hh": dw_hh}
        if p["b_ih"] is not None:
            dp.update(b_ih=db, b_hh=db.clone())
        return dx, (dh0,), dp

    def _run_steps(self, x, h0, p, reverse, rec: Optional[dict]):
        act = torch.relu if self.nonlinearity == "relu" else torch.tanh
        xw = proj_in(x, p["w_ih"], add_bias(p["b_ih"], p["b_hh"]))
        xs = xw.unbind(0)
        w_hh_t = p["w_hh"].t()
        h, outs = h0, []
        for t in time_order(len(xs), reverse):
            h = act(torch.addmm(xs[t], h, w_hh_t))       # act(W_ih x_t + b + W_hh h_{t-1})
            outs.append(h)
            record(rec, h=h)
        if rec is not None:
            rec["h_steps"] = list(outs)
        if reverse:
            outs.reverse()
        return torch.stack(outs, 0), h
