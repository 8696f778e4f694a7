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

Speed (the fused path, :func:`lstm_forward` / :func:`lstm_backward`): one
autograd node per layer and direction with a hand-written BPTT.  Inside, every per-step
tensor is feature-major, (features, B), so gate blocks are contiguous rows and
all pointwise ops run on contiguous memory.  The gate rows are rotated to the
internal order (o, i, f, g) (a ``roll`` of the weights, invisible in the
state_dict) so the three sigmoid gates are one block.  The input projection is
folded into the recurrent matmul: a slot buffer holds ``[h_{t-1}; x_t; 1]``
and one matmul with ``[W_hh | W_ih | b_ih + b_hh]`` gives all four gates of a
step (for the small inputs of this lab that is cheaper than a separate
whole-sequence projection, which needs a transposing copy into this layout).
The forward also computes the factors of the pointwise backward (for small
steps all at once after its loop, for large ones per step; see
:class:`LSTMPointwise`), so the backward step is::

    dc_t += dh_t K_t                               K   = o (1 - tanh(c)^2)
    dz = [dh_t P_o, dc_t P_i, dc_t P_f, dc_t P_g]  P_o = tanh(c) o(1-o), P_i = g i(1-i),
    dc_{t-1} = dc_t f_t                            P_f = c_{t-1} f(1-f), P_g = i (1-g^2)
    dh_{t-1} += W_hh^T dz ;   d[W_hh | W_ih | b] += dz [h_{t-1}; x_t; 1]^T

The step-by-step autograd version of the equations above is ``_run_steps``
(used by ``trace_cell`` and with ``module.fused = False``).

Both loops (forward and backward, without ``proj_size``) also exist compiled
(:mod:`rnntui.cells.native`): the same buffers and matmuls, the pointwise part
of a step in one vectorised pass; they run instead of the Python loops below
whenever the compiled library is loaded.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from rnntui.config.keys import Key

from . import native
from .spec import CellSpec, Gate
from .base import RecurrentBase
from .kernels import (add_bias, gc_paused, in_time_order, input_slots, proj_in, read_slots, record,
                      slot_order, time_order)

__all__ = ["LSTM", "LSTMPointwise", "to_internal", "from_internal", "VECTOR_FACTORS_MAX"]

#: largest H*B whose backward factors are computed after the forward loop
#: (all steps at once); above it they are computed per step, in cache.
VECTOR_FACTORS_MAX = 2048

SPEC = CellSpec(
    name="lstm", cls="LSTM", title="LSTM",
    gates=(Gate("i", "input gate"), Gate("f", "forget gate"), Gate("g", "cell candidate", False),
           Gate("o", "output gate")),
    state=("h", "c"), builtin="LSTM", cost=4.0,
    options=(Key("proj_size", int, 0, "LSTM output projection size (0 = none)", lo=0),
             Key("forget_bias", float, None, "forget-gate bias at init (none = the init scheme's own)",
                 lo=-100.0, hi=100.0, optional=True)),
    init_schemes=("default", "normal", "chrono"),
    compiled_loop=True,
)


def to_internal(w: Optional[Tensor], H: int) -> Optional[Tensor]:
    """torch gate order (i, f, g, o) -> internal order (o, i, f, g) (rows)."""
    return None if w is None else torch.roll(w, H, 0)


def from_internal(w: Tensor, H: int) -> Tensor:
    """internal gate order (o, i, f, g) -> torch order (i, f, g, o) (rows;
    returns a new contiguous tensor)."""
    return torch.roll(w, -H, 0)


class LSTMPointwise:
    """The pointwise part of an LSTM step, feature-major, shared by LSTM and
    mLSTM.  ``E`` is a (T+1, 5H, B) slot buffer (see :func:`slot_order`); a
    slot holds ``[z_o; z_i; z_f; z_g; c_prev]`` (internal gate order o, i, f,
    g), the pre-activations being written by the step's matmul.

    Forward (``step``), with h~ = o tanh(c), ig = i g, fc = f c_{t-1}::

        o, i, f = sigmoid(z_o, z_i, z_f);  g = tanh(z_g)
        [ig, fc] = [i, f] * [g, c_{t-1}];  c_t = ig + fc;  h~_t = o tanh(c_t)

    The factors of the pointwise backward are computed for all steps at once
    after the loop by :meth:`factors` (whole-sequence ops instead of four small
    ones per step) when a step is small (``H*B <= VECTOR_FACTORS_MAX``), and
    in ``step`` while the step's data is in cache otherwise::

        P_o = h~ - h~ o   (= tanh(c) o (1-o))     K   = o - h~ tanh(c)  (= o (1-tanh(c)^2))
        P_i = ig - ig i   (= g i (1-i))           P_f = fc - fc f       (= c_{t-1} f (1-f))
        P_g = i - ig g    (= i (1-g^2))

    Backward (``bwd_step``): ``dc += dh K;  dz = [dh P_o, dc P_i, dc P_f, dc P_g];
    dc_{t-1} = dc f``.
    """

    def __init__(self, E: Tensor, need_grad: bool, FB: Optional[Tensor] = None,
                 K: Optional[Tensor] = None, views: bool = True) -> None:
        T1, G5, B = E.shape
        T, H = T1 - 1, G5 // 5
        e5 = E.view(T1, 5, H, B)
        self.E = E
        if FB is not None:                      # backward: factors and f only
            self.F = e5[:, 2].unbind(0)
            self.FBo, self.FBr, self.Ks = FB[:, 0].unbind(0), FB[:, 1:].unbind(0), K.unbind(0)
            return
        self.need_grad = need_grad
        self.FB = self.K = None
        # Where the backward factors are computed: per step while the step is
        # in cache (large steps), or for all steps at once after the loop
        # (small steps, where the per-step cost is op dispatch, not memory).
        # Measured crossover on one CPU thread: H*B between 2048 and 4096.
        # The compiled loop (views=False) always computes them in its step.
        self.in_loop = need_grad and (H * B > VECTOR_FACTORS_MAX or not views)
        if self.in_loop:
            self.FB = E.new_empty((T, 4, H, B))        # [P_o, P_i, P_f, P_g]
            self.K = E.new_empty((T, H, B))
        if not views:                                  # the compiled loop makes its own
            return
        self.xb = E.new_empty((2, H, B))               # [ig, fc] of the current step
        self.tc = E.new_empty((H, B))                  # tanh(c_t) of the current step
        self.Z = E[:, : 4 * H].unbind(0)
        self.S3, self.O, self.Gg, self.C, self.IF, self.GC = (
            e5[:, :3].unbind(0), e5[:, 0].unbind(0), e5[:, 3].unbind(0),
            e5[:, 4].unbind(0), e5[:, 1:3].unbind(0), e5[:, 3:].unbind(0))
        self.ig, self.fc = self.xb.unbind(0)
        if self.in_loop:
            self.I = e5[:, 1].unbind(0)
            self.FBo, self.FBif, self.FBg, self.Ks = (
                self.FB[:, 0].unbind(0), self.FB[:, 1:3].unbind(0), self.FB[:, 3].unbind(0),
                self.K.unbind(0))

    def step(self, t: int, r: int, w: int, h_out: Tensor) -> Tensor:
        """Step ``t`` reading slot ``r`` (gates, c_{t-1}); writes c_t into slot
        ``w`` and h~_t into ``h_out``."""
        self.S3[r].sigmoid_()
        g = self.Gg[r].tanh_()
        IF, o = self.IF[r], self.O[r]
        xb = torch.mul(IF, self.GC[r], out=self.xb)                    # [ig, fc]
        tc = torch.tanh(torch.add(self.ig, self.fc, out=self.C[w]), out=self.tc)
        hp = torch.mul(o, tc, out=h_out)
        if self.in_loop:
            addcmul = torch.addcmul
            addcmul(hp, hp, o, value=-1.0, out=self.FBo[t])
            addcmul(xb, xb, IF, value=-1.0, out=self.FBif[t])
            addcmul(o, hp, tc, value=-1.0, out=self.Ks[t])
            addcmul(self.I[r], self.ig, g, value=-1.0, out=self.FBg[t])
        return hp

    def factors(self, hp: Tensor, reverse: bool) -> None:
        """After the loop: the backward factors ``FB`` (T, 4, H, B) =
        [P_o, P_i, P_f, P_g] and ``K`` (T, H, B) of all steps (time order),
        from the activations and states in ``E``; ``hp`` (T, H, B) holds h~_t
        in time order.  ``[ig, fc]`` and ``tanh(c_t)`` are recomputed here for
        all steps at once (cheaper than a per-step store: no per-step views)."""
        if not self.need_grad or self.in_loop:
            return
        T, H, B = hp.shape
        e5 = read_slots(self.E, reverse).view(T, 5, H, B)
        o, IF, i, g = e5[:, 0], e5[:, 1:3], e5[:, 1], e5[:, 3]
        c = in_time_order(self.E, reverse).view(T, 5, H, B)[:, 4]
        XB = torch.mul(IF, e5[:, 3:])                  # [ig, fc] of every step
        addcmul = torch.addcmul
        self.FB = FB = XB.new_empty((T, 4, H, B))
        self.K = XB.new_empty((T, H, B))
        addcmul(hp, hp, o, value=-1.0, out=FB[:, 0])
        addcmul(XB, XB, IF, value=-1.0, out=FB[:, 1:3])
        addcmul(o, hp, torch.tanh(c), value=-1.0, out=self.K)
        addcmul(i, XB[:, 0], g, value=-1.0, out=FB[:, 3])

    def bwd_step(self, t: int, r: int, dh: Tensor, dc: Tensor, dz_o: Tensor,
                 dz_r: Tensor) -> Tensor:
        """Writes dL/dz_o into ``dz_o`` and dL/dz_{i,f,g} into ``dz_r``
        (3, H, B); returns dL/dc_{t-1}."""
        dc = torch.addcmul(dc, dh, self.Ks[t])
        torch.mul(dh, self.FBo[t], out=dz_o)
        torch.mul(dc, self.FBr[t], out=dz_r)
        return torch.mul(dc, self.F[r])


@gc_paused
def lstm_forward(x: Tensor, wcat: Tensor, h0: Tensor, c0: Tensor, w_hr: Optional[Tensor],
                 reverse: bool, need_grad: bool):
    """One LSTM layer/direction, forward.

    x (T,B,I);  wcat (4H, H_out + I (+1)) = [W_hh | W_ih | b] with the gate
    rows in the internal order (o, i, f, g), b = b_ih + b_hh (the column is
    absent without biases);  w_hr (P, H) or None;  need_grad: also store the
    factors of the pointwise backward.  Returns ``(out, h_T, c_T)`` and the
    tensors :func:`lstm_backward` needs.

    Every per-step tensor is feature-major, (features, B).  A slot buffer
    ``HX`` (T+1, H_out + I (+1), B) holds ``[h_{t-1}; x_t; 1]`` for each step:
    one matmul ``z = wcat @ HX_slot`` per step gives all four gates including
    the input projection and the bias, each step writes its ``h_t`` into the
    next slot, and the backward accumulates ``dW += dz HX_slot^T`` — the
    gradients of W_hh, W_ih and b in one matmul.
    """
    T, B, I = x.shape
    G, Hin = wcat.shape
    H = G // 4
    H_out = h0.shape[-1]
    R, W, first = slot_order(T, reverse)
    HX = input_slots(x, h0, Hin, first, reverse)
    E = x.new_empty((T + 1, 5 * H, B))
    E[first, 4 * H:] = c0.t()
    ops = native.loops_for(x) if w_hr is None else None
    pw = LSTMPointwise(E, need_grad, views=ops is None)
    HP = None
    if ops is not None:                                 # the loop below, compiled
        none = x.new_empty(0)
        ops.lstm_forward_loop(wcat, HX, E, none if pw.FB is None else pw.FB,
                              none if pw.K is None else pw.K, reverse, need_grad)
    else:
        HXs, HXh, Z = HX.unbind(0), HX[:, :H_out].unbind(0), pw.Z
        if w_hr is not None:
            HP = x.new_empty((T, H, B))
            HPs = HP.unbind(0)
    mm, step = torch.mm, pw.step
    for t in (() if ops is not None else range(T) if not reverse else range(T - 1, -1, -1)):
        r, w = R[t], W[t]
        mm(wcat, HXs[r], out=Z[r])                      # z = W_hh h + W_ih x + b
        if w_hr is None:
            step(t, r, w, HXh[w])
        else:
            mm(w_hr, step(t, r, w, HPs[t]), out=HXh[w])
    pw.factors(in_time_order(HX, reverse)[:, :H] if HP is None else HP, reverse)
    out = in_time_order(HX, reverse)[:, :H_out].transpose(1, 2).contiguous()
    last = W[T - 1] if not reverse else W[0]
    hT = HX[last, :H_out].t().contiguous()
    cT = E[last, 4 * H:].t().contiguous()
    return (out, hT, cT), (wcat, HX, E, pw.FB, pw.K, HP)


@gc_paused
def lstm_backward(saved: tuple, w_hr: Optional[Tensor], reverse: bool, I: int, need_dx: bool,
                  d_out: Tensor, d_hT: Tensor, d_cT: Tensor):
    """BPTT of :func:`lstm_forward` -> ``(dx, dwcat, dh0, dc0, dw_hr)``, with
    ``dx`` (T,B,I) and ``dwcat`` in wcat's layout."""
    wcat, HX, E, FB, K, HP = saved
    G, Hin = wcat.shape
    H = G // 4
    T, B = HX.shape[0] - 1, HX.shape[2]
    H_out = w_hr.shape[0] if w_hr is not None else H
    R, W, first = slot_order(T, reverse)
    DH = HX.new_empty((T, H_out, B))               # dL/dh_t, feature-major
    DH.copy_(d_out.transpose(1, 2))
    DH[T - 1 if not reverse else 0].add_(d_hT.t())
    dc = d_cT.t()
    dW = HX.new_zeros((G, Hin))
    ops = native.loops_for(HX) if w_hr is None else None
    if ops is not None:                                 # the loop below, compiled
        DX = HX.new_empty((T, B, I)) if need_dx else None
        dh0, dc = ops.lstm_backward_loop(wcat, HX, E, FB, K, DH, dc, dW, DX, I, reverse)
        return DX, dW, dh0, dc.t().contiguous(), None
    DHs = DH.unbind(0)
    dz = HX.new_empty((G, B))                      # dL/dz of the current step
    dz_o, dz_r = dz[:H], dz.view(4, H, B)[1:]
    dz_t = dz.t()
    if need_dx:
        w_ih = wcat[:, H_out:H_out + I]
        DX = HX.new_empty((T, B, I))
        DXs = DX.unbind(0)
    pw = LSTMPointwise(E, True, FB, K)
    HXs = HX.unbind(0)
    w_hh = wcat[:, :H_out]
    w_hh_t = w_hh.t().contiguous()
    if w_hr is not None:
        w_hr_t = w_hr.t().contiguous()
        dw_hr = torch.zeros_like(w_hr)
        HPs = HP.unbind(0)
    dh0 = None
    bwd_step = pw.bwd_step
    for t in range(T - 1, -1, -1) if not reverse else range(T):
        r = R[t]
        dh = DHs[t]
        if w_hr is not None:
            dw_hr.addmm_(dh, HPs[t].t())
            dh = torch.mm(w_hr_t, dh)
        dc = bwd_step(t, r, dh, dc, dz_o, dz_r)
        dW.addmm_(dz, HXs[r].t())                  # dW_hh, dW_ih, db
        if need_dx:
            torch.mm(dz_t, w_ih, out=DXs[t])       # dL/dx_t = dz^T W_ih
        if t != (0 if not reverse else T - 1):
            DHs[t - 1 if not reverse else t + 1].addmm_(w_hh_t, dz)   # += W_hh^T dz
        else:
            dh0 = torch.mm(dz_t, w_hh)
    return (DX if need_dx else None), dW, dh0, dc.t().contiguous(), (
        dw_hr if w_hr is not None else None)


class LSTM(RecurrentBase, spec=SPEC):
    """From-scratch ``torch.nn.LSTM`` (same arguments, state_dict and outputs).

    Args: ``input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, proj_size=0``.

    ``forward(x, (h_0, c_0)=None) -> (output, (h_n, c_n))`` with ``x``
    (T, B, I) (or (B, T, I) with ``batch_first``, or unbatched (T, I)),
    ``h`` (L*D, B, H_out), ``c`` (L*D, B, H), ``output`` (T, B, D*H_out).
    """


    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)

    def _fused_forward(self, x, state, p, reverse, need_grad):
        h0, c0 = state
        b = add_bias(p["b_ih"], p["b_hh"])
        parts = [p["w_hh"], p["w_ih"]] + ([] if b is None else [b.unsqueeze(1)])
        wcat = to_internal(torch.cat(parts, 1), self.hidden_size)     # [W_hh | W_ih | b]
        return lstm_forward(x, wcat, h0, c0, p["w_hr"], reverse, need_grad)

    def _fused_backward(self, saved, x, state, p, reverse, need_dx, grads):
        H, H_out, I = self.hidden_size, state[0].shape[-1], x.shape[-1]
        dx, dW, dh0, dc0, dw_hr = lstm_backward(saved, p["w_hr"], reverse, I, need_dx, *grads)
        dp = {"w_hh": from_internal(dW[:, :H_out], H),
              "w_ih": from_internal(dW[:, H_out:H_out + I], H), "w_hr": dw_hr}
        if p["b_ih"] is not None:
            db = from_internal(dW[:, -1], H)
            dp.update(b_ih=db, b_hh=db.clone())
        return dx, (dh0, dc0), dp

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
