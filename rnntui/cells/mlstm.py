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
``m`` so their input projection cannot leave the loop).  The recurrence is one
:class:`torch.autograd.Function` with a hand-written BPTT; weight gradients
are one matmul each after the loop.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .base import RecurrentBase, add_bias, proj_in, record, shift_prev, time_order
from .lstm import lstm_bwd_factors, lstm_cell_bwd, lstm_cell_fwd, to_internal

__all__ = ["MultiplicativeLSTM", "mult_input"]


def mult_input(x: Tensor, p: dict, mult_bias: float) -> Tensor:
    """``W_m x_t + b_m`` for the whole (T, B, I) sequence (``b_m`` is the
    constant ``mult_bias`` when the module has no biases)."""
    xm = proj_in(x, p["w_im"], p["b_m"])
    if p["b_m"] is None and mult_bias != 0.0:
        xm = xm + mult_bias
    return xm


class _MLSTMSeq(torch.autograd.Function):
    """Recurrence of one mLSTM layer/direction.

    xm (T,B,I) = W_m x + b_m;  x (T,B,I);  wcat (I+4H, H) = [U_m; W_hh] (gate
    rows in the internal order o,i,f,g);  bcat (I+4H,) = [0; b_ih + b_hh] or
    None;  w_ih (4H, I) internal order.
    """

    @staticmethod
    def forward(ctx, xm, x, h0, c0, wcat, bcat, w_ih, reverse: bool):
        T, B, I = x.shape
        G = w_ih.shape[0]
        H = G // 4
        gates = x.new_empty((T, B, G))
        cs = x.new_empty((T, B, H))
        tcs = x.new_empty((T, B, H))
        out = x.new_empty((T, B, H))
        M = x.new_empty((T, B, I))
        XH = x.new_empty((T, B, I))
        hh = x.new_empty((B, I + G))
        xms, xs, gs, css, tcss, outs, Ms, XHs = (
            a.unbind(0) for a in (xm, x, gates, cs, tcs, out, M, XH))
        wcat_t, w_ih_t = wcat.t(), w_ih.t()
        h, c = h0, c0
        for t in time_order(T, reverse):
            if bcat is None:
                torch.mm(h, wcat_t, out=hh)
            else:
                torch.addmm(bcat, h, wcat_t, out=hh)
            m = torch.add(xms[t], hh[:, :I], out=Ms[t])
            xh = torch.mul(m, xs[t], out=XHs[t])
            g = torch.addmm(hh[:, I:], xh, w_ih_t, out=gs[t])
            lstm_cell_fwd(g, c, css[t], tcss[t], outs[t], H)
            h, c = outs[t], css[t]
        ctx.save_for_backward(x, h0, c0, wcat, bcat, w_ih, gates, cs, tcs, out, M, XH)
        ctx.reverse = reverse
        return out, h.clone(), c.clone()

    @staticmethod
    def backward(ctx, d_out, d_hT, d_cT):
        x, h0, c0, wcat, bcat, w_ih, gates, cs, tcs, out, M, XH = ctx.saved_tensors
        reverse = ctx.reverse
        T, B, I = x.shape
        G = w_ih.shape[0]
        H = G // 4
        P_o, K, P, f = lstm_bwd_factors(gates, cs, tcs, c0, reverse)
        dmg = x.new_empty((T, B, I + G))      # [dm, dz] per step
        dxh = x.new_empty((T, B, I))
        dhs = torch.empty_like(out)
        dmgs, dxhs, dhl, dos, xs = (a.unbind(0) for a in (dmg, dxh, dhs, d_out, x))
        Pos, Ks, Ps, fs = P_o.unbind(0), K.unbind(0), P.unbind(0), f.unbind(0)
        order = list(time_order(T, not reverse))
        torch.add(dos[order[0]], d_hT, out=dhl[order[0]])
        dc = d_cT
        for k, t in enumerate(order):
            dmt = dmgs[t]
            dz = dmt[:, I:]
            dc = lstm_cell_bwd(dhl[t], dc, Ks[t], Pos[t], Ps[t], fs[t], dz, H)
            d_xh = torch.mm(dz, w_ih, out=dxhs[t])
            torch.mul(d_xh, xs[t], out=dmt[:, :I])
            if k + 1 < T:
                nxt = order[k + 1]
                torch.addmm(dos[nxt], dmt, wcat, out=dhl[nxt])
        dh0 = torch.mm(dmgs[order[-1]], wcat)
        h_prev = shift_prev(out, h0, reverse)
        flat = dmg.view(T * B, I + G)
        dwcat = torch.mm(flat.t(), h_prev.reshape(T * B, H))
        dbcat = flat.sum(0) if bcat is not None else None
        dw_ih = torch.mm(flat[:, I:].t(), XH.view(T * B, I))
        return dmg[..., :I], dxh * M, dh0, dc, dwcat, dbcat, dw_ih, None


class MultiplicativeLSTM(RecurrentBase):
    """Multiplicative LSTM with the nn.LSTM interface (see module docstring).

    Args: ``input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, mult_bias=1.0``.

    ``forward(x, (h_0, c_0)=None) -> (output, (h_n, c_n))`` with ``x``
    (T, B, I) (or (B, T, I) with ``batch_first``), ``h``/``c`` (L*D, B, H),
    ``output`` (T, B, D*H).
    """

    gate_count = 4
    state_is_tuple = True
    multiplicative = True
    cell_name = "mlstm"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, mult_bias: float = 1.0,
                 device=None, dtype=None) -> None:
        if proj_size:
            raise ValueError(
                f"proj_size is not supported by MultiplicativeLSTM (got proj_size={proj_size}); "
                "allowed: 0"
            )
        super().__init__("MLSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, mult_bias=mult_bias,
                         device=device, dtype=dtype)

    def _run_fused(self, x, state, p, reverse):
        h0, c0 = state
        H = self.hidden_size
        x = x.contiguous()
        I = x.shape[-1]
        xm = mult_input(x, p, self.mult_bias)
        wcat = torch.cat([p["w_hm"], to_internal(p["w_hh"], H)], 0)
        b = add_bias(p["b_ih"], p["b_hh"])
        bcat = None if b is None else torch.cat([b.new_zeros(I), to_internal(b, H)], 0)
        out, hT, cT = _MLSTMSeq.apply(xm, x, h0, c0, wcat, bcat,
                                      to_internal(p["w_ih"], H), reverse)
        return out, (hT, cT)

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
