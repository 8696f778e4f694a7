"""GRU, a drop-in replacement for :class:`torch.nn.GRU`.

Equations (layer ``k``, one direction; gate rows in torch's order r, z, n)::

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh   (W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

Shapes: ``weight_ih`` (3H, I_k) = [W_ir; W_iz; W_in], ``weight_hh`` (3H, H),
``bias_ih``/``bias_hh`` (3H,), ``x_t`` (B, I_k), ``h_t`` (B, H).

Speed: ``W_ih x_t + b_ih`` for all steps is one matmul, ``W_hh h + b_hh`` one
matmul per step; the recurrence is one :class:`torch.autograd.Function` with
a hand-written BPTT (``a_n`` is the pre-activation of ``n``)::

    dz_z = dh_t * (h_{t-1} - n_t) * z(1-z)     da_n = dh_t * (1-z) * (1-n^2)
    dz_r = da_n * (W_hn h_{t-1} + b_hn) * r(1-r)
    d(W_hh h + b_hh) = [dz_r, dz_z, da_n * r]
    dh_{t-1} += dh_t * z_t + d(W_hh h + b_hh) W_hh
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .base import RecurrentBase, proj_in, record, shift_prev, time_order

__all__ = ["GRU"]


def gru_bwd_factors(rz: Tensor, n: Tensor, ghn: Tensor, h_prev: Tensor):
    """Gradient-independent factors for all steps: ``PZN`` (T,B,2H) with
    ``[dz_z, da_n] = dh * PZN`` and ``P_r`` with ``dz_r = da_n * P_r``."""
    T, B, H2 = rz.shape
    H = H2 // 2
    r, z = rz[..., :H], rz[..., H:]
    ds = rz - rz * rz
    PZN = rz.new_empty((T, B, 2 * H))
    torch.mul(h_prev - n, ds[..., H:], out=PZN[..., :H])
    torch.mul(1 - z, 1 - n * n, out=PZN[..., H:])
    P_r = ghn * ds[..., :H]
    return PZN, P_r, r, z


class _GRUSeq(torch.autograd.Function):
    """Recurrence of one layer/direction.  ``xw`` (T,B,3H) = ``W_ih x_t + b_ih``."""

    @staticmethod
    def forward(ctx, xw, h0, w_hh, b_hh, reverse: bool):
        T, B, G = xw.shape
        H = G // 3
        gh = xw.new_empty((T, B, G))
        rz = xw.new_empty((T, B, 2 * H))
        n = xw.new_empty((T, B, H))
        out = xw.new_empty((T, B, H))
        xs, ghs, rzs, ns, outs = (a.unbind(0) for a in (xw, gh, rz, n, out))
        w_t = w_hh.t()
        h = h0
        for t in time_order(T, reverse):
            if b_hh is None:
                g = torch.mm(h, w_t, out=ghs[t])
            else:
                g = torch.addmm(b_hh, h, w_t, out=ghs[t])
            x = xs[t]
            s = torch.add(x[:, : 2 * H], g[:, : 2 * H], out=rzs[t]).sigmoid_()
            nt = torch.addcmul(x[:, 2 * H:], s[:, :H], g[:, 2 * H:], out=ns[t]).tanh_()
            h = torch.lerp(nt, h, s[:, H:], out=outs[t])   # n + z * (h - n)
        ctx.save_for_backward(h0, w_hh, b_hh, gh, rz, n, out)
        ctx.reverse = reverse
        return out, h.clone()

    @staticmethod
    def backward(ctx, d_out, d_hT):
        h0, w_hh, b_hh, gh, rz, n, out = ctx.saved_tensors
        reverse = ctx.reverse
        T, B, G = gh.shape
        H = G // 3
        h_prev = shift_prev(out, h0, reverse)
        PZN, P_r, r, z = gru_bwd_factors(rz, n, gh[..., 2 * H:], h_prev)
        dx = torch.empty_like(gh)       # grad wrt W_ih x + b_ih : [dz_r, dz_z, da_n]
        dg = torch.empty_like(gh)       # grad wrt W_hh h + b_hh : [dz_r, dz_z, da_n*r]
        dhs = torch.empty_like(out)
        dxs, dgs, dhl, dos = dx.unbind(0), dg.unbind(0), dhs.unbind(0), d_out.unbind(0)
        PZNs, Prs, rs, zs = PZN.unbind(0), P_r.unbind(0), r.unbind(0), z.unbind(0)
        order = list(time_order(T, not reverse))
        torch.add(dos[order[0]], d_hT, out=dhl[order[0]])
        dh0 = None
        for k, t in enumerate(order):
            dh = dhl[t]
            dxt, dgt = dxs[t], dgs[t]
            torch.mul(dh.unsqueeze(1), PZNs[t].view(B, 2, H), out=dxt[:, H:].view(B, 2, H))
            dan = dxt[:, 2 * H:]
            torch.mul(dan, Prs[t], out=dxt[:, :H])
            dgt[:, : 2 * H].copy_(dxt[:, : 2 * H])
            torch.mul(dan, rs[t], out=dgt[:, 2 * H:])
            if k + 1 < T:
                nxt = order[k + 1]
                torch.addmm(torch.addcmul(dos[nxt], dh, zs[t]), dgt, w_hh, out=dhl[nxt])
            else:
                dh0 = torch.addmm(dh * zs[t], dgt, w_hh)
        dw_hh = torch.mm(dg.view(T * B, G).t(), h_prev.reshape(T * B, H))
        db_hh = dg.sum((0, 1)) if b_hh is not None else None
        return dx, dh0, dw_hh, db_hh, None


class GRU(RecurrentBase):
    """From-scratch ``torch.nn.GRU`` (same arguments, state_dict and outputs).

    Args: ``input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False``.

    ``forward(x, h_0=None) -> (output, h_n)`` with ``x`` (T, B, I) (or
    (B, T, I) with ``batch_first``, or unbatched (T, I)), ``h`` (L*D, B, H),
    ``output`` (T, B, D*H).
    """

    gate_count = 3
    cell_name = "gru"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device=device, dtype=dtype)

    def _run_fused(self, x, h0, p, reverse):
        xw = proj_in(x, p["w_ih"], p["b_ih"])
        return _GRUSeq.apply(xw, h0, p["w_hh"], p["b_hh"], reverse)

    def _run_steps(self, x, h, p, reverse, rec: Optional[dict]):
        H = self.hidden_size
        xw = proj_in(x, p["w_ih"], p["b_ih"])
        xs = xw.unbind(0)
        w_hh_t, b_hh = p["w_hh"].t(), p["b_hh"]
        outs = []
        for t in time_order(len(xs), reverse):
            gh = h @ w_hh_t if b_hh is None else torch.addmm(b_hh, h, w_hh_t)
            gx = xs[t]
            r = torch.sigmoid(gx[:, :H] + gh[:, :H])
            z = torch.sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
            n = torch.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
            h = (1 - z) * n + z * h
            outs.append(h)
            record(rec, r=r, z=z, n=n, h=h)
        if rec is not None:
            rec["h_steps"] = list(outs)
        if reverse:
            outs.reverse()
        return torch.stack(outs, 0), h
