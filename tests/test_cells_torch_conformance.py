"""The scratch RNN/LSTM/GRU against PyTorch's own module test inputs.

Driven by ``torch.testing._internal.common_modules.module_db``: the entries for
``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` give the sample inputs torch's
ModuleInfo tests use (``module_inputs_func``, with the PackedSequence samples
switched on) and the error inputs (``module_error_inputs_func``).  Each sample
is run through the scratch class and through torch's class with the same
weights; the checks follow torch's test_modules.py: forward (train and eval)
and the unbatched reference, gradients, gradcheck and gradgradcheck, output
and gradient contiguity, non-contiguous inputs, state_dict round trip, and
the exception type and message of every error input.

Tolerances: everything runs in float64, where the scratch kernels agree with
torch's to ~1e-15; 1e-10 leaves room for the different summation order.
"""

from __future__ import annotations

import functools
import gc
import io
import re
import warnings

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence

from rnntui.cells import GRU, LSTM, RNN

SCRATCH = {"nn.RNN": RNN, "nn.LSTM": LSTM, "nn.GRU": GRU}
DT = torch.float64
TOL = dict(rtol=1e-10, atol=1e-10)

# How many sample inputs (PackedSequence samples included) and error inputs
# torch 2.13's module_db holds per module.  The tests are parametrized by index
# so that torch.testing._internal (~2000 modules and the whole module_db, ~230k
# objects, ~5 s) is imported when these tests run, not whenever pytest collects
# the suite; test_module_db_inputs_are_all_covered fails if torch's lists change.
N_SAMPLES = {"nn.RNN": 64, "nn.GRU": 32, "nn.LSTM": 32}
N_ERRORS = {"nn.RNN": 14, "nn.GRU": 14, "nn.LSTM": 14}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@functools.cache
def _module_db() -> dict:
    from torch.testing._internal.common_modules import module_db

    # ~230k objects that live until the process ends: frozen, the full collections
    # of the later tests cost what they did (measured 1.0 s instead of 0.36 s)
    gc.freeze()
    return {mi.name: mi for mi in module_db if mi.name in SCRATCH}


@functools.cache
def _samples(name: str, dtype=DT) -> list:
    mi = _module_db()[name]
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return list(mi.module_inputs_func(mi, device="cpu", dtype=dtype,
                                          requires_grad=dtype == DT, training=True,
                                          with_packed_sequence=True))


@functools.cache
def _errors(name: str) -> list:
    mi = _module_db()[name]
    return list(mi.module_error_inputs_func(mi, device="cpu", dtype=torch.float32,
                                            requires_grad=False, training=True))


def _params(counts: dict, stride: int = 1) -> list:
    ids = [(n, i) for n, k in counts.items() for i in range(k)][::stride]
    return [pytest.param(n, i, id=f"{n}-{i}") for n, i in ids]


SAMPLES = _params(N_SAMPLES)


def test_module_db_inputs_are_all_covered():
    assert {n: len(_samples(n)) for n in SCRATCH} == N_SAMPLES
    assert {n: len(_samples(n, torch.float32)) for n in SCRATCH} == N_SAMPLES
    assert {n: len(_errors(n)) for n in SCRATCH} == N_ERRORS


def _pair(name, sample, dtype=DT):
    """(torch module, scratch module) with the same weights."""
    args, kwargs = sample.constructor_input.args, sample.constructor_input.kwargs
    ref = _module_db()[name].module_cls(*args, **kwargs).to(dtype)
    mine = SCRATCH[name](*args, **kwargs).to(dtype)
    mine.load_state_dict(ref.state_dict())
    return ref, mine


def _tensors(obj) -> list:
    """The differentiable tensors of forward args/outputs, in order (a
    PackedSequence contributes its data; batch_sizes and indices are compared
    separately by :func:`_assert_same`)."""
    if isinstance(obj, PackedSequence):
        return [obj.data]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _tensors(o)]
    return [obj] if isinstance(obj, torch.Tensor) else []


def _rebuild(obj, it):
    """``obj`` with its :func:`_tensors` replaced, in order, by ``next(it)``."""
    if isinstance(obj, PackedSequence):
        return PackedSequence(next(it), obj.batch_sizes, obj.sorted_indices, obj.unsorted_indices)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_rebuild(o, it) for o in obj)
    return next(it) if isinstance(obj, torch.Tensor) else obj


def _assert_same(a, b, **tol):
    if isinstance(a, PackedSequence):
        assert isinstance(b, PackedSequence)
        for x, y in zip(a[1:], b[1:]):
            assert (x is None and y is None) or torch.equal(x, y)
    ta, tb = _tensors(a), _tensors(b)
    assert len(ta) == len(tb)
    for x, y in zip(ta, tb):
        assert x.shape == y.shape
        torch.testing.assert_close(x, y, **(tol or TOL))


def _grads(module, args, seed=0, second=False):
    """Gradients of a fixed random linear function of every output w.r.t. the
    differentiable inputs and the parameters (``second``: then the gradients
    of a random linear function of those, through ``create_graph=True``)."""
    out = module(*args)
    outs = _tensors(out)
    gen = torch.Generator().manual_seed(seed)
    gos = [torch.randn(o.shape, generator=gen, dtype=o.dtype) for o in outs]
    wrt = [t for t in _tensors(args) if t.requires_grad] + list(module.parameters())
    grads = torch.autograd.grad(outs, wrt, gos, create_graph=second)
    if not second:
        return out, grads
    vs = [torch.randn(g.shape, generator=gen, dtype=g.dtype) for g in grads]
    return out, torch.autograd.grad(grads, wrt, vs, materialize_grads=True)


# ------------------------------------------------------------------ samples
@pytest.mark.parametrize("name,i", SAMPLES)
def test_forward_gradients_and_layout_match_torch(name, i):
    sample = _samples(name)[i]
    ref, mine = _pair(name, sample)
    args = sample.forward_input.args
    for training in (True, False):
        ref.train(training)
        mine.train(training)
        _assert_same(mine(*args), ref(*args))
    out, g_mine = _grads(mine, args)
    _, g_ref = _grads(ref, args)
    for a, b in zip(g_mine, g_ref):
        torch.testing.assert_close(a, b, **TOL)
    for a, b in zip(_grads(mine, args, second=True)[1], _grads(ref, args, second=True)[1]):
        torch.testing.assert_close(a, b, **TOL)           # double backward
    # torch's test_memory_format: outputs and input gradients are contiguous
    assert all(t.is_contiguous() for t in _tensors(out))
    assert all(g.is_contiguous() for g in g_mine)
    if sample.reference_fn is not None and not isinstance(args[0], PackedSequence):
        # torch's unbatched reference: the same input with a batch of one
        _assert_same(mine(*args), sample.reference_fn(mine, *args))


def _gradcheck_fn(mine, args):
    """``(fn, inputs)`` for gradcheck: ``fn(*differentiable inputs, flat)`` ->
    the module's output tensors, with every parameter cut out of the one vector
    ``flat`` (fast-mode gradcheck costs two evaluations per input tensor, so
    one vector for all parameters keeps it cheap without checking any less)."""
    names = [n for n, _ in mine.named_parameters()]
    shapes = [p.shape for p in mine.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in mine.parameters()]).requires_grad_()
    leaves = _tensors(args)
    diff = [t for t in leaves if t.requires_grad]

    def fn(*ts):
        it = iter(ts[:-1])
        new_args = _rebuild(args, iter([next(it) if t.requires_grad else t for t in leaves]))
        parts = ts[-1].split([s.numel() for s in shapes])
        params = {n: p.view(s) for n, p, s in zip(names, parts, shapes)}
        return tuple(_tensors(torch.func.functional_call(mine, params, new_args)))

    return fn, diff + [flat]


# every 3rd sample: the kinds (no state, initial state, packed 2 or 5 sequences)
# repeat every 2 or 4 samples, so this visits each kind and option; all samples
# have their first and second derivatives compared with torch's above, and
# test_cells_dropin.py gradgradchecks every option of every cell
@pytest.mark.parametrize("name,i", SAMPLES[::3])
def test_gradcheck_and_gradgradcheck(name, i):
    sample = _samples(name)[i]
    _, mine = _pair(name, sample)
    fn, inputs = _gradcheck_fn(mine, sample.forward_input.args)
    assert torch.autograd.gradcheck(fn, inputs, fast_mode=True)
    assert torch.autograd.gradgradcheck(fn, inputs, fast_mode=True, check_undefined_grad=False)


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("name,i", SAMPLES)
def test_float32_forward_matches_torch(name, i):
    """torch's test_forward also runs in float32: equal within torch's own
    float32 defaults (rtol 1.3e-6, atol 1e-5)."""
    sample = _samples(name, torch.float32)[i]
    ref, mine = _pair(name, sample, torch.float32)
    args = sample.forward_input.args
    _assert_same(mine(*args), ref(*args), rtol=1.3e-6, atol=1e-5)
    assert all(t.dtype == torch.float32 for t in _tensors(mine(*args)))


@pytest.mark.parametrize("name,i", SAMPLES)
def test_non_contiguous_inputs(name, i):
    """torch's test_non_contiguous_tensors: strided copies of the inputs give
    the same outputs and gradients."""
    sample = _samples(name)[i]
    _, mine = _pair(name, sample)
    args = sample.forward_input.args

    def strided(t):
        out = torch.repeat_interleave(t.detach(), 2, dim=-1)[..., ::2]
        assert not out.is_contiguous() or out.shape[-1] == 1
        return out.requires_grad_(t.requires_grad)

    nc_args = _rebuild(args, iter([strided(t) for t in _tensors(args)]))
    out_c, g_c = _grads(mine, args)
    out_nc, g_nc = _grads(mine, nc_args)
    _assert_same(out_nc, out_c)
    for a, b in zip(g_nc, g_c):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("name,i", SAMPLES[::4])
def test_factory_kwargs_and_meta_device(name, i):
    """torch's test_factory_kwargs and test_device_ctx_init: dtype/device
    reach every parameter, and construction under ``torch.device("meta")``
    gives the same parameter metadata as torch's module."""
    sample = _samples(name)[i]
    args, kwargs = sample.constructor_input.args, sample.constructor_input.kwargs
    m = SCRATCH[name](*args, **kwargs, dtype=torch.float64, device="cpu")
    assert all(p.dtype == torch.float64 and p.device.type == "cpu" for p in m.parameters())
    with torch.device("meta"):
        mine = SCRATCH[name](*args, **kwargs)
        ref = _module_db()[name].module_cls(*args, **kwargs)
    pairs = list(zip(mine.named_parameters(), ref.named_parameters(), strict=True))
    for (n1, p1), (n2, p2) in pairs:
        assert n1 == n2 and p1.is_meta and p1.shape == p2.shape and p1.dtype == p2.dtype


@pytest.mark.parametrize("name,i", SAMPLES[::4])
def test_state_dict_round_trip(name, i):
    sample = _samples(name)[i]
    ref, mine = _pair(name, sample)
    buf = io.BytesIO()
    torch.save(mine.state_dict(), buf)
    buf.seek(0)
    sd = torch.load(buf, weights_only=True)
    assert list(sd) == list(ref.state_dict())
    ref2 = type(ref)(*sample.constructor_input.args, **sample.constructor_input.kwargs).to(DT)
    ref2.load_state_dict(sd)
    args = sample.forward_input.args
    _assert_same(mine(*args), ref2(*args))


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize("name,i", _params(N_ERRORS))
def test_error_inputs_raise_like_torch(name, i):
    from torch.testing._internal.common_modules import ModuleErrorEnum

    error = _errors(name)[i]
    inp = error.module_error_input
    c_args, c_kwargs = inp.constructor_input.args, inp.constructor_input.kwargs
    cls = SCRATCH[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if error.error_on == ModuleErrorEnum.CONSTRUCTION_ERROR:
            with pytest.raises(error.error_type) as info:
                cls(*c_args, **c_kwargs)
        else:
            m = cls(*c_args, **c_kwargs)
            with pytest.raises(error.error_type) as info:
                m(*inp.forward_input.args, **inp.forward_input.kwargs)
    assert re.search(error.error_regex, str(info.value)), str(info.value)
