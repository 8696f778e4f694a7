"""Shared scaffolding for the from-scratch recurrent cells.

Every cell in :mod:`rnntui.cells` is a subclass of :class:`RecurrentBase`,
which owns everything that is *not* the recurrence itself:

* argument validation (the same checks and messages as ``torch.nn.RNNBase``),
* parameter registration under torch's names (``weight_ih_l{k}``,
  ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}``,
  ``_reverse`` suffix for the backward direction) and in torch's order, so
  ``state_dict()`` is interchangeable with ``torch.nn.RNN/LSTM/GRU`` and a
  ``torch.manual_seed`` gives the very same initial weights,
* the default initialisation ``U(-1/sqrt(H), 1/sqrt(H))``,
* the layer/direction loop: multi-layer stacking, bidirectional (the reverse
  direction reads the sequence back to front), dropout on the outputs of every
  layer but the last (train mode only), ``batch_first`` and unbatched 2-D
  inputs, default zero states, and the ``(L*D, B, H_out)`` final-state layout.

Subclasses provide two implementations of one layer in one direction:

``_run_fused(x, state, p, reverse)``
    the fast path used for training: the whole recurrence of the layer is a
    single :class:`torch.autograd.Function` with a hand-written
    backpropagation-through-time (one graph node per layer and direction,
    fused gate matmuls, weight gradients accumulated in the backward loop).
    Set ``module.fused = False`` to use the reference path everywhere (e.g.
    for double backward, which the fused kernels do not support).
``_run_steps(x, state, p, reverse, rec)``
    the readable reference: one step at a time with ordinary autograd ops,
    exactly the equations of the cell's docstring.  ``trace_cell`` uses it to
    record the gates and the per-step hidden states as real autograd nodes.

Shapes (``T`` time, ``B`` batch, ``I`` input size, ``H`` hidden size,
``H_out = proj_size or H``, ``L`` layers, ``D = 2 if bidirectional else 1``)::

    x        (T, B, I)            or (B, T, I) with batch_first, or (T, I)
    h_0, h_n (L*D, B, H_out)      never batch-first (as in torch)
    c_0, c_n (L*D, B, H)          LSTM family only
    output   (T, B, D*H_out)      or (B, T, D*H_out) with batch_first
"""

from __future__ import annotations

import functools
import gc
import math
import numbers
import warnings
from typing import Any, ClassVar, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable
from torch.nn import Parameter

from .spec import CellSpec

__all__ = ["RecurrentBase", "shift_prev", "gc_paused", "fused_backward"]


def gc_paused(fn):
    """Run ``fn`` with Python's cyclic garbage collector paused.

    The fused kernels create a few thousand short-lived tensor views per call;
    with the collector on, those allocations trigger collections that walk
    every live tensor (several ms per call, more than the arithmetic of a
    small layer).  Nothing here creates reference cycles, so deferring the
    collector until the loop is done is safe; it is re-enabled on exit (only if
    it was enabled before, so nesting and other callers are unaffected).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return wrapper


def shift_prev(seq: Tensor, first: Tensor, reverse: bool) -> Tensor:
    """The state *before* each step: ``prev[t] = seq[t-1]`` (``seq[t+1]`` when
    running in reverse) with ``first`` at the starting end.  ``seq`` is
    ``(T, B, X)`` and ``first`` is ``(B, X)``."""
    if reverse:
        return torch.cat([seq[1:], first.unsqueeze(0)], 0)
    return torch.cat([first.unsqueeze(0), seq[:-1]], 0)


class RecurrentBase(nn.Module):
    """Base class: stacking, directions, dropout, parameters, state layout.

    Subclasses pass their spec (``class LSTM(RecurrentBase, spec=SPEC)``), which
    sets the class attributes below, and implement ``_run_fused`` and
    ``_run_steps`` (see the module docstring).
    """

    #: the cell's declaration (set by ``class X(RecurrentBase, spec=SPEC)``)
    spec: ClassVar[CellSpec]
    #: rows of ``weight_ih`` per hidden unit (1 RNN, 3 GRU, 4 LSTM)
    gate_count: ClassVar[int] = 1
    #: the state is a ``(h, c)`` tuple (LSTM family)
    state_is_tuple: ClassVar[bool] = False
    #: has the multiplicative input ``m_t`` (``weight_im``/``weight_hm``/``bias_m``)
    multiplicative: ClassVar[bool] = False
    #: short registry name ("rnn", "lstm", ...)
    cell_name: ClassVar[str] = ""

    def __init_subclass__(cls, spec: CellSpec | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if spec is not None:
            cls.spec = spec
            cls.gate_count = spec.gate_count
            cls.state_is_tuple = spec.state_is_tuple
            cls.multiplicative = spec.multiplicative
            cls.cell_name = spec.name

    #: use the fused sequence kernels (set False to run the step-by-step
    #: autograd reference everywhere, e.g. for double backward)
    fused: bool = True

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        mult_bias: float = 1.0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        if (
            not isinstance(dropout, numbers.Number)
            or isinstance(dropout, bool)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the "
                "probability of an element being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, "
                "so non-zero dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={num_layers}",
                stacklevel=3,
            )
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(
                f"batch_first should be of type bool, got: {type(batch_first).__name__}"
            )
        for arg, val in (("input_size", input_size), ("hidden_size", hidden_size),
                         ("num_layers", num_layers), ("proj_size", proj_size)):
            if not isinstance(val, int) or isinstance(val, bool):
                raise TypeError(f"{arg} should be of type int, got: {type(val).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and "proj_size" not in self.spec.option_names:
            raise ValueError(
                f"proj_size is only supported by the LSTM cell, not by "
                f"{type(self).__name__} (got proj_size={proj_size})"
            )

        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.proj_size = proj_size
        self.mult_bias = float(mult_bias)

        D = 2 if bidirectional else 1
        G = self.gate_count * hidden_size
        H_out = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        self._roles: list[dict[str, Optional[str]]] = []
        for layer in range(num_layers):
            for direction in range(D):
                I_k = input_size if layer == 0 else H_out * D
                sfx = "_reverse" if direction == 1 else ""
                roles: dict[str, Optional[str]] = {
                    k: None for k in ("w_ih", "w_hh", "b_ih", "b_hh", "w_hr", "w_im", "w_hm", "b_m")
                }
                spec = [("w_ih", "weight_ih", (G, I_k)), ("w_hh", "weight_hh", (G, H_out))]
                if bias:
                    spec += [("b_ih", "bias_ih", (G,)), ("b_hh", "bias_hh", (G,))]
                if proj_size > 0:
                    spec += [("w_hr", "weight_hr", (proj_size, hidden_size))]
                if self.multiplicative:
                    spec += [("w_im", "weight_im", (I_k, I_k)), ("w_hm", "weight_hm", (I_k, H_out))]
                    if bias:
                        spec += [("b_m", "bias_m", (I_k,))]
                names = []
                for role, stem, shape in spec:
                    name = f"{stem}_l{layer}{sfx}"
                    self.register_parameter(name, Parameter(torch.empty(shape, **factory)))
                    roles[role] = name
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
                self._roles.append(roles)
        self.reset_parameters()

    # ------------------------------------------------------------------ params
    def reset_parameters(self) -> None:
        """torch's default: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), drawn in
        torch's registration order; then ``bias_m`` (multiplicative cells) is
        set to the constant ``mult_bias``."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        with torch.no_grad():
            for name, w in self.named_parameters(recurse=False):
                w.uniform_(-stdv, stdv)
            self._reset_mult_bias()

    def _reset_mult_bias(self) -> None:
        if not self.multiplicative:
            return
        with torch.no_grad():
            for roles in self._roles:
                if roles["b_m"] is not None:
                    getattr(self, roles["b_m"]).fill_(self.mult_bias)

    def flatten_parameters(self) -> None:
        """No-op (kept so code written for torch's modules runs unchanged)."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def _layer_params(self, layer: int, direction: int) -> dict[str, Optional[Tensor]]:
        roles = self._roles[layer * (2 if self.bidirectional else 1) + direction]
        return {k: (None if n is None else getattr(self, n)) for k, n in roles.items()}

    @property
    def output_hidden_size(self) -> int:
        return self.proj_size if self.proj_size > 0 else self.hidden_size

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        if self.multiplicative:
            s += f", mult_bias={self.mult_bias}"
        return s

    # ----------------------------------------------------------------- forward
    def forward(self, input: Tensor, hx: Any = None, state: Any = None):
        """``(output, state)`` exactly like the torch module (``hx`` and
        ``state`` are the same argument; give at most one)."""
        if state is not None:
            if hx is not None:
                raise TypeError("give the initial state as hx or state, not both")
            hx = state
        return self._forward(input, hx, None)

    def _forward(self, input: Tensor, hx: Any, trace: Optional[dict]):
        if isinstance(input, nn.utils.rnn.PackedSequence):
            raise TypeError(f"{type(self).__name__} does not support PackedSequence inputs")
        if input.dim() not in (2, 3):
            raise ValueError(
                f"{type(self).__name__}: expected input to be 2-D or 3-D but "
                f"received {input.dim()}-D tensor"
            )
        batched = input.dim() == 3
        if not batched:
            x = input.unsqueeze(1)
        elif self.batch_first:
            x = input.transpose(0, 1)
        else:
            x = input
        if x.size(-1) != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {x.size(-1)}"
            )
        T, B = x.shape[0], x.shape[1]
        if T == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        D = 2 if self.bidirectional else 1
        H, H_out = self.hidden_size, self.output_hidden_size
        LD = self.num_layers * D

        if hx is None:
            h0 = x.new_zeros(LD, B, H_out)
            c0 = x.new_zeros(LD, B, H) if self.state_is_tuple else None
        else:
            if self.state_is_tuple:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{type(self).__name__} expects the state as a tuple (h_0, c_0)")
                h0, c0 = hx
            else:
                if isinstance(hx, (tuple, list)):
                    raise TypeError(f"{type(self).__name__} expects the state as one tensor h_0")
                h0, c0 = hx, None
            if not batched:
                if h0.dim() != 2 or (c0 is not None and c0.dim() != 2):
                    raise RuntimeError("for unbatched 2-D input, the state should also be 2-D")
                h0 = h0.unsqueeze(1)
                c0 = None if c0 is None else c0.unsqueeze(1)
            if tuple(h0.shape) != (LD, B, H_out):
                raise RuntimeError(
                    f"Expected hidden size {(LD, B, H_out)}, got {list(h0.shape)}"
                )
            if c0 is not None and tuple(c0.shape) != (LD, B, H):
                raise RuntimeError(
                    f"Expected hidden[1] size {(LD, B, H)}, got {list(c0.shape)}"
                )

        layer_in = x
        h_n: list[Tensor] = []
        c_n: list[Tensor] = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                idx = layer * D + d
                st = (h0[idx], c0[idx]) if self.state_is_tuple else h0[idx]
                p = self._layer_params(layer, d)
                rev = d == 1
                if trace is not None and layer == self.num_layers - 1 and d == 0:
                    out, new = self._run_steps(layer_in, st, p, rev, trace)
                elif self.fused:
                    out, new = self._run_fused(layer_in, st, p, rev)
                else:
                    out, new = self._run_steps(layer_in, st, p, rev, None)
                outs.append(out)
                if self.state_is_tuple:
                    h_n.append(new[0])
                    c_n.append(new[1])
                else:
                    h_n.append(new)
            layer_in = outs[0] if D == 1 else torch.cat(outs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)

        output = layer_in
        hn = torch.stack(h_n, 0)
        cn = torch.stack(c_n, 0) if self.state_is_tuple else None
        if not batched:
            output = output.squeeze(1)
            hn = hn.squeeze(1)
            cn = None if cn is None else cn.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, ((hn, cn) if self.state_is_tuple else hn)

    # ------------------------------------------------------- subclass hooks
    def _run_fused(self, x: Tensor, state: Any, p: dict, reverse: bool):  # pragma: no cover
        raise NotImplementedError

    def _run_steps(self, x: Tensor, state: Any, p: dict, reverse: bool,
                   rec: Optional[dict]):  # pragma: no cover
        raise NotImplementedError


def fused_backward(fn):
    """Decorator for the hand-written backward of the fused kernels: no
    double backward (use ``module.fused = False`` for that) and no GC pauses."""
    return once_differentiable(gc_paused(fn))


def proj_in(x: Tensor, w: Tensor, b: Optional[Tensor]) -> Tensor:
    """``x @ w.T + b`` for a whole ``(T, B, I)`` sequence in one matmul."""
    T, B, I = x.shape
    x2 = x.reshape(T * B, I)
    y = torch.mm(x2, w.t()) if b is None else torch.addmm(b, x2, w.t())
    return y.view(T, B, w.shape[0])


def add_bias(a: Optional[Tensor], b: Optional[Tensor]) -> Optional[Tensor]:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def time_order(T: int, reverse: bool):
    return range(T - 1, -1, -1) if reverse else range(T)


def record(rec: Optional[dict], **tensors: Tensor) -> None:
    """Append detached per-step tensors to the trace recorder ``rec``."""
    if rec is None:
        return
    for k, v in tensors.items():
        rec.setdefault(k, []).append(v.detach())


def slot_order(T: int, reverse: bool):
    """Slots of a (T+1)-slot state buffer: step ``t`` reads the previous state
    from slot ``R[t]`` and writes its new state into slot ``W[t]``; the initial
    state goes into slot ``first``.  Then ``buf[1:]`` (forward) or ``buf[:-1]``
    (reverse) holds the new states in time order, and ``buf[:-1]`` /
    ``buf[1:]`` the states each step reads."""
    if reverse:
        return list(range(1, T + 1)), list(range(T)), T
    return list(range(T)), list(range(1, T + 1)), 0


def in_time_order(buf: Tensor, reverse: bool) -> Tensor:
    """The T slots written by the steps, in time order."""
    return buf[:-1] if reverse else buf[1:]


def read_slots(buf: Tensor, reverse: bool) -> Tensor:
    """The T slots read by the steps, in time order."""
    return buf[1:] if reverse else buf[:-1]


def input_slots(x: Tensor, h0: Tensor, Hin: int, first: int, reverse: bool) -> Tensor:
    """The (T+1, Hin, B) buffer whose read slots hold ``[h_{t-1}; x_t; 1]``
    (feature-major): ``x`` (T, B, I) and the trailing 1 (when there is a bias
    column) are filled in, and ``h0`` (B, H) goes into slot ``first``.  The steps
    write each new ``h_t`` into the top rows of the next slot."""
    T, B, I = x.shape
    H = h0.shape[-1]
    HX = x.new_empty((T + 1, Hin, B))
    xs = read_slots(HX, reverse)
    xs[:, H:H + I] = x.transpose(1, 2)
    if Hin > H + I:
        xs[:, -1] = 1.0
    HX[first, :H] = h0.t()
    return HX
