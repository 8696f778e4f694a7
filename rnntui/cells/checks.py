"""torch's argument checks for recurrent modules: the same conditions, order,
exception types and messages as ``torch.nn.RNNBase``, ``RNN``, ``LSTM`` and
``GRU`` (constructor and forward), so code that catches torch's errors, and
torch's own error-input tests, behave the same with the scratch cells."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "check_constructor_args", "reject_proj_size", "input_dims_message", "check_state_dims",
    "check_input", "check_size",
]


def check_constructor_args(dropout, num_layers, bias, batch_first, input_size, hidden_size,
                           proj_size) -> None:
    """``torch.nn.RNNBase``'s constructor checks, in its order (plus type
    checks of ``num_layers`` and ``proj_size``, which torch leaves to
    ``range()``: still a TypeError)."""
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
            stacklevel=4,
        )
    if not isinstance(bias, bool):
        raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
    if not isinstance(batch_first, bool):
        raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
    for arg, val in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(val, int):
            raise TypeError(f"{arg} should be of type int, got: {type(val).__name__}")
        if val <= 0:
            raise ValueError(f"{arg} must be greater than zero")
    for arg, val in (("num_layers", num_layers), ("proj_size", proj_size)):
        if not isinstance(val, int) or isinstance(val, bool):
            raise TypeError(f"{arg} should be of type int, got: {type(val).__name__}")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError(
            "proj_size should be a positive integer or zero to disable projections"
        )
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


def reject_proj_size(kwargs: dict, who: str) -> None:
    """What torch's RNN/GRU constructors do with keyword arguments beyond
    their signature: ``proj_size`` is a ValueError, anything else a TypeError."""
    if "proj_size" in kwargs:
        raise ValueError(f"proj_size argument is only supported for LSTM, not {who}")
    if kwargs:
        raise TypeError(f"__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")


def input_dims_message(module, dim: int) -> str:
    """torch's message for an input that is neither 2-D nor 3-D (a ValueError)."""
    if module.mode.startswith("RNN"):
        return f"RNN: Expected input to be 2D or 3D, got {dim}D tensor instead"
    return f"{type(module).__name__}: Expected input to be 2D or 3D, got {dim}D instead"


def check_state_dims(module, hx: Any, batched: bool) -> None:
    """The initial state has the input's batchedness (RuntimeError)."""
    want = 3 if batched else 2
    what = "batched 3-D" if batched else "unbatched 2-D"
    name = type(module).__name__
    if module.state_is_tuple:
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"{name} expects the state as a tuple (h_0, c_0)")
        if hx[0].dim() != want or hx[1].dim() != want:
            raise RuntimeError(
                f"For {what} input, hx and cx should also be {want}-D but got "
                f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors"
            )
    else:
        if isinstance(hx, (tuple, list)):
            raise TypeError(f"{name} expects the state as one tensor h_0")
        if hx.dim() != want:
            raise RuntimeError(
                f"For {what} input, hx should also be {want}-D but got {hx.dim()}-D tensor"
            )


def check_input(module, x: Tensor, want_dim: int) -> None:
    """``RNNBase.check_input``: dtype (ValueError), dimensions and feature size
    (RuntimeError) of the (batched or packed) input."""
    w = getattr(module, module._flat_weights_names[0])
    if x.dtype != w.dtype and not torch._C._is_any_autocast_enabled():
        raise ValueError(
            f"RNN input dtype ({x.dtype}) does not match weight dtype ({w.dtype}). "
            f"Convert input: input.to({w.dtype}), or convert model: model.to({x.dtype})"
        )
    if x.dim() != want_dim:
        raise RuntimeError(f"input must have {want_dim} dimensions, got {x.dim()}")
    if x.size(-1) != module.input_size:
        raise RuntimeError(
            f"input.size(-1) must be equal to input_size. Expected "
            f"{module.input_size}, got {x.size(-1)}"
        )


def check_size(t: Tensor, expected: tuple, msg: str) -> None:
    """``RNNBase.check_hidden_size`` (RuntimeError)."""
    if t.size() != expected:
        raise RuntimeError(msg.format(expected, list(t.size())))
