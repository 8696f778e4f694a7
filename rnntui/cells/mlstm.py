"""Multiplicative LSTM (the seed notebook's mLSTM).

Per step (layer ``k``, one direction), the input is first gated by a vector
``m_t`` of the *input* size that depends on the input and on the state::

    m_t  = W_m x_t + U_m h_{t-1} + b_m            (B, I_k)
    x̂_t  = m_t ⊙ x_t                              (B, I_k)

and then the ordinary LSTM runs on ``x̂_t`` instead of ``x_t``::

    i_t = sigmoid(W_ii x̂_t + b_ii + W_hi h_{t-1} + b_hi)
    f_t = sigmoid(W_if x̂_t + b_if + W_hf h_{t-1} + b_hf)
    g_t = tanh   (W_ig x̂_t + b_ig + W_hg h_{t-1} + b_hg)
    o_t = sigmoid(W_io x̂_t + b_io + W_ho h_{t-1} + b_ho)
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

Parameters (``_reverse`` suffix for the backward direction):

=====================  ==============  ====================================
name                   shape           role
=====================  ==============  ====================================
``weight_ih_l{k}``     (4H, I_k)       [W_ii; W_if; W_ig; W_io] (torch order)
``weight_hh_l{k}``     (4H, H)         [W_hi; W_hf; W_hg; W_ho]
``bias_ih_l{k}``       (4H,)           b_i*   (only with bias=True)
``bias_hh_l{k}``       (4H,)           b_h*   (only with bias=True)
``weight_im_l{k}``     (I_k, I_k)      W_m
``weight_hm_l{k}``     (I_k, H)        U_m
``bias_m_l{k}``        (I_k,)          b_m    (only with bias=True)
=====================  ==============  ====================================

``mult_bias`` (default **1.0**) is the initial value of ``b_m``.  With the
default the cell starts close to a plain LSTM (``m ≈ 1`` so ``x̂ ≈ x``) and
learns how to modulate its input.  The seed notebook used ``b_m = 0``
(``mult_bias=0.0``): with small weights ``m ≈ 0`` and therefore ``x̂ ≈ 0`` at
initialisation — the cell barely sees its input and learns slowly.  With
``bias=False`` there is no ``bias_m`` parameter and ``mult_bias`` is added as a
fixed constant instead.  ``proj_size`` is not supported (ValueError).

Speed: ``W_m x_t + b_m`` is precomputed for all steps (one matmul); per step
one matmul ``h [U_m; W_hh]^T`` gives the state part of ``m`` and of all four
gates, one more ``x̂ W_ih^T`` the input part (the gates depend on ``h`` through
``m`` so their input projection cannot leave the loop).  The recurrence of a
layer is one autograd node (:class:`~rnntui.cells.base.FusedLayer`) with a
hand-written BPTT; weight gradients are accumulated in the backward loop.
Both loops also exist compiled (:mod:`rnntui.cells.native`), used whenever the
compiled library is loaded.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from rnntui.config.keys import Key

from . import native
from .spec import CellSpec, Gate
from .base import RecurrentBase
from .kernels import (add_bias, gc_paused, in_time_order, proj_in, read_slots, record, slot_order,
                      time_order)
from .lstm import LSTMPointwise, from_internal, to_internal

__all__ = ["MultiplicativeLSTM", "mult_input", "mult_input_grads"]

SPEC = CellSpec(
    name="mlstm", cls="MultiplicativeLSTM", title="multiplicative LSTM (seed 000)",
    gates=(Gate("i", "input gate"), Gate("f", "forget gate"), Gate("g", "cell candidate", False),
           Gate("o", "output gate")),
    state=("h", "c"), builtin=None, cost=5.0, multiplicative=True,
    options=("forget_bias",
             Key("mult_bias", float, 1.0, "b_m init of the multiplicative cells (1 = x̂≈x; the seed used 0)",
                 lo=-100.0, hi=100.0)),
    init_schemes=("default", "normal", "chrono"),
    compiled_loop=True,
)


def mult_input(x: Tensor, p: dict, mult_bias: float) -> Tensor:
    """``W_m x_t + b_m`` for the whole (T, B, I) sequence (``b_m`` is the
    constant ``mult_bias`` when the module has no biases)."""
    xm = proj_in(x, p["w_im"], p["b_m"])
    if p["b_m"] is None and mult_bias != 0.0:
        xm = xm + mult_bias
    return xm


@gc_paused
def mlstm_forward(xm: Tensor, x: Tensor, h0: Tensor, c0: Tensor, wcat: Tensor, w_ih: Tensor,
                  reverse: bool, need_grad: bool):
    """One mLSTM layer/direction, forward, feature-major inside.

    xm (T,B,I) = W_m x + b_m;  x (T,B,I);  wcat (I+4H, H (+1)) =
    [[U_m; W_hh] | [0; b]] with the gate rows in the internal order o,i,f,g
    and b = b_ih + b_hh (no column without biases);  w_ih (4H, I) internal
    order.  Slot buffers (see :func:`~rnntui.cells.kernels.slot_order`):
    ``HX`` holds ``[h_{t-1}; 1]`` and ``EM`` holds ``[m; z; c_{t-1}]``, with
    ``m`` pre-filled with ``W_m x_t + b_m`` and ``z`` with 0.  Per step::

        [m; z] += wcat [h_{t-1}; 1];   x̂ = m ⊙ x_t;   z += W_ih x̂;   LSTM pointwise
    """
    T, B, I = x.shape
    G, Hin = wcat.shape[0] - I, wcat.shape[1]
    H = G // 4
    R, W, first = slot_order(T, reverse)
    HX = x.new_empty((T + 1, Hin, B))
    HX[first, :H] = h0.t()
    if Hin > H:
        read_slots(HX, reverse)[:, H] = 1.0
    EM = x.new_empty((T + 1, I + 5 * H, B))
    em = read_slots(EM, reverse)
    em[:, :I] = xm.transpose(1, 2)
    em[:, I:I + G] = 0.0
    EM[first, I + G:] = c0.t()
    XT = x.transpose(1, 2).contiguous()
    XH = x.new_empty((T, I, B))
    ops = native.loops_for(x)
    pw = LSTMPointwise(EM[:, I:], need_grad, views=ops is None)
    if ops is not None:                                 # the loop below, compiled
        none = x.new_empty(0)
        ops.mlstm_forward_loop(wcat, w_ih, HX, EM, XT, XH, none if pw.FB is None else pw.FB,
                               none if pw.K is None else pw.K, reverse, need_grad)
    else:
        MZs, Ms, Zs = EM[:, :I + G].unbind(0), EM[:, :I].unbind(0), pw.Z
        HXs, HXh, XTs, XHs = HX.unbind(0), HX[:, :H].unbind(0), XT.unbind(0), XH.unbind(0)
    for t in (() if ops is not None else range(T) if not reverse else range(T - 1, -1, -1)):
        r, w = R[t], W[t]
        MZs[r].addmm_(wcat, HXs[r])                   # m = W_m x + b_m + U_m h; z = W_hh h + b
        xh = torch.mul(Ms[r], XTs[t], out=XHs[t])      # x̂ = m ⊙ x
        Zs[r].addmm_(w_ih, xh)                         # z += W_ih x̂
        pw.step(t, r, w, HXh[w])
    pw.factors(in_time_order(HX, reverse)[:, :H], reverse)
    out = in_time_order(HX, reverse)[:, :H].transpose(1, 2).contiguous()
    last = W[T - 1] if not reverse else W[0]
    hT = HX[last, :H].t().contiguous()
    cT = EM[last, I + G:].t().contiguous()
    return (out, hT, cT), (XT, wcat, w_ih, HX, EM, XH, pw.FB, pw.K)


@gc_paused
def mlstm_backward(saved: tuple, reverse: bool, d_out: Tensor, d_hT: Tensor, d_cT: Tensor):
    """BPTT of :func:`mlstm_forward` -> ``(dxm, dx, dh0, dc0, dwcat, dw_ih)``;
    ``dx`` is the direct part (through x̂ = m ⊙ x), (T,B,I)."""
    XT, wcat, w_ih, HX, EM, XH, FB, K = saved
    T, I, B = XT.shape
    G, Hin = w_ih.shape[0], wcat.shape[1]
    H = G // 4
    R, W, first = slot_order(T, reverse)
    DH = HX.new_empty((T, H, B))
    DH.copy_(d_out.transpose(1, 2))
    DH[T - 1 if not reverse else 0].add_(d_hT.t())
    dc = d_cT.t()
    dWcat = HX.new_zeros((I + G, Hin))
    dW_ih = HX.new_zeros((G, I))
    DMG = HX.new_empty((T, I + G, B))                  # [dm; dz]
    DXH = HX.new_empty((T, I, B))
    dh0 = None
    ops = native.loops_for(HX)
    if ops is not None:                                 # the loop below, compiled
        dh0, dc = ops.mlstm_backward_loop(wcat, w_ih, HX, EM, XT, XH, FB, K, DH, dc, DMG, DXH,
                                          dWcat, dW_ih, reverse)
    else:
        DHs = DH.unbind(0)
        DMGs, DMs = DMG.unbind(0), DMG[:, :I].unbind(0)
        DZo, DZr = DMG[:, I:I + H].unbind(0), DMG[:, I + H:].view(T, 3, H, B).unbind(0)
        DZs = DMG[:, I:].unbind(0)
        DXHs, XTs, XHs, HXs = DXH.unbind(0), XT.unbind(0), XH.unbind(0), HX.unbind(0)
        pw = LSTMPointwise(EM[:, I:], True, FB, K)
        w_ih_t = w_ih.t().contiguous()
        wcat_h = wcat[:, :H]
        wcat_t = wcat_h.t().contiguous()
    for t in (() if ops is not None else range(T - 1, -1, -1) if not reverse else range(T)):
        r = R[t]
        dc = pw.bwd_step(t, r, DHs[t], dc, DZo[t], DZr[t])
        dz = DZs[t]
        dxh = torch.mm(w_ih_t, dz, out=DXHs[t])       # dL/dx̂
        torch.mul(dxh, XTs[t], out=DMs[t])             # dL/dm = dL/dx̂ ⊙ x
        dmg = DMGs[t]
        dWcat.addmm_(dmg, HXs[r].t())                  # dU_m, dW_hh, db
        dW_ih.addmm_(dz, XHs[t].t())
        if t != (0 if not reverse else T - 1):
            DHs[t - 1 if not reverse else t + 1].addmm_(wcat_t, dmg)
        else:
            dh0 = torch.mm(dmg.t(), wcat_h)
    dxm = DMG[:, :I].transpose(1, 2)
    dx = (DXH * read_slots(EM, reverse)[:, :I]).transpose(1, 2)   # dL/dx̂ ⊙ m
    return dxm, dx, dh0, dc.t().contiguous(), dWcat, dW_ih


def mult_input_grads(dxm: Tensor, dx_direct: Tensor, x: Tensor, p: dict, need_dx: bool):
    """Chain ``dL/dxm`` (xm = W_m x + b_m) into ``dx`` (T,B,I, contiguous,
    plus ``dx_direct``), ``dW_m`` and ``db_m``."""
    T, B, I = x.shape
    dxm2 = dxm.reshape(T * B, I)
    dp = {"w_im": torch.mm(dxm2.t(), x.reshape(T * B, I))}
    if p["b_m"] is not None:
        dp["b_m"] = dxm2.sum(0)
    dx = None
    if need_dx:
        dx = torch.mm(dxm2, p["w_im"]).view(T, B, I)
        dx += dx_direct
    return dx, dp


class MultiplicativeLSTM(RecurrentBase, spec=SPEC):
    """Multiplicative LSTM with the nn.LSTM interface (see module docstring).

    Args: ``input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, mult_bias=1.0``.

    ``forward(x, (h_0, c_0)=None) -> (output, (h_n, c_n))`` with ``x``
    (T, B, I) (or (B, T, I) with ``batch_first``), ``h``/``c`` (L*D, B, H),
    ``output`` (T, B, D*H).
    """


    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, mult_bias: float = 1.0,
                 device=None, dtype=None) -> None:
        if proj_size:
            raise ValueError(
                f"proj_size argument is only supported for LSTM, not MultiplicativeLSTM "
                f"(got proj_size={proj_size}; allowed: 0)"
            )
        super().__init__("MLSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, mult_bias=mult_bias,
                         device=device, dtype=dtype)

    def _fused_forward(self, x, state, p, reverse, need_grad):
        h0, c0 = state
        H = self.hidden_size
        x = x.contiguous()
        I = x.shape[-1]
        xm = mult_input(x, p, self.mult_bias)
        wcat = torch.cat([p["w_hm"], to_internal(p["w_hh"], H)], 0)     # [U_m; W_hh]
        b = to_internal(add_bias(p["b_ih"], p["b_hh"]), H)
        if b is not None:                                                # [.. | [0; b]]
            wcat = torch.cat([wcat, torch.cat([b.new_zeros(I), b]).unsqueeze(1)], 1)
        return mlstm_forward(xm, x, h0, c0, wcat, to_internal(p["w_ih"], H), reverse, need_grad)

    def _fused_backward(self, saved, x, state, p, reverse, need_dx, grads):
        H, I = self.hidden_size, x.shape[-1]
        dxm, dx_direct, dh0, dc0, dWcat, dW_ih = mlstm_backward(saved, reverse, *grads)
        dx, dp = mult_input_grads(dxm, dx_direct, x, p, need_dx)
        dp.update(w_hm=dWcat[:I, :H].contiguous(), w_hh=from_internal(dWcat[I:, :H], H),
                  w_ih=from_internal(dW_ih, H))
        if p["b_ih"] is not None:
            db = from_internal(dWcat[I:, H], H)
            dp.update(b_ih=db, b_hh=db.clone())
        return dx, (dh0, dc0), dp

    def _run_steps(self, x, state, p, reverse, rec: Optional[dict]):
        h, c = state
        xm = mult_input(x, p, self.mult_bias)
        xms, xs = xm.unbind(0), x.unbind(0)
        w_hm_t, w_ih_t, w_hh_t = p["w_hm"].t(), p["w_ih"].t(), p["w_hh"].t()
        b = add_bias(p["b_ih"], p["b_hh"])
        outs = []
        for t in time_order(len(xs), reverse):
            m = torch.addmm(xms[t], h, w_hm_t)          # W_m x_t + b_m + U_m h_{t-1}
            xh = m * xs[t]                               # x̂_t = m_t ⊙ x_t
            z = xh @ w_ih_t + h @ w_hh_t
            if b is not None:
                z = z + b
            zi, zf, zg, zo = z.chunk(4, 1)
            i, f, g, o = zi.sigmoid(), zf.sigmoid(), zg.tanh(), zo.sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
            outs.append(h)
            record(rec, m=m, i=i, f=f, g=g, o=o, c=c, h=h)
        if rec is not None:
            rec["h_steps"] = list(outs)
        if reverse:
            outs.reverse()
        return torch.stack(outs, 0), (h, c)
