"""Seed 004's CNN, built from the primitives of ``ops`` and ``mlp``.

    image (H, W, C)
    conv1  16 filters 3×3, stride 1, no padding, ReLU   → (H−2, W−2, 16)
    pool1  max 2×2, stride 2                            → (⌊(H−2−2)/2⌋+1, …, 16)
    conv2  32 filters 3×3, stride 1, no padding, ReLU   → (…, 32)
    pool2  max 2×2, stride 2                            → (…, 32)
    gap    global average pooling                       → (32,)
    mlp    one hidden layer of 20 tanh units            → (20,) → 1000 outputs,
           shown with and without softmax

A 64×64 image gives 62 → 31 → 29 → 14 → (32,) → (20,) → (1000,).  Every size
follows N′ = ⌊(N − K + 2P)/S⌋ + 1.  The seed printed (27, 27, 32) after a
``pool_size=2, stride=1`` pooling of a 55×55 map, which the formula makes 54×54;
27 is what stride 2 gives, so both poolings here have stride 2 (the window
size, as in the first one).  The seed's code left the conv activation to its
default; ReLU is the usual choice in a CNN and is used here.

Weights: filters and biases from U(−1/√fan_in, 1/√fan_in) as ``torch.nn``'s
default, drawn layer by layer from one ``torch.Generator`` seeded with ``seed``:
same seed, same network, same numbers.  Nothing is trained: this is the forward
path the seed asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from rnntui.engine.conv.mlp import Params, init_mlp, linear, softmax
from rnntui.engine.conv.ops import activate, conv_layer, pooling_layer, volume_tensor
from rnntui.engine.conv.spec import ConvError, output_size


@dataclass(frozen=True)
class Layer:
    """One stage of a CNN.  ``kind``: ``conv`` (``filters`` of ``size``×``size``),
    ``pool`` (``pool`` window ``size``, ``stride``), ``global`` (global ``pool``
    pooling) or ``mlp`` (``hidden_layers`` × ``hidden_size`` → ``outputs``)."""

    name: str
    kind: str
    size: int = 0
    filters: int = 0
    stride: int = 1
    padding: int = 0
    activation: str = "relu"
    pool: str = "max"
    hidden_layers: int = 0
    hidden_size: int = 0
    outputs: int = 0

    def describe(self) -> str:
        if self.kind == "conv":
            return (f"conv {self.filters} filters {self.size}×{self.size}, stride {self.stride}, "
                    f"padding {self.padding}, {self.activation}")
        if self.kind == "pool":
            return f"{self.pool} pool {self.size}×{self.size}, stride {self.stride}"
        if self.kind == "global":
            return f"global {'average' if self.pool == 'avg' else 'max'} pooling"
        return (f"MLP {self.hidden_layers} hidden × {self.hidden_size} {self.activation} → {self.outputs}")


SEED004_CNN: tuple[Layer, ...] = (
    Layer("conv1", "conv", size=3, filters=16, activation="relu"),
    Layer("pool1", "pool", size=2, stride=2, pool="max"),
    Layer("conv2", "conv", size=3, filters=32, activation="relu"),
    Layer("pool2", "pool", size=2, stride=2, pool="max"),
    Layer("gap", "global", pool="avg"),
    Layer("mlp", "mlp", hidden_layers=1, hidden_size=20, activation="tanh", outputs=1000),
)


def cnn_shapes(image_shape: tuple[int, ...], layers: tuple[Layer, ...] = SEED004_CNN) -> list[tuple[str, tuple[int, ...]]]:
    """``[(name, shape)]`` after each stage, from the size formula alone (nothing
    computed); the MLP adds ``hidden`` (its last hidden layer) and ``logits``.
    A :class:`ConvError` on ``image`` when a stage has no room left."""
    h, w = int(image_shape[0]), int(image_shape[1])
    c = int(image_shape[2]) if len(image_shape) > 2 else 1
    out: list[tuple[str, tuple[int, ...]]] = [("image", (h, w, c))]
    for layer in layers:
        if layer.kind in ("conv", "pool"):
            h2, w2 = (output_size(n, layer.size, layer.stride, layer.padding) for n in (h, w))
            if h2 < 1 or w2 < 1:
                raise ConvError("image", f"{out[0][1][0]}×{out[0][1][1]} is too small for this CNN: "
                                f"{layer.name} ({layer.describe()}) gets a {h}×{w} map")
            h, w = h2, w2
            c = layer.filters if layer.kind == "conv" else c
            out.append((layer.name, (h, w, c)))
        elif layer.kind == "global":
            out.append((layer.name, (c,)))
        else:
            if layer.hidden_layers:
                out.append(("hidden", (layer.hidden_size,)))
            out.append(("logits", (layer.outputs,)))
    return out


class Stage(NamedTuple):
    name: str
    description: str
    value: torch.Tensor  # (H′, W′, C) maps, or a vector


class CNNOutput(NamedTuple):
    stages: list[Stage]  # image, conv1, pool1, conv2, pool2, gap, hidden, logits
    logits: torch.Tensor  # (outputs,): the output without softmax
    probabilities: torch.Tensor  # softmax(logits)
    params: dict[str, Any]  # conv name → (filters (F, k, k, C), bias (F,)); "mlp" → Params


def cnn_forward(image: Any, seed: int = 0, layers: tuple[Layer, ...] = SEED004_CNN) -> CNNOutput:
    """The forward path of the CNN (module docstring) on ``image`` ``(H, W, C)``."""
    x = volume_tensor(image, "image")
    cnn_shapes(tuple(x.shape), layers)  # a clear error before any work
    gen = torch.Generator().manual_seed(seed)
    stages = [Stage("image", f"input {x.shape[0]}×{x.shape[1]}×{x.shape[2]}", x)]
    params: dict[str, Any] = {}
    logits = None
    for layer in layers:
        if layer.kind == "conv":
            result = conv_layer(x, layer.filters, layer.size, layer.stride, layer.padding, layer.activation,
                                generator=gen)
            x, params[layer.name] = result.maps, (result.filters, result.bias)
        elif layer.kind == "pool":
            x = pooling_layer(x, layer.pool, layer.size, layer.stride)
        elif layer.kind == "global":
            x = pooling_layer(x, layer.pool, "global")
        elif layer.kind == "mlp":
            mlp_params: Params = init_mlp(int(x.shape[-1]), layer.hidden_layers, layer.hidden_size,
                                          layer.outputs, gen)
            params[layer.name] = mlp_params
            h = x
            for weight, bias in mlp_params[:-1]:
                h = activate(linear(h, weight, bias), layer.activation)
            if layer.hidden_layers:
                stages.append(Stage("hidden", f"MLP hidden layer, {layer.hidden_size} {layer.activation} units", h))
            logits = linear(h, *mlp_params[-1])
            stages.append(Stage("logits", f"output, {layer.outputs} values (no softmax)", logits))
            continue
        else:
            raise ConvError("layer", f"{layer.name}: kind {layer.kind!r}; allowed: conv, pool, global, mlp")
        stages.append(Stage(layer.name, layer.describe(), x))
    if logits is None:
        raise ConvError("layers", "the last stage must be an mlp")
    return CNNOutput(stages, logits, softmax(logits), params)
