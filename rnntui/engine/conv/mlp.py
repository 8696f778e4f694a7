"""A multilayer perceptron from scratch, with and without softmax.

For an input x of n features, L hidden layers of size H and an output of size O:

    h₀ = x
    h_l = φ(W_l h_{l−1} + b_l),   W_l: (H, n) for l = 1, (H, H) after,   l = 1 … L
    z   = W_o h_L + b_o,          W_o: (O, H)  (O × n when L = 0)
    y   = z                       without softmax
    y_k = e^(z_k − m) / Σ_j e^(z_j − m),   m = max_j z_j        with softmax

(subtracting the maximum changes nothing mathematically and keeps e^z finite).
Weights are stored as ``torch.nn.Linear`` stores them, ``(out, in)``, so that
``y = x Wᵀ + b`` is ``torch.nn.functional.linear(x, W, b)``.  Inputs may be a
vector ``(n,)`` or a batch ``(B, n)``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from rnntui.engine.conv.ops import activate, as_tensor
from rnntui.engine.conv.spec import ConvError

Params = list[tuple[torch.Tensor, torch.Tensor]]
"""[(W₁, b₁), …, (W_L, b_L), (W_o, b_o)]."""


def softmax(z: torch.Tensor) -> torch.Tensor:
    """e^(z_k − max z) / Σ_j e^(z_j − max z) over the last axis."""
    e = torch.exp(z - z.amax(dim=-1, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """x Wᵀ + b: ``(…, in)`` with ``(out, in)`` and ``(out,)`` → ``(…, out)``."""
    return x @ weight.T + bias


def init_mlp(in_features: int, hidden_layers: int, hidden_size: int, output_size: int,
             generator: torch.Generator) -> Params:
    """Weights and biases from U(−1/√n, 1/√n), n the layer's fan-in
    (``torch.nn.Linear``'s default distribution), layer by layer from ``generator``."""
    for key, value, low in (("in_features", in_features, 1), ("hidden_layers", hidden_layers, 0),
                            ("hidden_size", hidden_size, 1), ("output_size", output_size, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConvError(key, f"got {value!r}; allowed: an integer >= {low}")
    sizes = [in_features] + [hidden_size] * hidden_layers + [output_size]
    params: Params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / fan_in ** 0.5
        weight = (torch.rand(fan_out, fan_in, generator=generator) * 2 - 1) * bound
        bias = (torch.rand(fan_out, generator=generator) * 2 - 1) * bound
        params.append((weight, bias))
    return params


def mlp_forward(x: Any, params: Params, activation: str = "tanh", softmax_output: bool = False) -> torch.Tensor:
    """The module docstring's forward pass with given ``params``: ``(n,)`` or ``(B, n)`` → ``(O,)`` or ``(B, O)``."""
    h = as_tensor(x, "vector")
    if h.dim() not in (1, 2) or h.shape[-1] != params[0][0].shape[1]:
        raise ConvError("vector", f"got shape {tuple(h.shape)}; allowed: ({params[0][0].shape[1]},) "
                        f"or (B, {params[0][0].shape[1]})")
    for weight, bias in params[:-1]:
        h = activate(linear(h, weight.to(h.dtype), bias.to(h.dtype)), activation)
    z = linear(h, params[-1][0].to(h.dtype), params[-1][1].to(h.dtype))
    return softmax(z) if softmax_output else z


class MLPOutput(NamedTuple):
    output: torch.Tensor  # (O,) or (B, O): softmax(z) with softmax, z without
    params: Params


def mlp(vector: Any, hidden_layers: int, hidden_size: int, activation: str, output_size: int,
        softmax: bool = False, *, seed: int = 0, params: Params | None = None) -> MLPOutput:
    """The MLP of the module docstring on ``vector``; weights drawn by
    :func:`init_mlp` from ``seed`` unless ``params`` are given (so the same seed
    with and without ``softmax`` gives z and softmax(z) of the same network)."""
    x = as_tensor(vector, "vector")
    if x.dim() not in (1, 2) or 0 in x.shape:
        raise ConvError("vector", f"got shape {tuple(x.shape)}; allowed: (n,) or (B, n), non-empty")
    if params is None:
        params = init_mlp(int(x.shape[-1]), hidden_layers, hidden_size, output_size,
                          torch.Generator().manual_seed(seed))
    return MLPOutput(mlp_forward(x, params, activation, softmax), params)
