"""Benchmark: K trials of one grid point as K separate models vs one batched ensemble.

The K trials of an experiment's grid point differ only in their seed (initial
weights and data).  They can run one after another (K models, what the
experiment runner does) or as one *ensemble*: every parameter stacked along a
leading K axis, so that each time step is one ``torch.baddbmm`` for the K
recurrent matmuls, the input projection of all steps is one ``baddbmm``, and
the readout another.  One training step = forward + backward + Adam of a cell
with a linear readout and a cross-entropy loss on every time step (as
``bench/cells.py``), B sequences per member, each member on its own data.

Separate runs use the from-scratch cells (``backend=scratch``, their fused
kernels, the runner's default).  Two ensembles hold the same stacked
parameters, built from the separate models' initial weights: ``ens-autograd``
is the batched equations with ordinary autograd; ``ens-fused`` is the scratch
cells' fused kernels rewritten with ``bmm`` (one layer, one direction, zero
initial state: enough for the measurement).  Adam runs on the stacked tensors
(Adam is elementwise, so stacking does not change its update).  The script
checks that each ensemble's per-member losses equal the separate runs' within
1e-5 at every measured step, then prints ms per training step of all K
members and the gain (separate / ensemble), median of interleaved runs.

    python bench/ensemble.py [--cells gru,lstm] [--hidden 32,128] [--seq-len 100]
                             [--batch 32] [--k 3] [--repeats 5] [--steps 2]
                             [--threads 1] [--clock wall|cpu]

Measured decision (torch 2.13 CPU, 2 shared cores, ``--threads 1 --clock
cpu``, K=3, B=32, T=100, defaults otherwise; gain = separate / ensemble).
Before the compiled time loops (Python loops in the separate runs)::

    cell    H  separate  ens-autograd   gain  ens-fused   gain
    gru    32     63.25        189.20  0.33x      41.82  1.51x
    gru   128    152.89        739.39  0.21x     203.87  0.75x
    lstm   32     73.91        259.72  0.28x      45.55  1.62x
    lstm  128    246.76       1112.05  0.22x     283.15  0.87x

With them (:mod:`rnntui.cells.native`, 2026-11-30)::

    cell    H  separate  ens-autograd   gain  ens-fused   gain
    gru    32     18.89         74.61  0.25x      32.62  0.58x
    gru   128    108.31        781.04  0.14x     145.12  0.75x
    lstm   32     19.75         87.80  0.22x      29.18  0.68x
    lstm  128    102.38        882.40  0.12x     149.98  0.68x

(losses equal to the separate runs' within 4.8e-7 over 11 steps.)  Batching
paid only where a step was dominated by per-op overhead (H=32: 1.5-1.6x with
the fused batched kernels, against Python time loops); the compiled loops
removed that overhead, and separate runs are now faster at every measured size
(the batched ensemble 0.58-0.75x as fast).  So the experiment runner runs
trials as separate models and has no ensemble path.  Rerun this script to
revisit the decision (e.g. with more trials, ``--k``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from rnntui.cells import build_cell  # noqa: E402

GATES = {"gru": 3, "lstm": 4}


class Member(nn.Module):
    """One trial: a from-scratch cell and a linear readout."""

    def __init__(self, name: str, n_in: int, hidden: int) -> None:
        super().__init__()
        self.cell = build_cell(name, backend="scratch", input_size=n_in, hidden_size=hidden,
                               batch_first=False)
        self.readout = nn.Linear(hidden, n_in)

    def forward(self, x):
        out, _ = self.cell(x)
        return self.readout(out)


class Ensemble(nn.Module):
    """K members with stacked parameters: ``w_ih`` (K, G*H, I), ``w_hh``
    (K, G*H, H), ``b_ih``/``b_hh`` (K, 1, G*H), readout ``w_o`` (K, I, H),
    ``b_o`` (K, 1, I); G = 3 (GRU, rows r, z, n) or 4 (LSTM, rows i, f, g, o),
    torch's layouts.  ``forward(x)`` with ``x`` (K, T, B, I) -> logits
    (K, T, B, I).  Per step, batch-major (K, B, .)::

        GRU:  gh = b_hh + h W_hh^T;  r, z = sigmoid(xp_r + gh_r, xp_z + gh_z)
              n = tanh(xp_n + r gh_n);  h = n + z (h - n)
        LSTM: z = xp_t + h W_hh^T;  i, f, o = sigmoid(.), g = tanh(.)
              c = f c + i g;  h = o tanh(c)

    with ``xp = x W_ih^T + b_ih`` (+ ``b_hh`` for the LSTM) for all steps.
    """

    def __init__(self, name: str, members: list[Member]) -> None:
        super().__init__()
        self.name = name
        cells = [m.cell for m in members]
        stack = lambda ts: nn.Parameter(torch.stack([t.detach().clone() for t in ts]))  # noqa: E731
        self.w_ih = stack([c.weight_ih_l0 for c in cells])
        self.w_hh = stack([c.weight_hh_l0 for c in cells])
        self.b_ih = stack([c.bias_ih_l0.unsqueeze(0) for c in cells])
        self.b_hh = stack([c.bias_hh_l0.unsqueeze(0) for c in cells])
        self.w_o = stack([m.readout.weight for m in members])
        self.b_o = stack([m.readout.bias.unsqueeze(0) for m in members])

    def forward(self, x):
        K, T, B, I = x.shape
        H = self.w_hh.shape[-1]
        w_ih_t, w_hh_t = self.w_ih.transpose(1, 2), self.w_hh.transpose(1, 2)
        bias = self.b_ih if self.name == "gru" else self.b_ih + self.b_hh
        xp = torch.baddbmm(bias, x.reshape(K, T * B, I), w_ih_t).view(K, T, B, -1)
        h = x.new_zeros((K, B, H))
        c = x.new_zeros((K, B, H))
        outs = []
        for t in range(T):
            xt = xp[:, t]
            if self.name == "gru":
                gh = torch.baddbmm(self.b_hh, h, w_hh_t)
                rz = torch.sigmoid(xt[..., :2 * H] + gh[..., :2 * H])
                r, z = rz[..., :H], rz[..., H:]
                n = torch.tanh(xt[..., 2 * H:] + r * gh[..., 2 * H:])
                h = torch.lerp(n, h, z)
            else:
                g4 = torch.baddbmm(xt, h, w_hh_t)
                i, f, g, o = g4.chunk(4, -1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        hs = torch.stack(outs, 1).reshape(K, T * B, H)
        return torch.baddbmm(self.b_o, hs, self.w_o.transpose(1, 2)).view(K, T, B, I)


class _FusedGRU(torch.autograd.Function):
    """K GRUs over one sequence each, feature-major like the scratch kernels
    (:mod:`rnntui.cells.gru`) with ``bmm`` for the K matmuls of a step.
    ``x`` (T, K, I, B), ``wcat`` (K, 4H, H+I+1) the block matrix of
    :func:`rnntui.cells.gru.gru_wcat` per member -> h (T, K, H, B); h_0 = 0."""

    @staticmethod
    def forward(ctx, x, wcat):
        T, K, I, B = x.shape
        G, Hin = wcat.shape[1:]
        H = G // 4
        HX = x.new_empty((T + 1, K, Hin, B))            # [h_{t-1}; x_t; 1] per step
        HX[:T, :, H:H + I] = x
        HX[:T, :, H + I:] = 1.0
        HX[0, :, :H] = 0.0
        E = x.new_empty((T, K, G, B))
        N = x.new_empty((T, K, H, B))
        HXs, HXh, Es, Ns = HX.unbind(0), HX[:, :, :H].unbind(0), E.unbind(0), N.unbind(0)
        RZ, R, Z = E[:, :, :2 * H].unbind(0), E[:, :, :H].unbind(0), E[:, :, H:2 * H].unbind(0)
        GHN, GXN = E[:, :, 2 * H:3 * H].unbind(0), E[:, :, 3 * H:].unbind(0)
        for t in range(T):
            torch.bmm(wcat, HXs[t], out=Es[t])
            RZ[t].sigmoid_()
            n = torch.addcmul(GXN[t], R[t], GHN[t], out=Ns[t]).tanh_()
            torch.lerp(n, HXh[t], Z[t], out=HXh[t + 1])
        ctx.save_for_backward(wcat, HX, E, N)
        return HX[1:, :, :H].contiguous()

    @staticmethod
    def backward(ctx, dout):
        wcat, HX, E, N = ctx.saved_tensors
        T, K, G, B = E.shape
        H = G // 4
        r, z, ghn = E[:, :, :H], E[:, :, H:2 * H], E[:, :, 2 * H:3 * H]
        F_ = E.new_empty((T, K, 4, H, B))               # dG = F_t dh (see GRUPointwise)
        f_r, f_z, f_g, f_n = F_.unbind(2)
        omz = 1 - z
        torch.addcmul(omz, omz * N, N, value=-1.0, out=f_n)
        torch.mul(omz * z, HX[:T, :, :H] - N, out=f_z)
        torch.mul(f_n, r, out=f_g)
        v = f_g * ghn
        torch.addcmul(v, v, r, value=-1.0, out=f_r)
        DH = dout.contiguous().clone()
        DHs, Fs, Zs, HXs = DH.unbind(0), F_.unbind(0), z.unbind(0), HX.unbind(0)
        dW = torch.zeros_like(wcat)
        dG = E.new_empty((K, 4, H, B))
        dGf = dG.view(K, G, B)
        dG3 = dGf[:, :3 * H]
        w_h_t = wcat[:, :3 * H, :H].transpose(1, 2).contiguous()
        for t in range(T - 1, -1, -1):
            dh = DHs[t]
            torch.mul(Fs[t], dh.unsqueeze(1), out=dG)
            dW.baddbmm_(dGf, HXs[t].transpose(1, 2))
            if t:
                DHs[t - 1].addcmul_(dh, Zs[t]).baddbmm_(w_h_t, dG3)
        return None, dW


class _FusedLSTM(torch.autograd.Function):
    """K LSTMs, as :class:`_FusedGRU`: ``wcat`` (K, 4H, H+I+1) = [W_hh | W_ih |
    b_ih + b_hh] per member with the gate rows in the order (o, i, f, g)."""

    @staticmethod
    def forward(ctx, x, wcat):
        T, K, I, B = x.shape
        G, Hin = wcat.shape[1:]
        H = G // 4
        HX = x.new_empty((T + 1, K, Hin, B))
        HX[:T, :, H:H + I] = x
        HX[:T, :, H + I:] = 1.0
        HX[0, :, :H] = 0.0
        Z = x.new_empty((T, K, G, B))                   # gates (o, i, f, g), activated
        C = x.new_zeros((T + 1, K, H, B))               # c_{t-1} in slot t
        TC = x.new_empty((T, K, H, B))                  # tanh(c_t)
        FC = x.new_empty((K, H, B))
        HXs, HXh, Zs, Cs, TCs = (HX.unbind(0), HX[:, :, :H].unbind(0), Z.unbind(0), C.unbind(0),
                                 TC.unbind(0))
        S3, Gg = Z[:, :, :3 * H].unbind(0), Z[:, :, 3 * H:].unbind(0)
        O, Ii = Z[:, :, :H].unbind(0), Z[:, :, H:2 * H].unbind(0)
        Ff = Z[:, :, 2 * H:3 * H].unbind(0)
        for t in range(T):
            torch.bmm(wcat, HXs[t], out=Zs[t])
            S3[t].sigmoid_()
            g = Gg[t].tanh_()
            fc = torch.mul(Ff[t], Cs[t], out=FC)
            tc = torch.tanh(torch.addcmul(fc, Ii[t], g, out=Cs[t + 1]), out=TCs[t])
            torch.mul(O[t], tc, out=HXh[t + 1])
        ctx.save_for_backward(wcat, HX, Z, C, TC)
        return HX[1:, :, :H].contiguous()

    @staticmethod
    def backward(ctx, dout):
        wcat, HX, Z, C, TC = ctx.saved_tensors
        T, K, G, B = Z.shape
        H = G // 4
        o, i, f, g = Z[:, :, :H], Z[:, :, H:2 * H], Z[:, :, 2 * H:3 * H], Z[:, :, 3 * H:]
        hp = HX[1:, :, :H]
        Kf = o - hp * TC                                # o (1 - tanh(c)^2)
        P = Z.new_empty((T, K, 4, H, B))                # [P_o, P_i, P_f, P_g]
        ig = i * g
        fc = f * C[:T]
        torch.addcmul(hp, hp, o, value=-1.0, out=P[:, :, 0])
        torch.addcmul(ig, ig, i, value=-1.0, out=P[:, :, 1])
        torch.addcmul(fc, fc, f, value=-1.0, out=P[:, :, 2])
        torch.addcmul(i, ig, g, value=-1.0, out=P[:, :, 3])
        DH = dout.contiguous().clone()
        DHs, Ks, Pos, Prs, Fs, HXs = (DH.unbind(0), Kf.unbind(0), P[:, :, 0].unbind(0),
                                      P[:, :, 1:].unbind(0), f.unbind(0), HX.unbind(0))
        dW = torch.zeros_like(wcat)
        dz = Z.new_empty((K, 4, H, B))
        dzf, dz_o, dz_r = dz.view(K, G, B), dz[:, 0], dz[:, 1:]
        w_h_t = wcat[:, :, :H].transpose(1, 2).contiguous()
        dc = torch.zeros_like(DHs[0])
        for t in range(T - 1, -1, -1):
            dh = DHs[t]
            dc = torch.addcmul(dc, dh, Ks[t])
            torch.mul(dh, Pos[t], out=dz_o)
            torch.mul(dc.unsqueeze(1), Prs[t], out=dz_r)
            dc = dc * Fs[t]
            dW.baddbmm_(dzf, HXs[t].transpose(1, 2))
            if t:
                DHs[t - 1].baddbmm_(w_h_t, dzf)
        return None, dW


class FusedEnsemble(Ensemble):
    """:class:`Ensemble` (same stacked parameters) through the hand-written
    batched kernels above: the scratch cells' fused kernels with bmm."""

    def forward(self, x):
        K, T, B, I = x.shape
        H = self.w_hh.shape[-1]
        if self.name == "gru":                          # gru_wcat, stacked along K
            w_ih, b_ih, b_hh = self.w_ih, self.b_ih[:, 0], self.b_hh[:, 0]
            cols_h = torch.cat([self.w_hh, self.w_hh.new_zeros((K, H, H))], 1)
            cols_x = torch.cat([w_ih[:, :2 * H], w_ih.new_zeros((K, H, I)), w_ih[:, 2 * H:]], 1)
            b = torch.cat([b_ih[:, :2 * H] + b_hh[:, :2 * H], b_hh[:, 2 * H:], b_ih[:, 2 * H:]], 1)
            wcat = torch.cat([cols_h, cols_x, b.unsqueeze(2)], 2)
            fn = _FusedGRU
        else:                                           # rows (i, f, g, o) -> (o, i, f, g)
            b = (self.b_ih + self.b_hh).transpose(1, 2)
            wcat = torch.roll(torch.cat([self.w_hh, self.w_ih, b], 2), H, 1)
            fn = _FusedLSTM
        hs = fn.apply(x.permute(1, 0, 3, 2), wcat)      # (T, K, H, B)
        hs = hs.permute(1, 0, 3, 2).reshape(K, T * B, H)
        return torch.baddbmm(self.b_o, hs, self.w_o.transpose(1, 2)).view(K, T, B, I)


def make_runs(name: str, args):
    """K separate (model, Adam, data) and the ensemble built from the same
    initial weights, with its Adam; the step functions return the losses."""
    members, data = [], []
    for k in range(args.k):
        torch.manual_seed(100 + k)                      # trial k's seed: weights and data
        members.append(Member(name, args.input, args.hidden))
        idx = torch.randint(0, args.input, (args.seq_len, args.batch))
        data.append((F.one_hot(idx, args.input).float(), torch.roll(idx, 1, dims=0)))
    opts = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in members]
    X = torch.stack([x for x, _ in data])
    Y = torch.stack([y for _, y in data])

    def separate():
        losses = []
        for m, opt, (x, y) in zip(members, opts, data):
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(m(x).reshape(-1, args.input), y.reshape(-1))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    def ensemble(cls):
        ens = cls(name, members)                        # built before any step: same init
        opt = torch.optim.Adam(ens.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            logits = ens(X)
            # per-member mean cross-entropy; the gradient of their sum w.r.t.
            # member k's slice is member k's own (the members share nothing)
            per = F.cross_entropy(logits.reshape(-1, args.input), Y.reshape(-1),
                                  reduction="none").view(args.k, -1).mean(1)
            per.sum().backward()
            opt.step()
            return per.tolist()

        return step

    return {"separate": separate, "autograd": ensemble(Ensemble), "fused": ensemble(FusedEnsemble)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default="gru,lstm")
    ap.add_argument("--hidden", default="32,128")
    ap.add_argument("--seq-len", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--input", type=int, default=11)
    ap.add_argument("--k", type=int, default=3, help="trials of the grid point")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved runs (median)")
    ap.add_argument("--steps", type=int, default=2, help="training steps per run")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = ap.parse_args(argv)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    bad = [c for c in cells if c not in GATES]
    if bad:
        ap.error(f"--cells: unknown {', '.join(bad)} (allowed: {', '.join(GATES)})")
    try:
        hiddens = [int(h) for h in args.hidden.split(",")]
    except ValueError:
        ap.error(f"--hidden: got {args.hidden!r} (allowed: comma-separated integers)")
    if args.k < 1 or args.repeats < 1 or args.steps < 1 or min(hiddens) < 1:
        ap.error("--k, --repeats, --steps and --hidden must be >= 1")
    torch.set_num_threads(args.threads)
    clock = time.perf_counter if args.clock == "wall" else time.thread_time

    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, K={args.k}, "
          f"B={args.batch}, T={args.seq_len}, I={args.input}; ms per training step of all K "
          f"members (fwd+bwd+Adam), {args.clock} clock, median of {args.repeats} interleaved "
          f"runs x {args.steps} steps")
    print(f"{'cell':<6}{'H':>5}{'separate':>10}{'ens-autograd':>14}{'gain':>7}{'ens-fused':>11}"
          f"{'gain':>7}  max |loss diff| over {1 + args.repeats * args.steps} steps")
    for name in cells:
        for H in hiddens:
            a = argparse.Namespace(**{**vars(args), "hidden": H})
            runs = make_runs(name, a)
            losses = {k: [fn()] for k, fn in runs.items()}      # warm-up, also compared
            times: dict = {k: [] for k in runs}
            for _ in range(args.repeats):
                for label, fn in runs.items():
                    t0 = clock()
                    for _ in range(args.steps):
                        losses[label].append(fn())
                    times[label].append((clock() - t0) / args.steps * 1e3)
            ms = {k: statistics.median(v) for k, v in times.items()}
            worst = max(abs(u - v) for label in ("autograd", "fused")
                        for s_, e_ in zip(losses["separate"], losses[label])
                        for u, v in zip(s_, e_))
            flag = "ok" if worst <= 1e-5 else "MISMATCH (> 1e-5)"
            sep = ms["separate"]
            print(f"{name:<6}{H:>5}{sep:>10.2f}{ms['autograd']:>14.2f}{sep / ms['autograd']:>6.2f}x"
                  f"{ms['fused']:>11.2f}{sep / ms['fused']:>6.2f}x  {worst:.2e} {flag}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
