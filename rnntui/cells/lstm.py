"""LSTM, a drop-in replacement for :class:`torch.nn.LSTM` (incl. ``proj_size``).

Equations (layer ``k``, one direction; gate rows in torch's order i, f, g, o)::

    i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
    f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
    g_t = tanh   (W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
    o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)                 (then h_t = W_hr h_t with proj_size)

Shapes: ``weight_ih`` (4H, I_k) = [W_ii; W_if; W_ig; W_io], ``weight_hh``
(4H, H_out), ``bias_ih``/``bias_hh`` (4H,), ``weight_hr`` (P, H);
``x_t`` (B, I_k), ``h_t`` (B, H_out), ``c_t`` (B, H), ``H_out = P or H``.

Speed: ``W_ih x_t + b_ih + b_hh`` for all steps is one matmul; one matmul per
step gives all four gates.  Internally the gate rows are rotated to the order
(o, i, f, g) (a ``roll`` of the weights, invisible in the state_dict) so the
three sigmoid gates are one contiguous slice.  The recurrence is a single
:class:`torch.autograd.Function` with a hand-written BPTT::

    dc_t += dh_t * o_t * (1 - tanh(c_t)^2)
    dz_o = dh_t * tanh(c_t) * o_t(1-o_t)       dz_i = dc_t * g_t * i_t(1-i_t)
    dz_f = dc_t * c_{t-1} * f_t(1-f_t)         dz_g = dc_t * i_t * (1-g_t^2)
    dc_{t-1} = dc_t * f_t ;   dh_{t-1} += dz_t W_hh
    dW_hh = sum_t dz_t^T h_{t-1}    (one matmul after the loop)

with every factor that does not depend on the incoming gradient computed for
all steps at once before the loop.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .base import RecurrentBase, add_bias, proj_in, record, shift_prev, time_order

__all__ = ["LSTM"]


def to_internal(w: Optional[Tensor], H: int) -> Optional[Tensor]:
    """torch gate order (i, f, g, o) -> internal order (o, i, f, g)."""
    return None if w is None else torch.roll(w, H, 0)


def lstm_cell_fwd(g: Tensor, c: Tensor, c_out: Tensor, tc_out: Tensor, h_out: Tensor,
                  H: int) -> None:
    """Pointwise LSTM update, in place. ``g`` (B, 4H): pre-activations in the
    internal order (o, i, f, g), turned into activations."""
    g[:, : 3 * H].sigmoid_()
    g[:, 3 * H:].tanh_()
    c_new = torch.mul(g[:, 2 * H: 3 * H], c, out=c_out)
    c_new.addcmul_(g[:, H: 2 * H], g[:, 3 * H:])
    tc = torch.tanh(c_new, out=tc_out)
    torch.mul(g[:, :H], tc, out=h_out)


def lstm_bwd_factors(gates: Tensor, cs: Tensor, tcs: Tensor, c0: Tensor, reverse: bool):
    """Everything in the pointwise backward that does not depend on the
    incoming gradient, for all steps at once. Returns ``(P_o, K, P_ifg, f)``:

    dz_o = dh * P_o,  dc += dh * K,  [dz_i, dz_f, dz_g] = dc * P_ifg,  dc_prev = dc * f
    """
    T, B, G = gates.shape
    H = G // 4
    o, i, f, g = (gates[..., k * H:(k + 1) * H] for k in range(4))
    s = gates[..., : 3 * H]
    ds = s - s * s                                   # sigmoid' for o, i, f
    P_o = tcs * ds[..., :H]
    K = o - o * tcs * tcs
    P = gates.new_empty((T, B, 3 * H))
    torch.mul(g, ds[..., H: 2 * H], out=P[..., :H])
    torch.mul(shift_prev(cs, c0, reverse), ds[..., 2 * H:], out=P[..., H: 2 * H])
    torch.mul(i, 1 - g * g, out=P[..., 2 * H:])
    return P_o, K, P, f


def lstm_cell_bwd(dh: Tensor, dc: Tensor, K: Tensor, P_o: Tensor, P: Tensor, f: Tensor,
                  dz: Tensor, H: int) -> Tensor:
    """One step of the pointwise backward; writes the pre-activation gradient
    into ``dz`` (B, 4H, internal order) and returns dL/dc_{t-1}."""
    B = dh.shape[0]
    dc = torch.addcmul(dc, dh, K)
    torch.mul(dh, P_o, out=dz[:, :H])
    torch.mul(dc.unsqueeze(1), P.view(B, 3, H), out=dz[:, H:].view(B, 3, H))
    return dc * f


class _LSTMSeq(torch.autograd.Function):
    """Recurrence of one layer/direction.  ``xw`` (T,B,4H): ``W_ih x_t + b``
    in the internal gate order; ``w_hh`` (4H, H_out) internal order;
    ``w_hr`` (P, H) or None."""

    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, w_hr, reverse: bool):
        T, B, G = xw.shape
        H = G // 4
        H_out = h0.shape[-1]
        gates = xw.new_empty((T, B, G))
        cs = xw.new_empty((T, B, H))
        tcs = xw.new_empty((T, B, H))
        out = xw.new_empty((T, B, H_out))
        hpre = xw.new_empty((T, B, H)) if w_hr is not None else None
        xs, gs, css, tcss, outs = (a.unbind(0) for a in (xw, gates, cs, tcs, out))
        hps = hpre.unbind(0) if hpre is not None else None
        w_hh_t = w_hh.t()
        w_hr_t = None if w_hr is None else w_hr.t()
        h, c = h0, c0
        for t in time_order(T, reverse):
            g = torch.addmm(xs[t], h, w_hh_t, out=gs[t])
            if hps is None:
                lstm_cell_fwd(g, c, css[t], tcss[t], outs[t], H)
            else:
                lstm_cell_fwd(g, c, css[t], tcss[t], hps[t], H)
                torch.mm(hps[t], w_hr_t, out=outs[t])
            h, c = outs[t], css[t]
        ctx.save_for_backward(h0, c0, w_hh, w_hr, gates, cs, tcs, out, hpre)
        ctx.reverse = reverse
        return out, h.clone(), c.clone()

    @staticmethod
    def backward(ctx, d_out, d_hT, d_cT):
        h0, c0, w_hh, w_hr, gates, cs, tcs, out, hpre = ctx.saved_tensors
        reverse = ctx.reverse
        T, B, G = gates.shape
        H = G // 4
        H_out = out.shape[-1]
        P_o, K, P, f = lstm_bwd_factors(gates, cs, tcs, c0, reverse)
        dz = torch.empty_like(gates)
        dhs = torch.empty_like(out)                    # total dL/dh_t
        dzs, dhl, dos = dz.unbind(0), dhs.unbind(0), d_out.unbind(0)
        Pos, Ks, Ps, fs = P_o.unbind(0), K.unbind(0), P.unbind(0), f.unbind(0)
        order = list(time_order(T, not reverse))
        torch.add(dos[order[0]], d_hT, out=dhl[order[0]])
        dc = d_cT
        for k, t in enumerate(order):
            dh = dhl[t]
            if w_hr is not None:
                dh = torch.mm(dh, w_hr)
            dc = lstm_cell_bwd(dh, dc, Ks[t], Pos[t], Ps[t], fs[t], dzs[t], H)
            if k + 1 < T:
                nxt = order[k + 1]
                torch.addmm(dos[nxt], dzs[t], w_hh, out=dhl[nxt])
        dh0 = torch.mm(dzs[order[-1]], w_hh)
        h_prev = shift_prev(out, h0, reverse)
        dw_hh = torch.mm(dz.view(T * B, G).t(), h_prev.reshape(T * B, H_out))
        dw_hr = None
        if w_hr is not None:
            dw_hr = torch.mm(dhs.view(T * B, H_out).t(), hpre.view(T * B, H))
        return dz, dh0, dc, dw_hh, dw_hr, None


class LSTM(RecurrentBase):
    """From-scratch ``torch.nn.LSTM`` (same arguments, state_dict and outputs).

    Args: ``input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, proj_size=0``.

    ``forward(x, (h_0, c_0)=None) -> (output, (h_n, c_n))`` with ``x``
    (T, B, I) (or (B, T, I) with ``batch_first``, or unbatched (T, I)),
    ``h`` (L*D, B, H_out), ``c`` (L*D, B, H), ``output`` (T, B, D*H_out).
    """

    gate_count = 4
    state_is_tuple = True
    cell_name = "lstm"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)

    def _run_fused(self, x, state, p, reverse):
        h0, c0 = state
        H = self.hidden_size
        b = to_internal(add_bias(p["b_ih"], p["b_hh"]), H)
        xw = proj_in(x, to_internal(p["w_ih"], H), b)
        out, hT, cT = _LSTMSeq.apply(xw, h0, c0, to_internal(p["w_hh"], H), p["w_hr"], reverse)
        return out, (hT, cT)

    def _run_steps(self, x, state, p, reverse, rec: Optional[dict]):
        h, c = state
        xw = proj_in(x, p["w_ih"], add_bias(p["b_ih"], p["b_hh"]))
        xs = xw.unbind(0)
        w_hh_t = p["w_hh"].t()
        w_hr = p["w_hr"]
        outs = []
        for t in time_order(len(xs), reverse):
            z = torch.addmm(xs[t], h, w_hh_t)           # W_ih x_t + b + W_hh h_{t-1}
            zi, zf, zg, zo = z.chunk(4, 1)
            i, f, g, o = zi.sigmoid(), zf.sigmoid(), zg.tanh(), zo.sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
            if w_hr is not None:
                h = h @ w_hr.t()
            outs.append(h)
            record(rec, i=i, f=f, g=g, o=o, c=c, h=h)
        if rec is not None:
            rec["h_steps"] = list(outs)
        if reverse:
            outs.reverse()
        return torch.stack(outs, 0), (h, c)
