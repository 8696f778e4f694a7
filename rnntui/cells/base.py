"""Shared scaffolding for the from-scratch recurrent cells.

Every cell in :mod:`rnntui.cells` is a subclass of :class:`RecurrentBase`
(itself a :class:`torch.nn.RNNBase`, so ``isinstance`` checks, ``_flat_weights``,
``weight_norm``, pickling and ``.to()`` behave as for torch's modules), which
owns everything that is *not* the recurrence itself:

* argument validation (the same checks, order, exception types and messages as
  ``torch.nn.RNNBase`` and its forward),
* parameter registration under torch's names (``weight_ih_l{k}``,
  ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}``,
  ``_reverse`` suffix for the backward direction) and in torch's order, so
  ``state_dict()`` is interchangeable with ``torch.nn.RNN/LSTM/GRU`` and a
  ``torch.manual_seed`` gives the very same initial weights,
* the default initialisation ``U(-1/sqrt(H), 1/sqrt(H))``,
* the layer/direction loop: multi-layer stacking, bidirectional (the reverse
  direction reads the sequence back to front), dropout on the outputs of every
  layer but the last (train mode only), ``batch_first``, unbatched 2-D inputs,
  :class:`~torch.nn.utils.rnn.PackedSequence` inputs (see
  :mod:`rnntui.cells.packed`), default zero states, and the
  ``(L*D, B, H_out)`` final-state layout,
* the choice of path for each layer and direction (:meth:`RecurrentBase._run_layer`).

Subclasses provide two implementations of one layer in one direction:

``_fused_forward`` / ``_fused_backward``
    the fast path: whole-sequence kernels with a hand-written
    backpropagation-through-time (fused gate matmuls, weight gradients
    accumulated in the backward loop), taking the layer's raw parameters.
    :class:`FusedLayer` makes them one autograd node per layer and direction.
``_run_steps(x, state, p, reverse, rec)``
    the readable reference: one step at a time with ordinary autograd ops,
    exactly the equations of the cell's docstring.  ``trace_cell`` uses it to
    record the gates and the per-step hidden states as real autograd nodes.

Which one runs (:meth:`RecurrentBase._run_layer`, :meth:`FusedLayer.backward`):
the fused kernels by default; the step path with ``module.fused = False``,
under ``torch.func`` transforms (vmap, grad, jacrev, ...), forward-mode AD and
batched tensors, and for ``trace_cell``.  A backward that must itself be
differentiable (``create_graph=True``: double backward, gradient penalties) or
that runs on batched gradients (``jacobian(..., vectorize=True)``) recomputes
the layer with the step path from the saved inputs and differentiates that, so
higher-order gradients are exact on both paths.

Shapes (``T`` time, ``B`` batch, ``I`` input size, ``H`` hidden size,
``H_out = proj_size or H``, ``L`` layers, ``D = 2 if bidirectional else 1``)::

    x        (T, B, I)            or (B, T, I) with batch_first, or (T, I)
    h_0, h_n (L*D, B, H_out)      never batch-first (as in torch)
    c_0, c_n (L*D, B, H)          LSTM family only
    output   (T, B, D*H_out)      or (B, T, D*H_out) with batch_first
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd import forward_ad
from torch.nn import Parameter
from torch.nn.utils.rnn import PackedSequence

from .checks import (check_constructor_args, check_input, check_size, check_state_dims,
                     input_dims_message)
from .packed import run_packed, segments
from .spec import CellSpec

__all__ = ["RecurrentBase", "FusedLayer", "ROLES"]

#: parameter roles of one layer/direction, in torch's registration order
ROLES = ("w_ih", "w_hh", "b_ih", "b_hh", "w_hr", "w_im", "w_hm", "b_m")


def _batched(tensors) -> bool:
    """Any of ``tensors`` is a vmap-batched tensor (torch.func's or the legacy
    one behind ``autograd.grad(..., is_grads_batched=True)``)."""
    fx = torch._C._functorch
    return any(t is not None and (fx.is_batchedtensor(t) or fx.is_legacy_batchedtensor(t))
               for t in tensors)


def _transformed() -> bool:
    """A torch.func transform or forward-mode AD is active: the fused kernels
    (preallocated buffers, ``out=`` writes, no forward derivative) cannot run."""
    return torch._C._are_functorch_transforms_active() or forward_ad._current_level >= 0


class FusedLayer(torch.autograd.Function):
    """One layer in one direction through the cell's fused kernel: a single
    autograd node whose backward is the hand-written BPTT.

    ``apply(cell, reverse, roles, x, *state, *params)``: ``params`` are the
    layer's tensors for the parameter ``roles`` present.  When the backward
    has to be differentiable or batched (see the module docstring) it
    differentiates the step path instead, recomputed from the saved inputs.
    """

    @staticmethod
    def forward(ctx, cell, reverse: bool, roles: tuple, x: Tensor, *tensors: Tensor):
        n_state = 2 if cell.state_is_tuple else 1
        p = dict.fromkeys(ROLES)
        p.update(zip(roles, tensors[n_state:]))
        outs, saved = cell._fused_forward(x, tensors[:n_state], p, reverse, True)
        ctx.save_for_backward(x, *tensors, *saved)
        ctx.info = (cell, reverse, roles, n_state, len(tensors))
        return outs

    @staticmethod
    def backward(ctx, *grads):
        cell, reverse, roles, n_state, n = ctx.info
        saved = ctx.saved_tensors
        x, state, params = saved[0], saved[1:1 + n_state], saved[1 + n_state:1 + n]
        needs = ctx.needs_input_grad[3:]
        if torch.is_grad_enabled() or _batched(grads):
            return (None, None, None) + _step_path_grads(cell, reverse, roles, saved[:1 + n],
                                                         needs, grads)
        p = dict.fromkeys(ROLES)
        p.update(zip(roles, params))
        dx, dstate, dp = cell._fused_backward(saved[1 + n:], x, state, p, reverse, needs[0],
                                              grads)
        return (None, None, None, dx, *dstate, *(dp[r] for r in roles))


def _step_path_grads(cell, reverse, roles, inputs, needs, grads):
    """Gradients of the layer's outputs w.r.t. ``inputs`` (x, *state,
    *params) through the step path recomputed from them; differentiable when
    grad mode is on (``create_graph=True``)."""
    create = torch.is_grad_enabled()
    if create:
        # A fresh node per input: autograd.grad gives total derivatives, and a
        # parameter may also reach this layer through an input (the state of
        # a packed segment comes from the previous segment, same weights).
        # Differentiating w.r.t. these views keeps the partial derivative of
        # this layer alone, still connected to the inputs for the next order.
        inputs = tuple(t.view_as(t) if nd else t for t, nd in zip(inputs, needs))
    else:
        inputs = tuple(t.detach().requires_grad_(nd) for t, nd in zip(inputs, needs))
    n_state = 2 if cell.state_is_tuple else 1
    x, state = inputs[0], inputs[1:1 + n_state]
    p = dict.fromkeys(ROLES)
    p.update(zip(roles, inputs[1 + n_state:]))
    with torch.enable_grad():
        out, new = cell._run_steps(x, state if n_state == 2 else state[0], p, reverse, None)
    outs = (out, *(new if n_state == 2 else (new,)))
    wanted = [t for t, nd in zip(inputs, needs) if nd]
    got = iter(torch.autograd.grad(outs, wanted, grads, create_graph=create, allow_unused=True))
    return tuple(next(got) if nd else None for nd in needs)


class RecurrentBase(nn.RNNBase):
    """Base class: stacking, directions, dropout, parameters, state layout.

    Subclasses pass their spec (``class LSTM(RecurrentBase, spec=SPEC)``), which
    sets the class attributes below, and implement ``_fused_forward``,
    ``_fused_backward`` and ``_run_steps`` (see the module docstring).
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

    #: use the fused sequence kernels (False: the step-by-step autograd
    #: reference everywhere; results are the same either way)
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
        # nn.RNNBase.__init__ registers torch's own parameter sets only (and
        # rejects the multiplicative modes): validate and register here.
        nn.Module.__init__(self)
        factory = {"device": device, "dtype": dtype}
        check_constructor_args(dropout, num_layers, bias, batch_first, input_size, hidden_size,
                               proj_size)
        if proj_size and "proj_size" not in self.spec.option_names:
            raise ValueError(
                f"proj_size argument is only supported for LSTM, not {type(self).__name__}"
            )

        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        self.mult_bias = float(mult_bias)
        self._flat_weight_refs = []

        D = 2 if bidirectional else 1
        G = self.gate_count * hidden_size
        H_out = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        self._roles: list[tuple[tuple[str, str], ...]] = []
        for layer in range(num_layers):
            for direction in range(D):
                I_k = input_size if layer == 0 else H_out * D
                sfx = "_reverse" if direction == 1 else ""
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
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
                self._roles.append(tuple((role, name) for (role, _, _), name in zip(spec, names)))
        self._init_flat_weights()
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
                for role, name in roles:
                    if role == "b_m":
                        getattr(self, name).fill_(self.mult_bias)

    def flatten_parameters(self) -> None:
        """No-op: there are no cuDNN weight buffers to compact (kept so code
        written for torch's modules runs unchanged)."""

    def _layer_params(self, layer: int, direction: int) -> tuple[tuple[str, ...], list[Tensor]]:
        """The roles present and their tensors, read by attribute so that
        ``weight_norm``, parametrizations and ``functional_call`` apply."""
        roles = self._roles[layer * (2 if self.bidirectional else 1) + direction]
        return tuple(r for r, _ in roles), [getattr(self, n) for _, n in roles]

    @property
    def output_hidden_size(self) -> int:
        return self.proj_size if self.proj_size > 0 else self.hidden_size

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if self.multiplicative:
            s += f", mult_bias={self.mult_bias}"
        return s

    # ----------------------------------------------------------------- forward
    def forward(self, input: Any, hx: Any = None, state: Any = None):
        """``(output, state)`` exactly like the torch module, for tensors and
        PackedSequences (``hx`` and ``state`` are the same argument; give at
        most one)."""
        if state is not None:
            if hx is not None:
                raise TypeError("give the initial state as hx or state, not both")
            hx = state
        return self._forward(input, hx, None)

    def _forward(self, input: Any, hx: Any, trace: Optional[dict]):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        if input.dim() not in (2, 3):
            raise ValueError(input_dims_message(self, input.dim()))
        batched = input.dim() == 3
        if hx is not None:
            check_state_dims(self, hx, batched)
        if not batched:
            x = input.unsqueeze(1)
            if hx is not None:
                hx = tuple(h.unsqueeze(1) for h in hx) if self.state_is_tuple else hx.unsqueeze(1)
        else:
            x = input.transpose(0, 1) if self.batch_first else input
        check_input(self, x, 3)
        if x.shape[0] == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        h0, c0 = self._initial_state(x, hx, x.shape[1])

        def run(layer_in, st, roles, params, reverse, top):
            return self._run_layer(layer_in, st, roles, params, reverse, trace if top else None)

        output, hn, cn = self._layers(x, h0, c0, run)
        if not batched:
            output = output.squeeze(1)
            hn = hn.squeeze(1)
            cn = None if cn is None else cn.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, ((hn, cn) if self.state_is_tuple else hn)

    def _forward_packed(self, packed: PackedSequence, hx: Any):
        data, batch_sizes, sorted_idx, unsorted_idx = packed
        check_input(self, data, 2)
        segs = segments(batch_sizes)
        if hx is not None and sorted_idx is not None:      # user order -> sorted order
            hx = (tuple(h.index_select(1, sorted_idx) for h in hx) if self.state_is_tuple
                  else hx.index_select(1, sorted_idx))
        h0, c0 = self._initial_state(data, hx, int(batch_sizes[0]))

        def run(layer_in, st, roles, params, reverse, top):
            def layer(x, s, rev):
                return self._run_layer(x, s, roles, params, rev, None)
            return run_packed(layer, layer_in, segs, st, reverse)

        output, hn, cn = self._layers(data, h0, c0, run)
        if unsorted_idx is not None:                        # sorted order -> user order
            hn = hn.index_select(1, unsorted_idx)
            cn = None if cn is None else cn.index_select(1, unsorted_idx)
        out = PackedSequence(output, batch_sizes, sorted_idx, unsorted_idx)
        return out, ((hn, cn) if self.state_is_tuple else hn)

    def _layers(self, x: Tensor, h0: Tensor, c0: Optional[Tensor], run):
        """Stack layers and directions; ``run(layer_in, state, roles, params,
        reverse, top) -> (out, state)`` runs one of them (``top``: the top
        layer's forward direction, the one ``trace_cell`` records)."""
        D = 2 if self.bidirectional else 1
        layer_in = x
        h_n: list[Tensor] = []
        c_n: list[Tensor] = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                idx = layer * D + d
                st = (h0[idx], c0[idx]) if self.state_is_tuple else (h0[idx],)
                roles, params = self._layer_params(layer, d)
                out, new = run(layer_in, st, roles, params, d == 1,
                               layer == self.num_layers - 1 and d == 0)
                outs.append(out)
                h_n.append(new[0])
                if self.state_is_tuple:
                    c_n.append(new[1])
            layer_in = outs[0] if D == 1 else torch.cat(outs, -1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        cn = torch.stack(c_n, 0) if self.state_is_tuple else None
        return layer_in, torch.stack(h_n, 0), cn

    def _run_layer(self, x: Tensor, state: tuple, roles: tuple, params: list, reverse: bool,
                   trace: Optional[dict] = None):
        """One layer in one direction, ``x`` (T, B, I) -> ``(out, state)``:
        the one place that picks the path (see the module docstring)."""
        if trace is not None or not self.fused or _transformed() or _batched((x, *state)):
            p = dict.fromkeys(ROLES)
            p.update(zip(roles, params))
            out, new = self._run_steps(x, state if self.state_is_tuple else state[0], p,
                                       reverse, trace)
            return out, (new if self.state_is_tuple else (new,))
        tensors = (*state, *params)
        if torch.is_grad_enabled() and (x.requires_grad or any(t.requires_grad for t in tensors)):
            outs = FusedLayer.apply(self, reverse, roles, x, *tensors)
        else:
            p = dict.fromkeys(ROLES)
            p.update(zip(roles, params))
            outs, _ = self._fused_forward(x, state, p, reverse, False)
        return outs[0], tuple(outs[1:])

    def _initial_state(self, x: Tensor, hx: Any, B: int):
        """``(h_0, c_0)`` (c_0 None outside the LSTM family), zeros by default,
        checked against torch's expected sizes."""
        LD = self.num_layers * (2 if self.bidirectional else 1)
        h_shape = (LD, B, self.output_hidden_size)
        c_shape = (LD, B, self.hidden_size)
        if hx is None:
            h0 = x.new_zeros(h_shape)
            return h0, (x.new_zeros(c_shape) if self.state_is_tuple else None)
        h0, c0 = hx if self.state_is_tuple else (hx, None)
        if self.state_is_tuple:
            check_size(h0, h_shape, "Expected hidden[0] size {}, got {}")
            check_size(c0, c_shape, "Expected hidden[1] size {}, got {}")
        else:
            check_size(h0, h_shape, "Expected hidden size {}, got {}")
        return h0, c0

    # ------------------------------------------------------- subclass hooks
    def _fused_forward(self, x: Tensor, state: tuple, p: dict, reverse: bool,
                       need_grad: bool):  # pragma: no cover
        """-> ``((out, h_T[, c_T]), saved)``; ``saved``: tensors for backward."""
        raise NotImplementedError

    def _fused_backward(self, saved: tuple, x: Tensor, state: tuple, p: dict, reverse: bool,
                        need_dx: bool, grads: tuple):  # pragma: no cover
        """-> ``(dx, (dh_0[, dc_0]), {role: grad})``."""
        raise NotImplementedError

    def _run_steps(self, x: Tensor, state: Any, p: dict, reverse: bool,
                   rec: Optional[dict]):  # pragma: no cover
        raise NotImplementedError
