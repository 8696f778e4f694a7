"""Drop-in behaviour of the scratch cells beyond plain tensors: higher-order
gradients, PackedSequence, torch.func, torch's errors and the nn.RNNBase surface.

Tolerances: float64 throughout (the paths agree to ~1e-15); 1e-10 leaves room
for different summation orders.
"""

from __future__ import annotations

import copy
import itertools
import pickle
import warnings

import pytest
import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnntui.cells import GRU, LSTM, RNN, MultiplicativeGRU, MultiplicativeLSTM

DT = torch.float64
TOL = dict(rtol=1e-10, atol=1e-10)

# name -> (scratch class, torch class or None, constructor kwargs)
CELLS = {
    "rnn": (RNN, nn.RNN, {}),
    "rnn_relu": (RNN, nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (LSTM, nn.LSTM, {}),
    "lstm_proj": (LSTM, nn.LSTM, {"proj_size": 2}),
    "gru": (GRU, nn.GRU, {}),
    "mlstm": (MultiplicativeLSTM, None, {}),
    "mgru": (MultiplicativeGRU, None, {}),
}
FIVE = ["rnn", "lstm", "lstm_proj", "gru", "mlstm", "mgru"]   # the five cells, proj_size too


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def build(name, I=2, H=3, seed=0, **kw):
    """(scratch module, torch module with the same weights or None)."""
    cls, ref_cls, extra = CELLS[name]
    torch.manual_seed(seed)
    mine = cls(I, H, dtype=DT, **extra, **kw)
    ref = None
    if ref_cls is not None:
        ref = ref_cls(I, H, dtype=DT, **extra, **kw)
        ref.load_state_dict(mine.state_dict())
    return mine, ref


def initial_state(m, B, gen):
    D = 2 if m.bidirectional else 1
    shape = (m.num_layers * D, B)
    h = torch.randn(*shape, m.proj_size or m.hidden_size, generator=gen, dtype=DT)
    if m.state_is_tuple:
        return (h, torch.randn(*shape, m.hidden_size, generator=gen, dtype=DT))
    return h


def flat_state(s):
    return list(s) if isinstance(s, tuple) else [s]


# ------------------------------------------------------- higher-order gradients
GRID = [(n, layers, bidir, bf) for n in FIVE
        for layers, bidir, bf in itertools.product([1, 2], [False, True], [False, True])]


def with_flat_params(m, fn):
    """``(g, flat)``: ``g(*args, flat) = fn(params, *args)`` with every
    parameter of ``m`` cut out of the one vector ``flat``.  gradcheck's fast
    mode costs two evaluations per input tensor, so one vector for all the
    parameters keeps it cheap without checking any less."""
    names = [n for n, _ in m.named_parameters()]
    shapes = [p.shape for p in m.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in m.parameters()]).requires_grad_()

    def g(*args):
        parts = args[-1].split([s.numel() for s in shapes])
        params = {n: t.view(s) for n, t, s in zip(names, parts, shapes)}
        return fn(params, *args[:-1])

    return g, flat


@pytest.mark.parametrize("name,layers,bidir,batch_first", GRID)
def test_gradcheck_and_gradgradcheck_every_option(name, layers, bidir, batch_first):
    """float64 gradcheck and gradgradcheck through the fused kernels, with
    respect to the input, the initial state and every parameter."""
    m, _ = build(name, num_layers=layers, bidirectional=bidir, batch_first=batch_first)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn((2, 3, 2) if batch_first else (3, 2, 2), generator=gen, dtype=DT)
    st = [s.requires_grad_() for s in flat_state(initial_state(m, 2, gen))]

    def run(params, x, *state):
        out, new = functional_call(m, params, (x, state if m.state_is_tuple else state[0]))
        return (out, *flat_state(new))

    fn, flat = with_flat_params(m, run)
    inputs = [x.requires_grad_(), *st, flat]
    assert torch.autograd.gradcheck(fn, inputs, fast_mode=True)
    assert torch.autograd.gradgradcheck(fn, inputs, fast_mode=True, check_undefined_grad=False)
    # gradgradcheck differentiates the create_graph gradient; it must also be
    # the gradient: equal to the plain one, and its derivative to the step path's
    assert_orders_agree(m, lambda: fn(*inputs), inputs)


def assert_orders_agree(m, run, wrt, seed=6):
    """First derivatives with and without ``create_graph``, and second
    derivatives, of a random linear function of ``run()``'s outputs w.r.t.
    ``wrt``: the fused path equals the step-by-step autograd path."""
    results = []
    for fused in (True, False):
        m.fused = fused
        gen = torch.Generator().manual_seed(seed)
        outs = run()
        gos = [torch.randn(o.shape, generator=gen, dtype=DT) for o in outs]
        plain = torch.autograd.grad(outs, wrt, gos, retain_graph=True)
        first = torch.autograd.grad(outs, wrt, gos, create_graph=True)
        vs = [torch.randn(g.shape, generator=gen, dtype=DT) for g in first]
        second = torch.autograd.grad(first, wrt, vs, materialize_grads=True)
        for a, b in zip(plain, first):
            torch.testing.assert_close(a, b, **TOL)
        results.append(first + second)
    m.fused = True
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("name", ["rnn", "rnn_relu", "lstm", "lstm_proj", "gru"])
def test_gradient_penalty_equals_torch(name):
    """The issue's case: g = d(sum out)/dx with create_graph=True, then a loss
    on g: fused path, step path and torch agree."""
    m, ref = build(name, num_layers=2, bidirectional=True)
    x = torch.randn(4, 3, 2, dtype=DT, generator=torch.Generator().manual_seed(2))
    results = []
    for mod in (m, ref):
        xx = x.clone().requires_grad_()
        g, = torch.autograd.grad((mod(xx)[0] ** 2).sum(), xx, create_graph=True)
        assert g.requires_grad
        results.append(torch.autograd.grad(g.pow(2).sum(), [xx, *mod.parameters()]))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, **TOL)


# ------------------------------------------------------------- PackedSequence
@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("layers,bidir", [(1, False), (1, True), (2, False), (2, True)])
# every pair of values of these three options occurs (pairwise design)
@pytest.mark.parametrize("enforce_sorted,with_state,batch_first",
                         [(True, False, False), (False, True, False), (True, True, True),
                          (False, False, True)])
def test_packed_sequence(name, layers, bidir, enforce_sorted, with_state, batch_first):
    """Packed in, packed out; equal to torch's module and to running every
    sequence alone (the reference for the multiplicative cells too).
    ``batch_first`` changes only how the batch is packed: torch ignores it for
    packed input, and so do the scratch cells."""
    m, ref = build(name, num_layers=layers, bidirectional=bidir, batch_first=batch_first)
    gen = torch.Generator().manual_seed(3)
    lengths = torch.tensor([5, 5, 3, 2, 1]) if enforce_sorted else torch.tensor([2, 5, 1, 5, 3])
    x = torch.randn(5, 5, 2, generator=gen, dtype=DT)            # (T, B, I)
    h0 = initial_state(m, 5, gen) if with_state else None

    def run(mod):
        xx = x.clone().requires_grad_()
        hh = None if h0 is None else tuple(s.clone().requires_grad_() for s in flat_state(h0))
        packed = pack_padded_sequence(xx.transpose(0, 1) if batch_first else xx, lengths,
                                      batch_first=batch_first, enforce_sorted=enforce_sorted)
        out, st = mod(packed, None if hh is None else (hh if m.state_is_tuple else hh[0]))
        return xx, hh, out, flat_state(st)

    xx, hh, out, st = run(m)
    padded, lens = pad_packed_sequence(out)
    assert torch.equal(lens, lengths)
    w = torch.randn(padded.shape, generator=gen, dtype=DT)
    v = [torch.randn(s.shape, generator=gen, dtype=DT) for s in st]
    wrt = [xx, *(hh or ()), *m.parameters()]
    loss = (padded * w).sum() + sum((s * vv).sum() for s, vv in zip(st, v))
    grads = torch.autograd.grad(loss, wrt)

    if ref is not None:
        rx, rh, rout, rst = run(ref)
        assert torch.equal(out.batch_sizes, rout.batch_sizes)
        for a, b in ((out.sorted_indices, rout.sorted_indices),
                     (out.unsorted_indices, rout.unsorted_indices)):
            assert (a is None and b is None) or torch.equal(a, b)
        torch.testing.assert_close(out.data, rout.data, **TOL)
        for a, b in zip(st, rst):
            torch.testing.assert_close(a, b, **TOL)
        rpad, _ = pad_packed_sequence(rout)
        rloss = (rpad * w).sum() + sum((s * vv).sum() for s, vv in zip(rst, v))
        for a, b in zip(grads, torch.autograd.grad(rloss, [rx, *(rh or ()), *ref.parameters()])):
            torch.testing.assert_close(a, b, **TOL)

    if layers == 2 and bidir:
        # higher orders through the packed segments (weights shared between them)
        assert_orders_agree(m, lambda: [pad_packed_sequence(run(m)[2])[0]], [*m.parameters()])

    # every sequence alone, unpadded, with its own slice of the initial state
    ref_loss = 0.0
    for b, L in enumerate(lengths.tolist()):
        hb = None if hh is None else tuple(s[:, b:b + 1] for s in hh)
        xb = xx[:L, b:b + 1]
        o, s = m(xb.transpose(0, 1) if batch_first else xb,
                 None if hb is None else (hb if m.state_is_tuple else hb[0]))
        o = o.transpose(0, 1) if batch_first else o
        torch.testing.assert_close(padded[:L, b], o[:, 0], **TOL)
        for a, sb in zip(st, flat_state(s)):
            torch.testing.assert_close(a[:, b], sb[:, 0], **TOL)
        ref_loss = ref_loss + (o[:, 0] * w[:L, b]).sum() + sum(
            (sb[:, 0] * vv[:, b]).sum() for sb, vv in zip(flat_state(s), v))
    for a, b in zip(grads, torch.autograd.grad(ref_loss, wrt)):
        torch.testing.assert_close(a, b, **TOL)


# ------------------------------------------------------------------ torch.func
@pytest.mark.filterwarnings("ignore:.*torch.jit.script.* is deprecated:DeprecationWarning")
@pytest.mark.parametrize("name", FIVE)
def test_torch_func_transforms(name):
    m, ref = build(name, num_layers=2, bidirectional=True)
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(4, 2, 2, generator=gen, dtype=DT)
    xs = torch.randn(3, 4, 2, 2, generator=gen, dtype=DT)
    params = {k: v.detach() for k, v in m.named_parameters()}

    def out_of(p, x):
        return functional_call(m, p, (x,))[0]

    # vmap over a batch of inputs == a loop
    torch.testing.assert_close(vmap(lambda x: m(x)[0])(xs),
                               torch.stack([m(x)[0] for x in xs]), **TOL)
    # the Jacobian four ways: loop (reference), vectorized, jacrev, and torch's module
    J = torch.autograd.functional.jacobian(lambda x: m(x)[0], x)
    torch.testing.assert_close(
        torch.autograd.functional.jacobian(lambda x: m(x)[0], x, vectorize=True), J, **TOL)
    torch.testing.assert_close(jacrev(out_of, argnums=1)(params, x), J, **TOL)
    if ref is not None:
        torch.testing.assert_close(
            torch.autograd.functional.jacobian(lambda x: ref(x)[0], x), J, **TOL)
    # Hessians: batched double backward through the fused kernels vs torch.func
    def sq(x):
        return m(x)[0].pow(2).sum()

    Hs = torch.autograd.functional.hessian(sq, x, vectorize=True)
    torch.testing.assert_close(Hs, torch.func.hessian(sq)(x), **TOL)
    if ref is not None:
        torch.testing.assert_close(
            Hs, torch.autograd.functional.hessian(lambda x: ref(x)[0].pow(2).sum(), x), **TOL)
    # torch.func.grad w.r.t. the parameters == autograd
    g = torch.func.grad(lambda p: out_of(p, x).pow(2).sum())(params)
    expect = torch.autograd.grad(m(x)[0].pow(2).sum(), list(m.parameters()))
    for k, e in zip(params, expect):
        torch.testing.assert_close(g[k], e, **TOL)


# --------------------------------------------------------------- torch's errors
def raises_like_torch(make, call=None):
    """``make(cls)`` builds a module (``call(m)`` then uses it) for the torch
    class and the scratch one: both raise the same exception type and message."""
    caught = []
    for i in (0, 1):
        with pytest.raises(Exception) as info:
            m = make(i)
            if call is not None:
                call(m)
        caught.append(info.value)
    assert type(caught[1]) is type(caught[0]), (caught[1], caught[0])
    assert str(caught[1]) == str(caught[0])


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_errors_match_torch(name):
    classes = [CELLS[name][1], CELLS[name][0]]
    x3, x2 = torch.randn(4, 2, 3), torch.randn(4, 3)

    def mod(*args, **kw):
        return lambda i: classes[i](*(args or (3, 5)), **kw)

    def state(*shape):
        h = torch.zeros(*shape)
        return (h, torch.zeros(*shape[:-1], 5)) if name == "lstm" else h

    if name != "lstm":
        raises_like_torch(mod(proj_size=2))
    raises_like_torch(mod(dropout=1.5))
    raises_like_torch(mod(proj_size=-1) if name == "lstm" else mod(3, -1))
    raises_like_torch(mod(3, 5, 0))                                                 # num_layers
    raises_like_torch(mod(), lambda m: m(torch.randn(4, 2, 3, 1)))                  # 4-D input
    raises_like_torch(mod(), lambda m: m(x3.double()))                              # dtype
    raises_like_torch(mod(), lambda m: m(torch.randn(4, 2, 4)))                     # input_size
    raises_like_torch(mod(), lambda m: m(torch.randn(0, 2, 3)))                     # T = 0
    raises_like_torch(mod(), lambda m: m(x3, state(1, 5)))                          # 2-D state
    raises_like_torch(mod(), lambda m: m(x2, state(1, 1, 5)))                       # 3-D state
    raises_like_torch(mod(), lambda m: m(x3, state(1, 3, 5)))                       # batch size
    raises_like_torch(mod(bidirectional=True), lambda m: m(x3, state(1, 2, 5)))    # L*D


# ------------------------------------------------------------- module surface
@pytest.mark.parametrize("name", ["rnn", "rnn_relu", "lstm", "lstm_proj", "gru"])
def test_repr_isinstance_flat_weights_pickle(name):
    kw = dict(num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m, ref = build(name, **kw)
    assert repr(m) == repr(ref)
    assert isinstance(m, nn.RNNBase)
    assert m._flat_weights_names == ref._flat_weights_names
    assert all(w is p for w, p in zip(m._flat_weights, m.parameters()))
    assert [len(a) for a in m.all_weights] == [len(a) for a in ref.all_weights]
    x = torch.randn(2, 4, 2, dtype=DT)
    m.eval()
    for twin in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert all(w is p for w, p in zip(twin._flat_weights, twin.parameters()))
        torch.testing.assert_close(twin(x)[0], m(x)[0], **TOL)
    m.float()
    assert all(w.dtype == torch.float32 for w in m._flat_weights)


@pytest.mark.parametrize("name", ["rnn", "lstm_proj", "gru"])
def test_weight_norm_both_apis(name):
    m, ref = build(name)
    n = len(m._flat_weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.nn.utils.weight_norm(m, name="weight_ih_l0")
        assert sum(isinstance(w, nn.Parameter) for w in m._flat_weights) == n - 1
        torch.nn.utils.remove_weight_norm(m, name="weight_ih_l0")
    assert sum(isinstance(w, nn.Parameter) for w in m._flat_weights) == n
    assert "weight_ih_l0" in m._parameters
    x = torch.randn(4, 2, 2, dtype=DT)
    outs = []
    for mod in (m, ref):
        torch.nn.utils.parametrizations.weight_norm(mod, name="weight_hh_l0")
        with torch.no_grad():
            mod.parametrizations.weight_hh_l0.original0.mul_(2.0)     # g: the norm changes
        out = mod(x)[0]
        names = [n for n, _ in mod.named_parameters()]
        grads = torch.autograd.grad(out.sum(), list(mod.parameters()))
        outs.append((out, dict(zip(names, grads))))
    torch.testing.assert_close(outs[0][0], outs[1][0], **TOL)
    assert sorted(outs[0][1]) == sorted(outs[1][1])
    for k, g in outs[1][1].items():
        torch.testing.assert_close(outs[0][1][k], g, **TOL)


@pytest.mark.parametrize("name", FIVE)
@pytest.mark.parametrize("batch_first", [False, True])
def test_gradients_have_torchs_layout(name, batch_first):
    """Parameter and state gradients contiguous; the input gradient too
    (batch_first: the transpose of a contiguous (T, B, I) one, as in torch)."""
    m, _ = build(name, num_layers=2, bidirectional=True, batch_first=batch_first)
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(3, 4, 2, generator=gen, dtype=DT, requires_grad=True)
    st = [s.requires_grad_() for s in flat_state(initial_state(m, 3 if batch_first else 4, gen))]
    out, new = m(x, tuple(st) if m.state_is_tuple else st[0])
    gx, *rest = torch.autograd.grad([out, *flat_state(new)], [x, *st, *m.parameters()],
                                    [torch.ones_like(t) for t in [out, *flat_state(new)]])
    assert all(g.is_contiguous() for g in rest)
    assert (gx.transpose(0, 1) if batch_first else gx).is_contiguous()
