"""Tests for rnntui.cells: parity with torch's RNN/LSTM/GRU, the multiplicative
cells, init schemes, the registry and trace_cell."""

from __future__ import annotations

import itertools
import math
import warnings

import pytest
import torch
from torch import nn

from rnntui.cells import (
    BACKENDS,
    CELL_NAMES,
    GRU,
    LSTM,
    RNN,
    MultiplicativeGRU,
    MultiplicativeLSTM,
    build_cell,
    trace_cell,
)
from rnntui.cells.registry import init_cell, state_is_tuple, supports_builtin
from rnntui.cells.spec import cell_specs

@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: intra-op threads only add overhead (and contention on a
    busy 2-core machine).  Restored afterwards for the other test files."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


DT = torch.float64
T, B, I, H, P = 5, 3, 4, 6, 3
TOL = dict(atol=1e-5, rtol=1e-5)

# name -> (scratch class, builtin class, extra constructor kwargs)
VARIANTS = {
    "rnn_tanh": (RNN, nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (RNN, nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (LSTM, nn.LSTM, {}),
    "lstm_proj": (LSTM, nn.LSTM, {"proj_size": P}),
    "gru": (GRU, nn.GRU, {}),
}


def make_pair(variant, fused=True, **kw):
    scratch_cls, builtin_cls, extra = VARIANTS[variant]
    kw = {**extra, **kw}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = builtin_cls(I, H, dtype=DT, **kw)
        mine = scratch_cls(I, H, dtype=DT, **kw)
    mine.fused = fused
    mine.load_state_dict(ref.state_dict())
    return mine, ref


def make_state(mod, gen):
    D = 2 if mod.bidirectional else 1
    H_out = mod.proj_size if getattr(mod, "proj_size", 0) else mod.hidden_size
    h = torch.randn(mod.num_layers * D, B, H_out, generator=gen, dtype=DT)
    if isinstance(mod, (nn.LSTM, LSTM, MultiplicativeLSTM)):
        c = torch.randn(mod.num_layers * D, B, mod.hidden_size, generator=gen, dtype=DT)
        return (h, c)
    return h


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def run_with_grads(mod, x, state, weights):
    """Forward, then the gradients of a random linear loss of output + final
    state w.r.t. x, the initial state and every parameter."""
    x = x.clone().requires_grad_()
    st = None
    if state is not None:
        st = tuple(s.clone().requires_grad_() for s in as_tuple(state))
    out, new = mod(x, st if (st is None or len(st) == 2) else st[0])
    loss = (out * weights[0]).sum()
    for s, w in zip(as_tuple(new), weights[1:]):
        loss = loss + (s * w).sum()
    inputs = [x] + (list(st) if st is not None else []) + list(mod.parameters())
    grads = torch.autograd.grad(loss, inputs)
    return out, as_tuple(new), grads


# --------------------------------------------------------------------------- parity
@pytest.mark.parametrize(
    "variant,num_layers,bidirectional,batch_first,with_state,fused",
    list(itertools.product(VARIANTS, [1, 2], [False, True], [False, True], [False, True],
                           [True, False])),
)
def test_matches_builtin(variant, num_layers, bidirectional, batch_first, with_state, fused):
    gen = torch.Generator().manual_seed(0)
    mine, ref = make_pair(variant, fused, num_layers=num_layers, bidirectional=bidirectional,
                          batch_first=batch_first)
    shape = (B, T, I) if batch_first else (T, B, I)
    x = torch.randn(shape, generator=gen, dtype=DT)
    state = make_state(ref, gen) if with_state else None
    out_ref, new_ref = ref(x, state)
    weights = [torch.randn(out_ref.shape, generator=gen, dtype=DT)] + [
        torch.randn(s.shape, generator=gen, dtype=DT) for s in as_tuple(new_ref)]
    o1, s1, g1 = run_with_grads(ref, x, state, weights)
    o2, s2, g2 = run_with_grads(mine, x, state, weights)
    assert o2.shape == o1.shape
    torch.testing.assert_close(o2, o1, **TOL)
    assert len(s1) == len(s2)
    for a, b in zip(s2, s1):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, **TOL)
    assert len(g1) == len(g2)
    for a, b in zip(g2, g1):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("bias", [True, False])
def test_state_dict_keys_shapes_and_loading_both_ways(variant, bias):
    for num_layers, bidirectional in [(1, False), (2, True), (3, False)]:
        kw = dict(num_layers=num_layers, bidirectional=bidirectional, bias=bias)
        mine, ref = make_pair(variant, **kw)
        sd_m, sd_r = mine.state_dict(), ref.state_dict()
        assert list(sd_m) == list(sd_r)
        assert {k: v.shape for k, v in sd_m.items()} == {k: v.shape for k, v in sd_r.items()}
        # scratch -> builtin
        with torch.no_grad():
            for p in mine.parameters():
                p.normal_(0, 0.3)
        ref.load_state_dict(mine.state_dict())
        x = torch.randn(T, B, I, dtype=DT)
        torch.testing.assert_close(mine(x)[0], ref(x)[0], **TOL)
        # builtin -> scratch (fresh module, strict load)
        fresh = VARIANTS[variant][0](I, H, dtype=DT, **VARIANTS[variant][2], **kw)
        fresh.load_state_dict(ref.state_dict())
        torch.testing.assert_close(fresh(x)[0], ref(x)[0], **TOL)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_same_seed_same_init_as_builtin(variant):
    scratch_cls, builtin_cls, extra = VARIANTS[variant]
    torch.manual_seed(3)
    ref = builtin_cls(I, H, num_layers=2, bidirectional=True, **extra)
    torch.manual_seed(3)
    mine = scratch_cls(I, H, num_layers=2, bidirectional=True, **extra)
    for k, v in ref.state_dict().items():
        assert torch.equal(mine.state_dict()[k], v), k


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_unbatched_input(variant):
    mine, ref = make_pair(variant, num_layers=2)
    x = torch.randn(T, I, dtype=DT)
    o1, s1 = ref(x)
    o2, s2 = mine(x)
    torch.testing.assert_close(o2, o1, **TOL)
    for a, b in zip(as_tuple(s2), as_tuple(s1)):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("variant", ["lstm", "gru", "rnn_tanh"])
def test_two_forwards_one_backward(variant):
    mine, ref = make_pair(variant, num_layers=2, bidirectional=True)
    x1, x2 = torch.randn(T, B, I, dtype=DT), torch.randn(T + 2, B, I, dtype=DT)
    grads = []
    for mod in (ref, mine):
        loss = mod(x1)[0].square().sum() + mod(x2)[0].sin().sum()
        grads.append(torch.autograd.grad(loss, list(mod.parameters())))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_float32_parity_and_no_grad():
    for variant in VARIANTS:
        scratch_cls, builtin_cls, extra = VARIANTS[variant]
        ref = builtin_cls(I, H, **extra)
        mine = scratch_cls(I, H, **extra)
        mine.load_state_dict(ref.state_dict())
        x = torch.randn(T, B, I)
        with torch.no_grad():
            torch.testing.assert_close(mine(x)[0], ref(x)[0], atol=1e-5, rtol=1e-4)


def test_invalid_shapes_raise():
    m = LSTM(I, H)
    with pytest.raises(RuntimeError):
        m(torch.randn(T, B, I + 1))
    with pytest.raises(RuntimeError):
        m(torch.randn(T, B, I), (torch.zeros(1, B + 1, H), torch.zeros(1, B, H)))
    with pytest.raises(RuntimeError):
        m(torch.randn(0, B, I))
    with pytest.raises(TypeError):
        m(torch.randn(T, B, I), torch.zeros(1, B, H))
    with pytest.raises((TypeError, ValueError)):
        GRU(I, H, proj_size=2)
    with pytest.raises(ValueError):
        RNN(I, H, nonlinearity="sigmoid")


# ------------------------------------------------------------------ bias / dropout
@pytest.mark.parametrize("variant", ["lstm", "gru", "rnn_relu", "lstm_proj"])
def test_bias_false(variant):
    mine, ref = make_pair(variant, bias=False, num_layers=2)
    assert not any("bias" in k for k in mine.state_dict())
    x = torch.randn(T, B, I, dtype=DT)
    torch.testing.assert_close(mine(x)[0], ref(x)[0], **TOL)


@pytest.mark.parametrize("variant", ["lstm", "gru", "rnn_tanh"])
def test_dropout_between_layers(variant):
    mine, ref = make_pair(variant, num_layers=2, dropout=0.5)
    x = torch.randn(T, B, I, dtype=DT)
    # eval mode: no dropout, identical to the builtin and deterministic
    mine.eval()
    ref.eval()
    e1, e2 = mine(x)[0], mine(x)[0]
    assert torch.equal(e1, e2)
    torch.testing.assert_close(e1, ref(x)[0], **TOL)
    # train mode: dropout is active (random, different from eval)
    mine.train()
    torch.manual_seed(1)
    t1 = mine(x)[0]
    t2 = mine(x)[0]
    assert not torch.allclose(t1, e1)
    assert not torch.allclose(t1, t2)
    # p = 1 zeroes the input of layer 2 exactly: layer 2 then sees only zeros
    mine.dropout = 1.0
    out = mine(x)[0]
    top = type(mine)(H, H, dtype=DT, **VARIANTS[variant][2])
    top.load_state_dict({k.replace("_l1", "_l0"): v for k, v in mine.state_dict().items()
                         if "_l1" in k})
    torch.testing.assert_close(out, top(torch.zeros(T, B, H, dtype=DT))[0], **TOL)
    # dropout does not touch the last layer's output
    one = type(mine)(I, H, dtype=DT, dropout=0.0, **VARIANTS[variant][2])
    one.train()
    y = one(x)[0]
    assert torch.equal(y, one(x)[0])


# --------------------------------------------------------------- multiplicative
MULT = {"mlstm": MultiplicativeLSTM, "mgru": MultiplicativeGRU}


@pytest.mark.parametrize("name", list(MULT))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mult_shapes_and_names(name, bidirectional, batch_first):
    L, D = 2, 2 if bidirectional else 1
    m = MULT[name](I, H, num_layers=L, bidirectional=bidirectional, batch_first=batch_first)
    x = torch.randn((B, T, I) if batch_first else (T, B, I))
    out, st = m(x)
    assert out.shape == ((B, T, D * H) if batch_first else (T, B, D * H))
    for s in as_tuple(st):
        assert s.shape == (L * D, B, H)
    assert isinstance(st, tuple) == (name == "mlstm")
    sd = m.state_dict()
    G = 4 * H if name == "mlstm" else 3 * H
    for k in range(L):
        Ik = I if k == 0 else D * H
        for sfx in [""] + (["_reverse"] if bidirectional else []):
            assert sd[f"weight_ih_l{k}{sfx}"].shape == (G, Ik)
            assert sd[f"weight_hh_l{k}{sfx}"].shape == (G, H)
            assert sd[f"bias_ih_l{k}{sfx}"].shape == (G,)
            assert sd[f"bias_hh_l{k}{sfx}"].shape == (G,)
            assert sd[f"weight_im_l{k}{sfx}"].shape == (Ik, Ik)
            assert sd[f"weight_hm_l{k}{sfx}"].shape == (Ik, H)
            assert sd[f"bias_m_l{k}{sfx}"].shape == (Ik,)
            assert torch.all(sd[f"bias_m_l{k}{sfx}"] == 1.0)      # default mult_bias


def test_mlstm_rejects_proj_size():
    with pytest.raises(ValueError):
        MultiplicativeLSTM(I, H, proj_size=2)


def test_mlstm_hand_computed_step():
    torch.manual_seed(0)
    m = MultiplicativeLSTM(I, H, dtype=DT)
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.5)
    x = torch.randn(B, I, dtype=DT)
    h0, c0 = torch.randn(B, H, dtype=DT), torch.randn(B, H, dtype=DT)
    W_m, U_m, b_m = m.weight_im_l0, m.weight_hm_l0, m.bias_m_l0
    W_ih, W_hh, b_ih, b_hh = m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0
    # m_t = W_m x + U_m h + b_m ;  x^ = m * x ; LSTM on x^
    mt = x @ W_m.T + h0 @ U_m.T + b_m
    xh = mt * x
    z = xh @ W_ih.T + b_ih + h0 @ W_hh.T + b_hh
    i, f, g, o = z.chunk(4, 1)
    c = torch.sigmoid(f) * c0 + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    for fused in (True, False):
        m.fused = fused
        out, (hn, cn) = m(x.unsqueeze(0), (h0.unsqueeze(0), c0.unsqueeze(0)))
        torch.testing.assert_close(out[0], h, **TOL)
        torch.testing.assert_close(hn[0], h, **TOL)
        torch.testing.assert_close(cn[0], c, **TOL)


def test_mgru_hand_computed_step():
    torch.manual_seed(0)
    m = MultiplicativeGRU(I, H, dtype=DT)
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.5)
    x = torch.randn(B, I, dtype=DT)
    h0 = torch.randn(B, H, dtype=DT)
    W_m, U_m, b_m = m.weight_im_l0, m.weight_hm_l0, m.bias_m_l0
    W_ih, W_hh, b_ih, b_hh = m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0
    mt = x @ W_m.T + h0 @ U_m.T + b_m
    xh = mt * x
    gx = xh @ W_ih.T + b_ih
    gh = h0 @ W_hh.T + b_hh
    r = torch.sigmoid(gx[:, :H] + gh[:, :H])
    zz = torch.sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    h = (1 - zz) * n + zz * h0
    for fused in (True, False):
        m.fused = fused
        out, hn = m(x.unsqueeze(0), h0.unsqueeze(0))
        torch.testing.assert_close(out[0], h, **TOL)
        torch.testing.assert_close(hn[0], h, **TOL)


@pytest.mark.parametrize("name", list(MULT))
@pytest.mark.parametrize("kw", [dict(), dict(bias=False, mult_bias=0.5),
                                dict(num_layers=2, bidirectional=True, batch_first=True)])
def test_mult_fused_matches_stepwise_and_gradcheck(name, kw):
    torch.manual_seed(0)
    a = MULT[name](I, H, dtype=DT, **kw)
    b = MULT[name](I, H, dtype=DT, **kw)
    b.load_state_dict(a.state_dict())
    b.fused = False
    x = torch.randn((B, T, I) if a.batch_first else (T, B, I), dtype=DT)
    gen = torch.Generator().manual_seed(1)
    state = make_state(a, gen)
    out_a, new_a = a(x, state)
    weights = [torch.randn(out_a.shape, dtype=DT)] + [torch.randn(s.shape, dtype=DT)
                                                      for s in as_tuple(new_a)]
    o1, s1, g1 = run_with_grads(a, x, state, weights)
    o2, s2, g2 = run_with_grads(b, x, state, weights)
    torch.testing.assert_close(o1, o2, **TOL)
    for u, v in zip(s1 + g1, s2 + g2):
        torch.testing.assert_close(u, v, **TOL)
    # finite differences on the fused kernel (tiny sizes)
    small = MULT[name](2, 3, dtype=DT, **kw)
    xs = torch.randn((2, 3, 2) if small.batch_first else (3, 2, 2), dtype=DT, requires_grad=True)

    def f(xx):
        out, st = small(xx)
        return (out,) + as_tuple(st)

    assert torch.autograd.gradcheck(f, (xs,))


@pytest.mark.parametrize("in_loop", [False, True])
@pytest.mark.parametrize("variant", ["lstm", "lstm_proj", "mlstm"])
def test_lstm_backward_factors_both_paths(monkeypatch, variant, in_loop):
    """The LSTM family computes its backward factors after the forward loop
    for small steps and inside it for large ones (``VECTOR_FACTORS_MAX``):
    both give torch's (or the step path's) outputs and gradients, both
    directions."""
    import rnntui.cells.lstm as lstm_mod
    monkeypatch.setattr(lstm_mod, "VECTOR_FACTORS_MAX", -1 if in_loop else 10**9)
    kw = dict(num_layers=2, bidirectional=True)
    if variant == "mlstm":
        torch.manual_seed(0)
        mine = MultiplicativeLSTM(I, H, dtype=DT, **kw)
        ref = MultiplicativeLSTM(I, H, dtype=DT, **kw)
        ref.load_state_dict(mine.state_dict())
        ref.fused = False
    else:
        mine, ref = make_pair(variant, **kw)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn((T, B, I), generator=gen, dtype=DT)
    state = make_state(ref, gen)
    out_ref, new_ref = ref(x, state)
    weights = [torch.randn(out_ref.shape, generator=gen, dtype=DT)] + [
        torch.randn(s.shape, generator=gen, dtype=DT) for s in as_tuple(new_ref)]
    o1, s1, g1 = run_with_grads(ref, x, state, weights)
    o2, s2, g2 = run_with_grads(mine, x, state, weights)
    for a, b in zip((o2, *s2, *g2), (o1, *s1, *g1)):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("name", list(MULT))
def test_mult_bias_one_makes_xhat_close_to_x(name):
    torch.manual_seed(0)
    m = build_cell(name, input_size=I, hidden_size=H, init="normal", init_std=1e-3)
    x = torch.randn(B, T, I)
    tr = trace_cell(m, x)
    assert tr["m"].shape == (T, B, I)
    assert (tr["m"] - 1).abs().max() < 0.02
    xhat = tr["m"] * x.transpose(0, 1)
    torch.testing.assert_close(xhat, x.transpose(0, 1), atol=0.02, rtol=0.02)
    # the seed notebook's b_m = 0: x^ ~ 0 at init
    m0 = build_cell(name, input_size=I, hidden_size=H, init="normal", init_std=1e-3,
                    mult_bias=0.0)
    tr0 = trace_cell(m0, x)
    assert tr0["m"].abs().max() < 0.02                       # x^ = m x is < 2% of x


@pytest.mark.parametrize("name", list(MULT))
def test_mult_learns_previous_bit(name):
    """150 Adam steps: output the previous input bit (T=10)."""
    torch.manual_seed(0)
    cell = build_cell(name, input_size=1, hidden_size=16, batch_first=True)
    head = nn.Linear(16, 1)
    opt = torch.optim.Adam(list(cell.parameters()) + list(head.parameters()), lr=0.02)
    gen = torch.Generator().manual_seed(0)
    loss_fn = nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(150):
        bits = torch.randint(0, 2, (32, 10, 1), generator=gen).float()
        target = torch.cat([torch.zeros(32, 1, 1), bits[:, :-1]], 1)
        loss = loss_fn(head(cell(bits)[0]), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    start, end = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert start > 0.6
    assert end < 0.1, (start, end)


# ----------------------------------------------------------------- init schemes
@pytest.mark.parametrize("name,backend", [("lstm", "scratch"), ("lstm", "builtin"),
                                          ("gru", "builtin"), ("mlstm", "scratch"),
                                          ("mgru", "scratch"), ("rnn", "scratch")])
def test_init_normal(name, backend):
    torch.manual_seed(0)
    mult = {"mult_bias": 0.7} if name.startswith("m") else {}  # only the multiplicative cells have b_m
    m = build_cell(name, backend=backend, input_size=32, hidden_size=64, num_layers=2,
                   init="normal", init_std=0.05, **mult)
    ws = torch.cat([p.flatten() for k, p in m.named_parameters() if k.startswith("weight")])
    assert abs(ws.std().item() - 0.05) < 0.005
    assert abs(ws.mean().item()) < 0.005
    for k, p in m.named_parameters():
        if k.startswith("bias_m"):
            assert torch.all(p == 0.7)
        elif k.startswith("bias"):
            assert torch.all(p == 0)


@pytest.mark.parametrize("name,backend", [("lstm", "scratch"), ("lstm", "builtin"),
                                          ("mlstm", "scratch")])
def test_forget_bias(name, backend):
    m = build_cell(name, backend=backend, input_size=I, hidden_size=H, num_layers=2,
                   bidirectional=True, forget_bias=1.5)
    for k, p in m.named_parameters():
        if k.startswith("bias_ih"):
            assert torch.all(p[H:2 * H] == 1.5)
        elif k.startswith("bias_hh"):
            assert torch.all(p[H:2 * H] == 0)


@pytest.mark.parametrize("name,backend", [("lstm", "scratch"), ("lstm", "builtin"),
                                          ("mlstm", "scratch")])
def test_chrono_init(name, backend):
    torch.manual_seed(0)
    tmax = 50
    m = build_cell(name, backend=backend, input_size=I, hidden_size=64, num_layers=2,
                   init="chrono", chrono_tmax=tmax)
    n = 0
    for k, p in m.named_parameters():
        if k.startswith("bias_ih"):
            b_i, b_f = p[:64], p[64:128]
            assert torch.all(b_f >= 0) and torch.all(b_f <= math.log(tmax - 1) + 1e-6)
            assert b_f.std() > 0.1                      # random, not constant
            torch.testing.assert_close(b_i, -b_f)
            n += 1
        elif k.startswith("bias_hh"):
            assert torch.all(p[:128] == 0)
    assert n == 2


@pytest.mark.parametrize("name,backend", [("gru", "scratch"), ("gru", "builtin"), ("mgru", "scratch")])
def test_chrono_init_gru(name, backend):
    """GRU family: the update gate z (rows H..2H, torch's r, z, n) gets b_z = log U(1, tmax - 1)
    in bias_ih and 0 in bias_hh; the reset and candidate biases keep torch's default draw."""
    torch.manual_seed(0)
    tmax, H2 = 50, 64
    m = build_cell(name, backend=backend, input_size=I, hidden_size=H2, num_layers=2,
                   init="chrono", chrono_tmax=tmax)
    torch.manual_seed(0)
    ref = build_cell(name, backend=backend, input_size=I, hidden_size=H2, num_layers=2)
    n = 0
    for (k, p), (_, q) in zip(m.named_parameters(), ref.named_parameters()):
        if k.startswith("bias_ih"):
            b_z = p[H2:2 * H2]
            assert torch.all(b_z >= 0) and torch.all(b_z <= math.log(tmax - 1) + 1e-6)
            assert b_z.std() > 0.1
            torch.testing.assert_close(p[:H2], q[:H2], rtol=0, atol=0)
            torch.testing.assert_close(p[2 * H2:], q[2 * H2:], rtol=0, atol=0)
            n += 1
        elif k.startswith("bias_hh"):
            assert torch.all(p[H2:2 * H2] == 0)
            torch.testing.assert_close(p[:H2], q[:H2], rtol=0, atol=0)
        else:
            torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert n == 2


def test_invalid_arguments_raise_with_allowed_values():
    kw = dict(input_size=I, hidden_size=H)
    with pytest.raises(ValueError, match=", ".join(cell_specs())):  # every registered cell, in order
        build_cell("transformer", **kw)
    with pytest.raises(ValueError, match="scratch, builtin"):
        build_cell("lstm", backend="cuda", **kw)
    for name in ("mlstm", "mgru"):
        with pytest.raises(ValueError, match=f"backend 'builtin' is not available for cell '{name}'; allowed: scratch"):
            build_cell(name, backend="builtin", **kw)
    with pytest.raises(ValueError, match="default, normal, chrono"):
        build_cell("lstm", init="xavier", **kw)
    with pytest.raises(ValueError, match="chrono_tmax"):
        build_cell("lstm", init="chrono", **kw)
    with pytest.raises(ValueError, match="gru, lstm, mgru, mlstm"):
        build_cell("rnn", init="chrono", chrono_tmax=10, **kw)
    with pytest.raises(ValueError, match="lstm, mlstm"):
        build_cell("gru", forget_bias=1.0, **kw)
    with pytest.raises(ValueError, match="forget_bias"):
        build_cell("lstm", init="chrono", chrono_tmax=10, forget_bias=1.0, **kw)
    with pytest.raises(ValueError, match="Select from 'tanh' or 'relu'"):  # torch's own message
        build_cell("rnn", nonlinearity="sigmoid", **kw)
    with pytest.raises(ValueError, match="mult_bias=0.0 is not supported by cell 'lstm'; allowed cells: mgru, mlstm"):
        build_cell("lstm", mult_bias=0.0, **kw)
    with pytest.raises(ValueError, match="proj_size"):
        build_cell("gru", proj_size=2, **kw)
    with pytest.raises(ValueError, match="init_std"):
        build_cell("lstm", init="normal", init_std=0.0, **kw)
    with pytest.raises(ValueError, match="proj_size"):
        build_cell("mlstm", **kw, proj_size=2)


def test_registry_helpers_and_build_cell():
    assert CELL_NAMES == ("rnn", "gru", "lstm", "mgru", "mlstm")
    assert BACKENDS == ("scratch", "builtin")
    assert [supports_builtin(n) for n in CELL_NAMES] == [True, True, True, False, False]
    assert [state_is_tuple(n) for n in CELL_NAMES] == [False, False, True, False, True]
    expected = {"rnn": (RNN, nn.RNN), "lstm": (LSTM, nn.LSTM), "gru": (GRU, nn.GRU),
                "mlstm": (MultiplicativeLSTM, None), "mgru": (MultiplicativeGRU, None)}
    for name, (scratch_cls, builtin_cls) in expected.items():
        m = build_cell(name, input_size=I, hidden_size=H, num_layers=2, dropout=0.1)
        assert type(m) is scratch_cls and m.batch_first and m.dropout == 0.1
        if builtin_cls is not None:
            r = build_cell(name, backend="builtin", input_size=I, hidden_size=H)
            assert type(r) is builtin_cls and r.batch_first
    r = build_cell("rnn", backend="builtin", input_size=I, hidden_size=H, nonlinearity="relu")
    assert r.nonlinearity == "relu"
    p = build_cell("lstm", input_size=I, hidden_size=H, proj_size=2)
    assert p(torch.randn(B, T, I))[0].shape == (B, T, 2)
    # init_cell works on existing modules too
    init_cell(r, "normal", init_std=0.1)
    assert torch.all(r.bias_ih_l0 == 0)


# ------------------------------------------------------------------- trace_cell
GATES = {"lstm": ("i", "f", "g", "o", "c", "h"), "mlstm": ("i", "f", "g", "o", "c", "h", "m"),
         "gru": ("r", "z", "n", "h"), "mgru": ("r", "z", "n", "h", "m"), "rnn": ("h",)}
UNIT = {"lstm": ("i", "f", "o"), "mlstm": ("i", "f", "o"), "gru": ("r", "z"),
        "mgru": ("r", "z"), "rnn": ()}


@pytest.mark.parametrize("name,backend", [(n, b) for n in CELL_NAMES for b in BACKENDS
                                          if b == "scratch" or supports_builtin(n)])
@pytest.mark.parametrize("layers", [(1, False), (2, True)])
def test_trace_cell_shapes_ranges_output(name, backend, layers):
    torch.manual_seed(0)
    num_layers, bidirectional = layers
    m = build_cell(name, backend=backend, input_size=I, hidden_size=H, num_layers=num_layers,
                   bidirectional=bidirectional)
    x = torch.randn(B, T, I)
    tr = trace_cell(m, x)
    assert set(GATES[name]) <= set(tr)
    for k in GATES[name]:
        assert tr[k].shape == ((T, B, H) if k != "m" else
                               (T, B, I if num_layers == 1 else 2 * H if bidirectional else H))
    for k in UNIT[name]:
        assert tr[k].min() >= 0 and tr[k].max() <= 1
    if "g" in tr:
        assert tr["g"].abs().max() <= 1
    out, _ = m(x)
    torch.testing.assert_close(tr["output"], out)  # float32, step vs fused path: torch's default tolerance
    assert len(tr["h_steps"]) == T
    hs = torch.stack(tr["h_steps"], 0)
    torch.testing.assert_close(hs, tr["h"])
    torch.testing.assert_close(hs.transpose(0, 1), out[..., :H])   # top layer, forward dir


@pytest.mark.parametrize("name", ["lstm", "gru", "rnn", "mlstm", "mgru"])
def test_trace_cell_h_steps_gradients(name):
    torch.manual_seed(0)
    m = build_cell(name, input_size=I, hidden_size=H)          # batch_first=True
    m.double()
    x = torch.randn(B, T, I, dtype=DT)
    w = torch.randn(B, H, dtype=DT)
    tr = trace_cell(m, x)
    out = tr["output"]
    loss = (out[:, -1] * w).sum()                               # loss on the last output only
    grads = torch.autograd.grad(loss, tr["h_steps"] + [out])
    dh, d_out = grads[:-1], grads[-1]
    # last step: dL/dh_T = dL/d output[T]
    torch.testing.assert_close(dh[-1], d_out[:, -1])
    torch.testing.assert_close(dh[-1], w)
    # earlier step t: restart the module from the state after step t (fused
    # kernels, a different graph) and differentiate w.r.t. that initial state
    t = T - 3
    h_t = tr["h"][t].clone().requires_grad_()
    state = (h_t.unsqueeze(0), tr["c"][t].unsqueeze(0)) if "c" in tr else h_t.unsqueeze(0)
    out2, _ = m(x[:, t + 1:], state)
    torch.testing.assert_close(out2[:, -1], out[:, -1].detach())
    (g_ref,) = torch.autograd.grad((out2[:, -1] * w).sum(), h_t)
    torch.testing.assert_close(dh[t], g_ref)
    assert dh[t].abs().sum() > 0
    # and one coordinate by central finite differences
    eps = 1e-6

    def loss_from(hh):
        st = (hh.unsqueeze(0), tr["c"][t].unsqueeze(0)) if "c" in tr else hh.unsqueeze(0)
        with torch.no_grad():
            return (m(x[:, t + 1:], st)[0][:, -1] * w).sum()

    e = torch.zeros_like(h_t)
    e[1, 2] = eps
    fd = (loss_from(h_t.detach() + e) - loss_from(h_t.detach() - e)) / (2 * eps)
    assert abs(fd.item() - dh[t][1, 2].item()) < 1e-6


def test_trace_cell_of_builtin_matches_builtin_output():
    torch.manual_seed(0)
    ref = nn.LSTM(I, H, num_layers=2, batch_first=False, proj_size=P)
    x = torch.randn(T, B, I)
    tr = trace_cell(ref, x)
    torch.testing.assert_close(tr["output"], ref(x)[0])  # float32: torch's default tolerance
    assert tr["h"].shape == (T, B, P) and tr["c"].shape == (T, B, H)
