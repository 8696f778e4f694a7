"""Cell registry: name -> module, ``build_cell``, init schemes, ``trace_cell``.

>>> cell = build_cell("lstm", input_size=11, hidden_size=128)          # scratch
>>> ref = build_cell("lstm", backend="builtin", input_size=11, hidden_size=128)
>>> cell.load_state_dict(ref.state_dict())                              # interchangeable

Init schemes (``init=``), applied identically to scratch and builtin modules
(they share parameter names):

``"default"``
    torch's ``U(-1/sqrt(H), 1/sqrt(H))`` for every parameter.
``"normal"``
    the seed notebook / Keras ``random_normal``: every weight ~ N(0, init_std),
    every bias 0.
``"chrono"``
    LSTM and GRU families (Tallec & Ollivier 2018, "Can recurrent neural
    networks warp time?", which derive it for both): default init, then per
    unit ``b = log(U(1, chrono_tmax - 1))``.  LSTM: ``b_f = b`` and ``b_i = -b``
    in ``bias_ih``, the i and f slices of ``bias_hh`` zero.  GRU (torch's
    ``h_t = (1 - z) n + z h_{t-1}``, so z is the gate that keeps): ``b_z = b``
    in ``bias_ih``, the z slice of ``bias_hh`` zero; the leak ``1 - z ≈ 1/(1+u)``
    at init is the LSTM's ``1 - f``.  ``chrono_tmax`` (the longest dependency
    to expect, e.g. the sequence length) is required; it is ignored by the
    other schemes.

``forget_bias`` (LSTM family, not with "chrono"): after init, the forget-gate
slice of ``bias_ih`` is set to ``forget_bias`` and that of ``bias_hh`` to 0.
``mult_bias`` (mLSTM/mGRU): the value of ``b_m`` after any init (default 1.0,
so ``x̂ ≈ x`` at init; the seed notebook's 0.0 is available).
"""

from __future__ import annotations

import importlib
import inspect
import numbers
import warnings
from typing import Any, Optional

import torch
from torch import Tensor, nn

from .base import RecurrentBase
from .spec import INIT_SCHEMES, CellSpec, cell_spec, cell_specs

__all__ = [
    "CELL_NAMES", "BACKENDS", "INIT_SCHEMES", "build_cell", "init_cell", "cell_class",
    "supports_builtin", "state_is_tuple", "trace_cell", "scratch_twin", "spec_of",
]

CELL_NAMES: tuple[str, ...] = tuple(cell_specs())
BACKENDS = ("scratch", "builtin")


def cell_class(name: str) -> type[RecurrentBase]:
    """The from-scratch class of cell ``name`` (its module is imported on first use)."""
    spec = cell_spec(name)
    return getattr(importlib.import_module(spec.module), spec.cls)


def _builtin_class(spec: CellSpec) -> type[nn.Module] | None:
    return getattr(nn, spec.builtin) if spec.builtin else None


def _allowed(values) -> str:
    return ", ".join(str(v) for v in values)


def supports_builtin(name: str) -> bool:
    """True when torch has a built-in module for cell ``name``."""
    return cell_spec(name).has_builtin


def state_is_tuple(name: str) -> bool:
    """True when the cell's state is an ``(h, c)`` tuple (LSTM family)."""
    return cell_spec(name).state_is_tuple


def spec_of(module: nn.Module) -> CellSpec:
    """The spec of a recurrent module: a from-scratch cell or its torch twin."""
    if isinstance(module, RecurrentBase):
        return module.spec
    for spec in cell_specs().values():
        builtin = _builtin_class(spec)
        if builtin is not None and type(module) is builtin:
            return spec
    raise TypeError(f"not a recurrent cell module: {type(module).__name__}")


def _option_defaults() -> dict[str, Any]:
    """Default of every key some cell declares in its spec's ``options``."""
    return {k.name: k.default for spec in cell_specs().values() for k in spec.declared_keys}


def build_cell(
    name: str,
    *,
    backend: str = "scratch",
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    bias: bool = True,
    batch_first: bool = True,
    init: str = "default",
    init_std: float = 0.05,
    chrono_tmax: Optional[float] = None,
    **options: Any,
) -> nn.Module:
    """Build a recurrent module by name (see the module docstring).

    ``backend="scratch"`` gives this package's cells, ``"builtin"`` torch's
    module with the same equations (the spec's ``builtin``).  ``options`` are the
    cells' own keys (their specs' ``options``: ``nonlinearity`` for rnn,
    ``proj_size``/``forget_bias`` for the LSTM, ``mult_bias`` for the
    multiplicative cells); one that cell ``name`` does not read must keep its
    default.  Raises ValueError for unknown names and invalid combinations.
    """
    spec = cell_spec(name)
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} is not known; allowed: {_allowed(BACKENDS)}")
    if backend == "builtin" and not spec.has_builtin:
        raise ValueError(
            f"backend 'builtin' is not available for cell {name!r}; allowed: scratch"
        )
    defaults = _option_defaults()
    for key, value in options.items():
        if key not in defaults:
            raise TypeError(f"build_cell() got an unexpected keyword argument {key!r}")
        if key not in spec.option_names and value != defaults[key]:
            users = [n for n, s in cell_specs().items() if key in s.option_names]
            raise ValueError(f"{key}={value!r} is not supported by cell {name!r}; allowed cells: {_allowed(users)}")
    forget_bias = options.get("forget_bias")
    _check_init_args(spec, init, init_std, forget_bias, chrono_tmax, bias)

    scratch = cell_class(name)
    accepted = inspect.signature(scratch.__init__).parameters
    kw: dict[str, Any] = dict(
        input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, bias=bias,
        batch_first=batch_first, dropout=dropout, bidirectional=bidirectional,
    )
    kw.update({k: options.get(k, defaults[k]) for k in spec.option_names if k in accepted})
    cls = _builtin_class(spec) if backend == "builtin" else scratch
    module = cls(**kw)
    init_cell(module, init, init_std=init_std, forget_bias=forget_bias,
              chrono_tmax=chrono_tmax)
    return module


def _check_init_args(spec: CellSpec, init, init_std, forget_bias, chrono_tmax, bias) -> None:
    if init not in INIT_SCHEMES:
        raise ValueError(f"init {init!r} is not known; allowed: {_allowed(INIT_SCHEMES)}")
    if init not in spec.init_schemes:
        users = [n for n, s in cell_specs().items() if init in s.init_schemes]
        raise ValueError(f"init {init!r} is not available for cell {spec.name!r}; allowed cells: {_allowed(users)}")
    if init == "chrono":
        if not bias:
            raise ValueError("init 'chrono' sets gate biases and needs bias=True")
        if (chrono_tmax is None or not isinstance(chrono_tmax, numbers.Real)
                or isinstance(chrono_tmax, bool) or not chrono_tmax >= 2):
            raise ValueError(
                f"init 'chrono' needs chrono_tmax, a number >= 2 (the longest time "
                f"dependency, e.g. the sequence length); got {chrono_tmax!r}"
            )
        if forget_bias is not None:
            raise ValueError("forget_bias cannot be combined with init 'chrono'; allowed: None")
    if init == "normal":
        if not isinstance(init_std, numbers.Real) or not init_std > 0:
            raise ValueError(f"init_std must be a number > 0, got {init_std!r}")
    if forget_bias is not None:
        if "forget_bias" not in spec.option_names:
            users = [n for n, s in cell_specs().items() if "forget_bias" in s.option_names]
            raise ValueError(f"forget_bias is not supported by cell {spec.name!r}; allowed cells: {_allowed(users)}")
        if not bias:
            raise ValueError("forget_bias needs bias=True")
        if not isinstance(forget_bias, numbers.Real):
            raise ValueError(f"forget_bias must be a number or None, got {forget_bias!r}")


def _layer_suffixes(module: nn.Module):
    D = 2 if module.bidirectional else 1
    for layer in range(module.num_layers):
        for d in range(D):
            yield f"_l{layer}" + ("_reverse" if d == 1 else "")


def init_cell(
    module: nn.Module,
    init: str = "default",
    *,
    init_std: float = 0.05,
    forget_bias: Optional[float] = None,
    chrono_tmax: Optional[float] = None,
) -> nn.Module:
    """(Re)initialise ``module`` (scratch or builtin) in place; see module doc.

    ``"default"`` keeps the module's fresh construction init (it is torch's
    default already) — call ``module.reset_parameters()`` for a new draw."""
    _check_init_args(spec_of(module), init, init_std, forget_bias, chrono_tmax, module.bias)
    H = module.hidden_size
    with torch.no_grad():
        if init == "normal":
            for pname, w in module.named_parameters(recurse=False):
                if pname.startswith("weight"):
                    w.normal_(0.0, float(init_std))
                else:
                    w.zero_()
        elif init == "chrono":
            tmax = float(chrono_tmax)
            for sfx in _layer_suffixes(module):
                b_ih: Tensor = getattr(module, "bias_ih" + sfx)
                b_hh: Tensor = getattr(module, "bias_hh" + sfx)
                u = torch.empty(H, dtype=b_ih.dtype, device=b_ih.device)
                if tmax - 1 > 1:
                    u.uniform_(1.0, tmax - 1)
                else:
                    u.fill_(1.0)
                b_keep = torch.log(u)
                b_ih[H:2 * H] = b_keep  # f (LSTM: i, f, g, o) or z (GRU: r, z, n)
                b_hh[H:2 * H] = 0.0
                if spec_of(module).state_is_tuple:  # LSTM family: the input gate opposes f
                    b_ih[:H] = -b_keep
                    b_hh[:H] = 0.0
        if forget_bias is not None:
            for sfx in _layer_suffixes(module):
                getattr(module, "bias_ih" + sfx)[H:2 * H] = float(forget_bias)
                getattr(module, "bias_hh" + sfx)[H:2 * H] = 0.0
        if isinstance(module, RecurrentBase):
            module._reset_mult_bias()
    return module


def scratch_twin(module: nn.Module) -> RecurrentBase:
    """The from-scratch module equivalent to ``module`` (itself if it already
    is one), with the same weights and train/eval mode."""
    if isinstance(module, RecurrentBase):
        return module
    spec = spec_of(module)
    cls = cell_class(spec.name)
    accepted = inspect.signature(cls.__init__).parameters
    p = next(module.parameters())
    kw: dict[str, Any] = dict(
        input_size=module.input_size, hidden_size=module.hidden_size,
        num_layers=module.num_layers, bias=module.bias, batch_first=module.batch_first,
        dropout=module.dropout, bidirectional=module.bidirectional,
        device=p.device, dtype=p.dtype,
    )
    kw.update({k: getattr(module, k) for k in spec.option_names if k in accepted and hasattr(module, k)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        twin = cls(**kw)
    twin.load_state_dict(module.state_dict())
    twin.train(module.training)
    return twin


def trace_cell(module: nn.Module, x: Tensor, state: Any = None) -> dict:
    """Run ``x`` through ``module`` (or its from-scratch twin when it is a torch
    built-in) recording the internals of the **top layer, forward direction**.

    ``x`` is batch-first iff ``module.batch_first``.  Returns a dict with

    * gates/states stacked over time, (T, B, H), detached:
      LSTM/mLSTM ``i, f, g, o, c, h``; GRU/mGRU ``r, z, n, h``; RNN ``h``;
      mLSTM/mGRU also ``m`` (T, B, I_top),
    * ``h_steps``: list of the T hidden states (B, H) that are the actual
      autograd nodes fed to the next step, so
      ``torch.autograd.grad(loss(output), h_steps)`` is dL/dh_t for every t,
    * ``output`` and ``state``: the module's normal forward result (built
      from ``h_steps``).
    """
    twin = scratch_twin(module)
    rec: dict = {}
    with torch.enable_grad():
        output, new_state = twin._forward(x, state, rec)
    h_steps = rec.pop("h_steps")
    result = {k: torch.stack(v, 0) for k, v in rec.items()}
    result["h_steps"] = h_steps
    result["output"] = output
    result["state"] = new_state
    return result
