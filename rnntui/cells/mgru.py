"""Multiplicative GRU (the seed notebook's mGRU).

Per step (layer ``k``, one direction), the input is first gated by a vector
``m_t`` of the *input* size that depends on the input and on the state::

    m_t  = W_m x_t + U_m h_{t-1} + b_m            (B, I_k)
    x̂_t  = m_t ⊙ x_t                              (B, I_k)

and then the ordinary GRU (torch's formulation) runs on ``x̂_t``::

    r_t = sigmoid(W_ir x̂_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = sigmoid(W_iz x̂_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh   (W_in x̂_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

Parameters (``_reverse`` suffix for the backward direction):

=====================  ==============  ====================================
name                   shape           role
=====================  ==============  ====================================
``weight_ih_l{k}``     (3H, I_k)       [W_ir; W_iz; W_in] (torch order)
``weight_hh_l{k}``     (3H, H)         [W_hr; W_hz; W_hn]
``bias_ih_l{k}``       (3H,)           b_i*   (only with bias=True)
``bias_hh_l{k}``       (3H,)           b_h*   (only with bias=True)
``weight_im_l{k}``     (I_k, I_k)      W_m
``weight_hm_l{k}``     (I_k, H)        U_m
``bias_m_l{k}``        (I_k,)          b_m    (only with bias=True)
=====================  ==============  ====================================

``mult_bias`` (default **1.0**) is the initial value of ``b_m``: with it the
cell starts close to a plain GRU (``m ≈ 1`` so ``x̂ ≈ x``).  The seed notebook
used ``b_m = 0`` (``mult_bias=0.0``), which makes ``x̂ ≈ 0`` at
initialisation, so the cell barely sees its input.  With ``bias=False`` there
is no ``bias_m`` parameter and ``mult_bias`` is added as a fixed constant.

Speed: as for :mod:`rnntui.cells.mlstm`: ``W_m x + b_m`` precomputed, one
matmul ``h [U_m; W_hh]^T`` and one ``x̂ W_ih^T`` per step, hand-written BPTT
(:func:`mgru_forward` / :func:`mgru_backward`).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from . import native
from .spec import CellSpec, Gate
from .base import RecurrentBase
from .checks import reject_proj_size
from .gru import GRUPointwise, gru_input_grads
from .kernels import gc_paused, in_time_order, read_slots, record, slot_order, time_order
from .mlstm import mult_input, mult_input_grads

__all__ = ["MultiplicativeGRU"]

SPEC = CellSpec(
    name="mgru", cls="MultiplicativeGRU", title="multiplicative GRU (seed 000)",
    gates=(Gate("r", "reset gate"), Gate("z", "update gate"), Gate("n", "candidate state", False)),
    state=("h",), builtin=None, cost=4.0, multiplicative=True, options=("mult_bias",),
    init_schemes=("default", "normal", "chrono"),
    compiled_loop=True,
)


@gc_paused
def mgru_forward(xm: Tensor, x: Tensor, h0: Tensor, wh: Tensor, wx: Tensor,
                 binit: Optional[Tensor], reverse: bool, need_grad: bool = True):
    """One mGRU layer/direction, forward, feature-major inside.

    xm (T,B,I) = W_m x + b_m;  x (T,B,I);  wh (I+3H, H) = [U_m; W_hh];
    wx (4H, I) = [W_ir; W_iz; 0; W_in];  binit (4H,) = [b_ir + b_hr; b_iz + b_hz;
    b_hn; b_in] or None.  A (T, I+4H, B) buffer holds per step
    ``[m; a_r; a_z; W_hn h + b_hn; W_in x̂ + b_in]``, pre-filled with
    ``[W_m x_t + b_m; binit]``; per step::

        [m; a_r; a_z; ghn] += wh h_{t-1};   x̂ = m ⊙ x_t;   [a_r; a_z; .; gxn] += wx x̂;
        GRU pointwise (see :class:`~rnntui.cells.gru.GRUPointwise`)
    """
    T, B, I = x.shape
    G = wx.shape[0]
    H = G // 4
    R, W, first = slot_order(T, reverse)
    HH = x.new_empty((T + 1, H, B))
    HH[first] = h0.t()
    EM = x.new_empty((T, I + G, B))
    EM[:, :I] = xm.transpose(1, 2)
    if binit is None:
        EM[:, I:] = 0.0
    else:
        EM[:, I:] = binit.unsqueeze(1)
    XT = x.transpose(1, 2).contiguous()
    XH = x.new_empty((T, I, B))
    N = x.new_empty((T, H, B))
    F = None
    ops = native.loops_for(x)
    if ops is not None:                                 # the loop below, compiled (it also
        F = x.new_empty((T, 4, H, B)) if need_grad else x.new_empty(0)   # makes the factors)
        ops.mgru_forward_loop(wh, wx, HH, EM, XT, XH, N, F, reverse, need_grad)
        F = F if need_grad else None
    else:
        pw = GRUPointwise(EM[:, I:], N)
        Hs, EMh, Ms, Gs = HH.unbind(0), EM[:, :I + 3 * H].unbind(0), EM[:, :I].unbind(0), EM[:, I:].unbind(0)
        XTs, XHs = XT.unbind(0), XH.unbind(0)
    for t in (() if ops is not None else range(T) if not reverse else range(T - 1, -1, -1)):
        h = Hs[R[t]]
        EMh[t].addmm_(wh, h)                          # m = W_m x + b_m + U_m h, W_hh h
        xh = torch.mul(Ms[t], XTs[t], out=XHs[t])      # x̂ = m ⊙ x
        Gs[t].addmm_(wx, xh)                           # + W_ih x̂
        pw.step(t, h, Hs[W[t]])
    out = in_time_order(HH, reverse).transpose(1, 2).contiguous()
    hT = HH[W[T - 1] if not reverse else W[0]].t().contiguous()
    return (out, hT), (XT, wh, wx, HH, EM, XH, N) + ((F,) if F is not None else ())


@gc_paused
def mgru_backward(saved: tuple, reverse: bool, d_out: Tensor, d_hT: Tensor):
    """BPTT of :func:`mgru_forward` -> ``(dxm, dx, dh0, dwh, dwx, dbinit)``;
    ``dx`` is the direct part (through x̂ = m ⊙ x), (T,B,I).

    Per step: ``dG = F_t ⊙ dh`` (:meth:`~rnntui.cells.gru.GRUPointwise.factors`),
    ``dx̂ = wx^T dG``, ``dm = dx̂ ⊙ x`` and ``dh_{t-1} += dh z + [U_m; W_hh]^T
    [dm; dG[:3H]]``; the weight gradients are accumulated in the loop."""
    XT, wh, wx, HH, EM, XH, N = saved[:7]
    F = saved[7] if len(saved) > 7 else None      # the factors, when the forward made them
    T, I, B = XT.shape
    G = wx.shape[0]
    H = G // 4
    R = slot_order(T, reverse)[0]
    DH = HH.new_empty((T, H, B))
    DH.copy_(d_out.transpose(1, 2))
    DH[T - 1 if not reverse else 0].add_(d_hT.t())
    dWh = HH.new_zeros(wh.shape)
    dWx = HH.new_zeros(wx.shape)
    DMG = HH.new_empty((T, I + G, B))                  # [dm; da_r; da_z; dghn; da_n]
    DXH = HH.new_empty((T, I, B))
    ops = native.loops_for(HH) if F is not None else None
    if ops is not None:                                 # the loop below, compiled
        dh0 = ops.mgru_backward_loop(wh, wx, HH, EM, XT, XH, F, DH, DMG, DXH, dWh, dWx, reverse)
        dxm = DMG[:, :I].transpose(1, 2)
        dx = (DXH * EM[:, :I]).transpose(1, 2)
        return dxm, dx, dh0, dWh, dWx, DMG[:, I:].sum((0, 2))
    DHs = DH.unbind(0)
    DMGh, DMs, DGs = DMG[:, :I + 3 * H].unbind(0), DMG[:, :I].unbind(0), DMG[:, I:].unbind(0)
    DG4 = DMG[:, I:].view(T, 4, H, B).unbind(0)
    DXHs, XTs, XHs, Hs = DXH.unbind(0), XT.unbind(0), XH.unbind(0), HH.unbind(0)
    pw = GRUPointwise(EM[:, I:], N)
    if F is None:
        F = pw.factors(read_slots(HH, reverse))
    Fs, Zs = F.unbind(0), pw.Z
    wx_t = wx.t().contiguous()
    wh_t = wh.t().contiguous()
    mm, mul, last = torch.mm, torch.mul, (0 if not reverse else T - 1)
    dh0 = None
    for t in range(T - 1, -1, -1) if not reverse else range(T):
        h = Hs[R[t]]
        dh = DHs[t]
        mul(Fs[t], dh, out=DG4[t])                     # dL/d[a_r; a_z; ghn; a_n]
        dg = DGs[t]
        dxh = mm(wx_t, dg, out=DXHs[t])                # dL/dx̂
        mul(dxh, XTs[t], out=DMs[t])                   # dL/dm = dL/dx̂ ⊙ x
        dmg = DMGh[t]
        dWh.addmm_(dmg, h.t())
        dWx.addmm_(dg, XHs[t].t())
        if t != last:
            DHs[t - 1 if not reverse else t + 1].addcmul_(dh, Zs[t]).addmm_(wh_t, dmg)
        else:
            dh0 = torch.addmm((dh * Zs[t]).t(), dmg.t(), wh)
    dxm = DMG[:, :I].transpose(1, 2)
    dx = (DXH * EM[:, :I]).transpose(1, 2)             # dL/dx̂ ⊙ m
    return dxm, dx, dh0, dWh, dWx, DMG[:, I:].sum((0, 2))


class MultiplicativeGRU(RecurrentBase, spec=SPEC):
    """Multiplicative GRU with the nn.GRU interface (see module docstring).

    Args: ``input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, mult_bias=1.0``.

    ``forward(x, h_0=None) -> (output, h_n)`` with ``x`` (T, B, I) (or
    (B, T, I) with ``batch_first``), ``h`` (L*D, B, H), ``output`` (T, B, D*H).
    """


    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, mult_bias: float = 1.0,
                 device=None, dtype=None, **kwargs) -> None:
        reject_proj_size(kwargs, "MultiplicativeGRU")
        super().__init__("MGRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, mult_bias=mult_bias,
                         device=device, dtype=dtype)

    def _fused_forward(self, x, state, p, reverse, need_grad):
        x = x.contiguous()
        I = x.shape[-1]
        xm = mult_input(x, p, self.mult_bias)
        H = self.hidden_size
        w_ih, b_ih, b_hh = p["w_ih"], p["b_ih"], p["b_hh"]
        wh = torch.cat([p["w_hm"], p["w_hh"]], 0)
        wx = torch.cat([w_ih[: 2 * H], w_ih.new_zeros((H, I)), w_ih[2 * H:]], 0)
        binit = None
        if b_ih is not None:
            binit = torch.cat([b_ih[: 2 * H] + b_hh[: 2 * H], b_hh[2 * H:], b_ih[2 * H:]])
        return mgru_forward(xm, x, state[0], wh, wx, binit, reverse, need_grad)

    def _fused_backward(self, saved, x, state, p, reverse, need_dx, grads):
        H, I = self.hidden_size, x.shape[-1]
        dxm, dx_direct, dh0, dWh, dWx, dbinit = mgru_backward(saved, reverse, *grads)
        dx, dp = mult_input_grads(dxm, dx_direct, x, p, need_dx)
        dp.update(gru_input_grads(dWx, dbinit if p["b_ih"] is not None else None, H))
        dp.update(w_hm=dWh[:I].contiguous(), w_hh=dWh[I:].contiguous())
        return dx, (dh0,), dp

    def _run_steps(self, x, h, p, reverse, rec: Optional[dict]):
        H = self.hidden_size
        xm = mult_input(x, p, self.mult_bias)
        xms, xs = xm.unbind(0), x.unbind(0)
        w_hm_t, w_ih_t, w_hh_t = p["w_hm"].t(), p["w_ih"].t(), p["w_hh"].t()
        b_ih, b_hh = p["b_ih"], p["b_hh"]
        outs = []
        for t in time_order(len(xs), reverse):
            m = torch.addmm(xms[t], h, w_hm_t)          # W_m x_t + b_m + U_m h_{t-1}
            xh = m * xs[t]                               # x̂_t = m_t ⊙ x_t
            gx = xh @ w_ih_t if b_ih is None else torch.addmm(b_ih, xh, w_ih_t)
            gh = h @ w_hh_t if b_hh is None else torch.addmm(b_hh, h, w_hh_t)
            r = torch.sigmoid(gx[:, :H] + gh[:, :H])
            z = torch.sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
            n = torch.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
            h = (1 - z) * n + z * h
            outs.append(h)
            record(rec, m=m, r=r, z=z, n=n, h=h)
        if rec is not None:
            rec["h_steps"] = list(outs)
        if reverse:
            outs.reverse()
        return torch.stack(outs, 0), h
