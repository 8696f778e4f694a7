"""GRU, a drop-in replacement for :class:`torch.nn.GRU`.

Equations (layer ``k``, one direction; gate rows in torch's order r, z, n)::

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh   (W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

Shapes: ``weight_ih`` (3H, I_k) = [W_ir; W_iz; W_in], ``weight_hh`` (3H, H),
``bias_ih``/``bias_hh`` (3H,), ``x_t`` (B, I_k), ``h_t`` (B, H).

Speed (the fused path, :func:`gru_forward` / :func:`gru_backward`): one
autograd node per layer and direction with a hand-written BPTT, feature-major inside like
the LSTM: a slot buffer holds ``[h_{t-1}; x_t; 1]`` and one matmul per step
with the block matrix ``[[W_hr W_ir b_r]; [W_hz W_iz b_z]; [W_hn 0 b_hn];
[0 W_in b_in]]`` gives ``a_r, a_z, W_hn h + b_hn, W_in x + b_in`` at once.
Backward per step (``a = dh (1 - z)``)::

    da_n = a (1 - n^2)        da_z = a z (h_{t-1} - n)
    dghn = da_n r             da_r = dghn ghn (1 - r)       (ghn = W_hn h + b_hn)
    dh_{t-1} += dh z + W_hh^T [da_r; da_z; dghn]
    d(block matrix) += [da_r; da_z; dghn; da_n] [h_{t-1}; x_t; 1]^T

Each row of ``[da_r; da_z; dghn; da_n]`` is ``dh`` times a factor of the
forward's values alone, so the factors of all steps are computed at once
before the loop and one multiply per step remains (four ops per backward
step, five with ``dx``, instead of thirteen).

The step-by-step autograd version is ``_run_steps`` (``trace_cell``,
``module.fused = False``).  Both loops also exist compiled
(:mod:`rnntui.cells.native`), used whenever the compiled library is loaded.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from . import native
from .spec import CellSpec, Gate
from .base import RecurrentBase
from .checks import reject_proj_size
from .kernels import (gc_paused, in_time_order, input_slots, proj_in, read_slots, record,
                      slot_order, time_order)

__all__ = ["GRU", "GRUPointwise", "gru_wcat", "gru_input_grads"]

SPEC = CellSpec(
    name="gru", cls="GRU", title="GRU",
    gates=(Gate("r", "reset gate"), Gate("z", "update gate"), Gate("n", "candidate state", False)),
    state=("h",), builtin="GRU", cost=3.0, init_schemes=("default", "normal", "chrono"),
    compiled_loop=True,
)


class GRUPointwise:
    """The pointwise part of a GRU step, feature-major, shared by GRU and mGRU.

    ``E`` is a (T, 4H, B) buffer whose step-``t`` block holds, after the
    step's matmul, the pre-activations ``[a_r; a_z; W_hn h + b_hn; W_in x + b_in]``::

        r, z = sigmoid(a_r, a_z);  n = tanh(W_in x + b_in + r (W_hn h + b_hn))
        h_t = n + z (h_{t-1} - n)

    Backward: every row of ``dG = [da_r; da_z; dghn; da_n]`` is ``dh`` times a
    factor that does not depend on ``dh``, so :meth:`factors` computes them for
    all steps at once before the loop and a backward step is one multiply
    ``dG = F_t ⊙ dh`` (``dh_{t-1} += dh z + W_hh^T dG[:3H]``, done by the caller)::

        F_n = (1 - z)(1 - n^2)    F_z = (1 - z) z (h_{t-1} - n)
        F_g = F_n r               F_r = F_g ghn (1 - r)          (ghn = W_hn h + b_hn)
    """

    def __init__(self, E: Tensor, N: Tensor) -> None:
        T, G, B = E.shape
        H = G // 4
        e4 = E.view(T, 4, H, B)
        self.RZ, self.R, self.Z, self.GHN, self.GXN = (
            E[:, : 2 * H].unbind(0), e4[:, 0].unbind(0), e4[:, 1].unbind(0),
            e4[:, 2].unbind(0), e4[:, 3].unbind(0))
        self.E, self.Nall, self.N = E, N, N.unbind(0)

    def step(self, t: int, h_prev: Tensor, h_out: Tensor) -> Tensor:
        self.RZ[t].sigmoid_()
        n = torch.addcmul(self.GXN[t], self.R[t], self.GHN[t], out=self.N[t]).tanh_()
        return torch.lerp(n, h_prev, self.Z[t], out=h_out)

    def factors(self, h_prev: Tensor) -> Tensor:
        """(T, 4, H, B) backward factors ``[F_r; F_z; F_g; F_n]`` of all steps;
        ``h_prev`` (T, H, B) is the state each step read, in time order."""
        E = self.E
        T, G, B = E.shape
        H = G // 4
        e4 = E.view(T, 4, H, B)
        r, z, ghn, n = e4[:, 0], e4[:, 1], e4[:, 2], self.Nall
        F = E.new_empty((T, 4, H, B))
        f_r, f_z, f_g, f_n = F.unbind(1)
        omz = torch.rsub(z, 1.0)                                    # 1 - z
        torch.addcmul(omz, omz * n, n, value=-1.0, out=f_n)         # (1 - z)(1 - n^2)
        torch.mul(omz * z, h_prev - n, out=f_z)
        torch.mul(f_n, r, out=f_g)
        v = f_g * ghn
        torch.addcmul(v, v, r, value=-1.0, out=f_r)                 # F_g ghn (1 - r)
        return F


@gc_paused
def gru_forward(x: Tensor, wcat: Tensor, h0: Tensor, reverse: bool, need_grad: bool = True):
    """One GRU layer/direction, forward: x (T,B,I);  wcat (4H, H + I (+1)), the
    block matrix of :func:`gru_wcat`.  Returns ``(out, h_T)`` and the tensors
    :func:`gru_backward` needs.

    Feature-major inside, with the same ``[h_{t-1}; x_t; 1]`` slot buffer as
    the LSTM: one matmul per step gives all pre-activations, one per step in
    the backward accumulates all weight gradients.  The compiled loop
    (:mod:`rnntui.cells.native`) also computes the backward factors ``F`` in
    its step (with ``need_grad``); the Python loop leaves them to the backward.
    """
    T, B, I = x.shape
    G, Hin = wcat.shape
    H = G // 4
    R, W, first = slot_order(T, reverse)
    HX = input_slots(x, h0, Hin, first, reverse)
    E = x.new_empty((T, G, B))
    N = x.new_empty((T, H, B))
    F = None
    ops = native.loops_for(x)
    if ops is not None:                                 # the loop below, compiled
        F = x.new_empty((T, 4, H, B)) if need_grad else x.new_empty(0)
        ops.gru_forward_loop(wcat, HX, E, N, F, reverse, need_grad)
        F = F if need_grad else None
    else:
        pw = GRUPointwise(E, N)
        HXs, HXh, Es = HX.unbind(0), HX[:, :H].unbind(0), E.unbind(0)
        for t in range(T) if not reverse else range(T - 1, -1, -1):
            r, w = R[t], W[t]
            torch.mm(wcat, HXs[r], out=Es[t])
            pw.step(t, HXh[r], HXh[w])
    out = in_time_order(HX, reverse)[:, :H].transpose(1, 2).contiguous()
    hT = HX[W[T - 1] if not reverse else W[0], :H].t().contiguous()
    return (out, hT), (wcat, HX, E, N) + ((F,) if F is not None else ())


@gc_paused
def gru_backward(saved: tuple, reverse: bool, I: int, need_dx: bool, d_out: Tensor,
                 d_hT: Tensor):
    """BPTT of :func:`gru_forward` -> ``(dx, dwcat, dh0)``, ``dx`` (T,B,I).

    Per step only ``dG = F_t ⊙ dh`` (factors from :meth:`GRUPointwise.factors`)
    and ``dh_{t-1} += dh z + W_hh^T dG[:3H]``, then ``dW += dG [h_{t-1}; x_t; 1]^T``
    (one matmul over all steps after the loop measured slower here: its long
    inner dimension and the transposing copies cost more than the T calls)."""
    wcat, HX, E, N = saved[:4]
    F = saved[4] if len(saved) > 4 else None      # the factors, when the forward made them
    G, Hin = wcat.shape
    H = G // 4
    T, B = E.shape[0], E.shape[2]
    R, W, first = slot_order(T, reverse)
    DH = HX.new_empty((T, H, B))
    DH.copy_(d_out.transpose(1, 2))
    DH[T - 1 if not reverse else 0].add_(d_hT.t())
    dW = HX.new_zeros((G, Hin))
    ops = native.loops_for(HX) if F is not None else None
    if ops is not None:                                 # the loop below, compiled
        DX = HX.new_empty((T, B, I)) if need_dx else None
        dh0 = ops.gru_backward_loop(wcat, HX, E, F, DH, dW, DX, I, reverse)
        return DX, dW, dh0
    DHs = DH.unbind(0)
    pw = GRUPointwise(E, N)
    if F is None:
        F = pw.factors(read_slots(HX, reverse)[:, :H])
    Fs = F.unbind(0)
    dG = HX.new_empty((4, H, B))                    # dL/d[a_r; a_z; ghn; a_n] of the step
    dGf, dG3 = dG.view(G, B), dG.view(G, B)[: 3 * H]
    HXs = HX.unbind(0)
    Zs = pw.Z
    w_h = wcat[: 3 * H, :H]                         # W_hh
    w_h_t = w_h.t().contiguous()
    if need_dx:
        w_x = wcat[:, H:H + I]                      # [W_ir; W_iz; 0; W_in]
        DX = HX.new_empty((T, B, I))
        DXs = DX.unbind(0)
    mul, last = torch.mul, (0 if not reverse else T - 1)
    dh0 = None
    for t in range(T - 1, -1, -1) if not reverse else range(T):
        dh = DHs[t]
        mul(Fs[t], dh, out=dG)
        dW.addmm_(dGf, HXs[R[t]].t())
        if need_dx:
            torch.mm(dGf.t(), w_x, out=DXs[t])
        if t != last:
            DHs[t - 1 if not reverse else t + 1].addcmul_(dh, Zs[t]).addmm_(w_h_t, dG3)
        else:
            dh0 = torch.addmm((dh * Zs[t]).t(), dG3.t(), w_h)
    return (DX if need_dx else None), dW, dh0


def gru_wcat(w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor], b_hh: Optional[Tensor]):
    """The (4H, H + I (+1)) block matrix ``[[W_hr W_ir b_r]; [W_hz W_iz b_z];
    [W_hn 0 b_hn]; [0 W_in b_in]]`` (``b_r = b_ir + b_hr`` etc.; no bias column
    without biases)."""
    H = w_hh.shape[1]
    I = w_ih.shape[1]
    zHI, zHH = w_ih.new_zeros((H, I)), w_hh.new_zeros((H, H))
    cols_h = torch.cat([w_hh, zHH], 0)                              # (4H, H)
    cols_x = torch.cat([w_ih[: 2 * H], zHI, w_ih[2 * H:]], 0)       # (4H, I)
    parts = [cols_h, cols_x]
    if b_ih is not None:
        b = torch.cat([b_ih[: 2 * H] + b_hh[: 2 * H], b_hh[2 * H:], b_ih[2 * H:]])
        parts.append(b.unsqueeze(1))
    return torch.cat(parts, 1)


def gru_input_grads(dwx: Tensor, db: Optional[Tensor], H: int) -> dict:
    """The gradients of ``w_ih``, ``b_ih`` and ``b_hh`` from those of the x
    columns (4H, I) and the bias column (4H,) of :func:`gru_wcat`'s layout."""
    cat = torch.cat
    dp = {"w_ih": cat([dwx[: 2 * H], dwx[3 * H:]])}
    if db is not None:
        dp.update(b_ih=cat([db[: 2 * H], db[3 * H:]]), b_hh=db[: 3 * H].contiguous())
    return dp


class GRU(RecurrentBase, spec=SPEC):
    """From-scratch ``torch.nn.GRU`` (same arguments, state_dict and outputs).

    Args: ``input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False``.

    ``forward(x, h_0=None) -> (output, h_n)`` with ``x`` (T, B, I) (or
    (B, T, I) with ``batch_first``, or unbatched (T, I)), ``h`` (L*D, B, H),
    ``output`` (T, B, D*H).
    """


    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None, **kwargs) -> None:
        reject_proj_size(kwargs, "RNN or GRU")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device=device, dtype=dtype)

    def _fused_forward(self, x, state, p, reverse, need_grad):
        wcat = gru_wcat(p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"])
        return gru_forward(x, wcat, state[0], reverse, need_grad)

    def _fused_backward(self, saved, x, state, p, reverse, need_dx, grads):
        I = x.shape[-1]
        H = self.hidden_size
        dx, dW, dh0 = gru_backward(saved, reverse, I, need_dx, *grads)
        dp = gru_input_grads(dW[:, H:H + I], dW[:, -1] if p["b_ih"] is not None else None, H)
        dp["w_hh"] = dW[: 3 * H, :H].contiguous()
        return dx, (dh0,), dp

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
