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
matmul ``h [U_m; W_hh]^T`` and one ``x̂ W_ih^T`` per step, hand-written BPTT.
"""

from __future__ import annotations

from typing import Optional

import torch

from .base import RecurrentBase, proj_in, record, shift_prev, time_order
from .gru import gru_bwd_factors
from .mlstm import mult_input

__all__ = ["MultiplicativeGRU"]


class _MGRUSeq(torch.autograd.Function):
    """Recurrence of one mGRU layer/direction.

    xm (T,B,I) = W_m x + b_m;  x (T,B,I);  wcat (I+3H, H) = [U_m; W_hh];
    bcat (I+3H,) = [0; b_hh] or None;  w_ih (3H, I);  b_ih (3H,) or None.
    """

    @staticmethod
    def forward(ctx, xm, x, h0, wcat, bcat, w_ih, b_ih, reverse: bool):
        T, B, I = x.shape
        G = w_ih.shape[0]
        H = G // 3
        HH = x.new_empty((T, B, I + G))
        M = x.new_empty((T, B, I))
        XH = x.new_empty((T, B, I))
        GX = x.new_empty((T, B, G))     # after the step: [r, z, W_in x̂ + b_in]
        N = x.new_empty((T, B, H))
        out = x.new_empty((T, B, H))
        xms, xs, HHs, Ms, XHs, GXs, Ns, outs = (
            a.unbind(0) for a in (xm, x, HH, M, XH, GX, N, out))
        wcat_t, w_ih_t = wcat.t(), w_ih.t()
        h = h0
        for t in time_order(T, reverse):
            if bcat is None:
                hh = torch.mm(h, wcat_t, out=HHs[t])
            else:
                hh = torch.addmm(bcat, h, wcat_t, out=HHs[t])
            m = torch.add(xms[t], hh[:, :I], out=Ms[t])
            xh = torch.mul(m, xs[t], out=XHs[t])
            if b_ih is None:
                gx = torch.mm(xh, w_ih_t, out=GXs[t])
            else:
                gx = torch.addmm(b_ih, xh, w_ih_t, out=GXs[t])
            s = gx[:, : 2 * H]
            s.add_(hh[:, I: I + 2 * H]).sigmoid_()
            n = torch.addcmul(gx[:, 2 * H:], s[:, :H], hh[:, I + 2 * H:], out=Ns[t]).tanh_()
            h = torch.lerp(n, h, s[:, H:], out=outs[t])
        ctx.save_for_backward(x, h0, wcat, bcat, w_ih, b_ih, HH, M, XH, GX, N, out)
        ctx.reverse = reverse
        return out, h.clone()

    @staticmethod
    def backward(ctx, d_out, d_hT):
        x, h0, wcat, bcat, w_ih, b_ih, HH, M, XH, GX, N, out = ctx.saved_tensors
        reverse = ctx.reverse
        T, B, I = x.shape
        G = w_ih.shape[0]
        H = G // 3
        h_prev = shift_prev(out, h0, reverse)
        PZN, P_r, r, z = gru_bwd_factors(GX[..., : 2 * H], N, HH[..., I + 2 * H:], h_prev)
        dgx = x.new_empty((T, B, G))       # [dz_r, dz_z, da_n]
        dmg = x.new_empty((T, B, I + G))   # [dm, dz_r, dz_z, da_n * r]
        dxh = x.new_empty((T, B, I))
        dhs = torch.empty_like(out)
        dgxs, dmgs, dxhs, dhl, dos, xs = (a.unbind(0) for a in (dgx, dmg, dxh, dhs, d_out, x))
        PZNs, Prs, rs, zs = PZN.unbind(0), P_r.unbind(0), r.unbind(0), z.unbind(0)
        order = list(time_order(T, not reverse))
        torch.add(dos[order[0]], d_hT, out=dhl[order[0]])
        dh0 = None
        for k, t in enumerate(order):
            dh = dhl[t]
            a, dm = dgxs[t], dmgs[t]
            torch.mul(dh.unsqueeze(1), PZNs[t].view(B, 2, H), out=a[:, H:].view(B, 2, H))
            dan = a[:, 2 * H:]
            torch.mul(dan, Prs[t], out=a[:, :H])
            dm[:, I: I + 2 * H].copy_(a[:, : 2 * H])
            torch.mul(dan, rs[t], out=dm[:, I + 2 * H:])
            d_xh = torch.mm(a, w_ih, out=dxhs[t])
            torch.mul(d_xh, xs[t], out=dm[:, :I])
            if k + 1 < T:
                nxt = order[k + 1]
                torch.addmm(torch.addcmul(dos[nxt], dh, zs[t]), dm, wcat, out=dhl[nxt])
            else:
                dh0 = torch.addmm(dh * zs[t], dm, wcat)
        flat = dmg.view(T * B, I + G)
        dwcat = torch.mm(flat.t(), h_prev.reshape(T * B, H))
        dbcat = flat.sum(0) if bcat is not None else None
        gflat = dgx.view(T * B, G)
        dw_ih = torch.mm(gflat.t(), XH.view(T * B, I))
        db_ih = gflat.sum(0) if b_ih is not None else None
        return dmg[..., :I], dxh * M, dh0, dwcat, dbcat, dw_ih, db_ih, None


class MultiplicativeGRU(RecurrentBase):
    """Multiplicative GRU with the nn.GRU interface (see module docstring).

    Args: ``input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, mult_bias=1.0``.

    ``forward(x, h_0=None) -> (output, h_n)`` with ``x`` (T, B, I) (or
    (B, T, I) with ``batch_first``), ``h`` (L*D, B, H), ``output`` (T, B, D*H).
    """

    gate_count = 3
    multiplicative = True
    cell_name = "mgru"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, mult_bias: float = 1.0,
                 device=None, dtype=None) -> None:
        super().__init__("MGRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, mult_bias=mult_bias,
                         device=device, dtype=dtype)

    def _run_fused(self, x, h0, p, reverse):
        x = x.contiguous()
        I = x.shape[-1]
        xm = mult_input(x, p, self.mult_bias)
        wcat = torch.cat([p["w_hm"], p["w_hh"]], 0)
        b_hh = p["b_hh"]
        bcat = None if b_hh is None else torch.cat([b_hh.new_zeros(I), b_hh], 0)
        return _MGRUSeq.apply(xm, x, h0, wcat, bcat, p["w_ih"], p["b_ih"], reverse)

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
