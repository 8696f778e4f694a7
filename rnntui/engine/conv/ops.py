"""Convolution and pooling from scratch on ``(H, W, C)`` volumes.

Convolution (cross-correlation, as in every deep-learning library) of a padded
volume X (zeros around it, P pixels wide) with a kernel K of ``(kh, kw, C)``,
stride S, bias b and non-linearity φ:

    Y[i, j] = φ( b + Σ_{u<kh, v<kw, c<C} X[S·i + u, S·j + v, c] · K[u, v, c] )

with ``i < H′ = ⌊(H − kh + 2P)/S⌋ + 1`` and ``j < W′`` likewise (``spec.output_size``).
A layer of F filters stacks F such maps: ``(H, W, C) → (H′, W′, F)``.

Pooling of window k and stride S (no padding) on each channel separately:

    max:  Y[i, j, c] = max_{u, v < k} X[S·i + u, S·j + v, c]
    avg:  Y[i, j, c] = (1/k²) Σ_{u, v < k} X[S·i + u, S·j + v, c]
    global average:  y[c] = (1/(H·W)) Σ_{i, j} X[i, j, c]      (H, W, C) → (C,)

Vectorised without a loop over pixels: ``Tensor.unfold`` makes every window a
view of the padded volume (shape ``(H′, W′, C, kh, kw)``, no copy); convolution
flattens the windows into rows ("im2col") and multiplies by the filter matrix
once; pooling reduces the two window axes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch

from rnntui.engine.conv.spec import ACTIVATIONS, LEAKY_SLOPE, POOL_KINDS, ConvError, check_fits, check_window


def as_tensor(value: Any, key: str = "input", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A floating tensor of ``value`` (numpy array, tensor or nested lists)."""
    if isinstance(value, torch.Tensor):
        return value if value.is_floating_point() else value.to(dtype)
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise ConvError(key, f"got an array of {array.dtype}; allowed: numbers")
    return torch.as_tensor(array.astype(np.float32 if dtype == torch.float32 else np.float64, copy=False))


def activate(x: torch.Tensor, name: str, negative_slope: float = LEAKY_SLOPE) -> torch.Tensor:
    """φ(x) elementwise:

    * ``sigmoid``     σ(x) = 1 / (1 + e^(−x)), evaluated as e^x / (1 + e^x) for
      x < 0 so that e^(−x) never overflows;
    * ``tanh``        (e^x − e^(−x)) / (e^x + e^(−x));
    * ``relu``        max(0, x);
    * ``leaky-relu``  x for x > 0, ``negative_slope``·x otherwise (0.01 by default);
    * ``none``        x.
    """
    if name == "sigmoid":
        z = torch.exp(-x.abs())
        return torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    if name == "tanh":
        return torch.tanh(x)
    if name == "relu":
        return x.clamp_min(0.0)
    if name == "leaky-relu":
        return torch.where(x > 0, x, negative_slope * x)
    if name == "none":
        return x
    raise ConvError("activation", f"got {name!r}; allowed: {', '.join(ACTIVATIONS)}")


def pad(volume: torch.Tensor, padding: int) -> torch.Tensor:
    """``(H, W, ...)`` → ``(H + 2P, W + 2P, ...)`` with zeros around."""
    if padding == 0:
        return volume
    h, w = volume.shape[:2]
    out = volume.new_zeros((h + 2 * padding, w + 2 * padding) + tuple(volume.shape[2:]))
    out[padding:padding + h, padding:padding + w] = volume
    return out


def windows(volume: torch.Tensor, kh: int, kw: int, stride: int) -> torch.Tensor:
    """Every ``kh × kw`` window at stride S as a strided view:
    ``(H, W, *rest)`` → ``(H′, W′, *rest, kh, kw)`` (no copy)."""
    return volume.unfold(0, kh, stride).unfold(1, kw, stride)


def volume_tensor(value: Any, key: str) -> torch.Tensor:
    """``value`` as a floating ``(H, W, C)`` tensor (``(H, W)`` gets C = 1)."""
    x = as_tensor(value, key)
    if x.dim() == 2:
        x = x[:, :, None]
    if x.dim() != 3 or 0 in x.shape:
        raise ConvError(key, f"got shape {tuple(x.shape)}; allowed: (H, W, C) or (H, W), non-empty")
    return x


def convolve(volume: Any, filters: Any, bias: Any = None, stride: int = 1, padding: int = 0,
             activation: str = "none", negative_slope: float = LEAKY_SLOPE) -> torch.Tensor:
    """F filters over a volume: ``(H, W, C)`` with ``(F, kh, kw, C)`` (and bias ``(F,)``)
    → ``(H′, W′, F)``, φ applied (module docstring).  im2col: the windows as a
    ``(H′·W′, kh·kw·C)`` matrix times the ``(kh·kw·C, F)`` filter matrix."""
    x = volume_tensor(volume, "image")
    k = as_tensor(filters, "kernel", x.dtype)
    if k.dim() == 3:
        k = k[None]
    if k.dim() != 4 or 0 in k.shape:
        raise ConvError("kernel", f"got shape {tuple(k.shape)}; allowed: (kh, kw, C) or (F, kh, kw, C)")
    check_window("kernel", 1, stride, padding)
    n_filters, kh, kw, kc = k.shape
    if kc != x.shape[2]:
        raise ConvError("kernel", f"has {kc} channel(s), the image {x.shape[2]}; allowed: {x.shape[2]} "
                        "(a kernel spans every channel of its input)")
    h_out, w_out = check_fits("kernel", (x.shape[0], x.shape[1]), (kh, kw), stride, padding)
    cols = windows(pad(x, padding), kh, kw, stride)  # (H′, W′, C, kh, kw)
    cols = cols.permute(0, 1, 3, 4, 2).reshape(h_out * w_out, kh * kw * kc)  # rows ordered as k's (u, v, c)
    out = cols @ k.to(x.dtype).reshape(n_filters, -1).T
    if bias is not None:
        out = out + as_tensor(bias, "bias", x.dtype).to(x.dtype).reshape(n_filters)
    return activate(out.reshape(h_out, w_out, n_filters), activation, negative_slope)


def conv2d(image: Any, kernel: Any, stride: int = 1, padding: int = 0, activation: str = "relu",
           bias: float = 0.0, negative_slope: float = LEAKY_SLOPE) -> torch.Tensor:
    """One kernel over a multi-channel image: ``(H, W, C)`` with ``(kh, kw, C)``
    → the activation map ``(H′, W′)`` (module docstring)."""
    k = as_tensor(kernel, "kernel")
    if k.dim() == 2:
        k = k[:, :, None]
    if k.dim() != 3:
        raise ConvError("kernel", f"got shape {tuple(k.shape)}; allowed: (kh, kw, C)")
    b = torch.tensor([float(bias)])
    return convolve(image, k[None], b, stride, padding, activation, negative_slope)[:, :, 0]


class ConvLayer(NamedTuple):
    """What :func:`conv_layer` returns."""

    maps: torch.Tensor  # (H′, W′, F)
    filters: torch.Tensor  # (F, kh, kw, C)
    bias: torch.Tensor  # (F,)


def init_filters(n_filters: int, kernel_size: int, channels: int,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Filters ``(F, k, k, C)`` and biases ``(F,)`` drawn from U(−1/√n, 1/√n),
    n = k·k·C (the fan-in): the distribution of ``torch.nn.Conv2d``'s default
    initialisation, so the maps have the scale a torch user expects."""
    bound = 1.0 / float(kernel_size * kernel_size * channels) ** 0.5
    filters = (torch.rand(n_filters, kernel_size, kernel_size, channels, generator=generator) * 2 - 1) * bound
    bias = (torch.rand(n_filters, generator=generator) * 2 - 1) * bound
    return filters, bias


def conv_layer(volume: Any, n_filters: int, kernel_size: int, stride: int = 1, padding: int = 0,
               activation: str = "relu", *, seed: int = 0, generator: torch.Generator | None = None,
               filters: Any = None, bias: Any = None) -> ConvLayer:
    """A convolution layer: ``(H, W, C)`` → ``(H′, W′, n_filters)`` with
    H′ = ⌊(H − k + 2P)/S⌋ + 1.  The filters are ``filters``/``bias`` when given,
    else drawn by :func:`init_filters` from ``generator`` (or a new one seeded with
    ``seed``): same seed, same filters."""
    x = volume_tensor(volume, "volume")
    check_window("kernel_size", kernel_size, stride, padding)
    if isinstance(n_filters, bool) or not isinstance(n_filters, int) or n_filters < 1:
        raise ConvError("n_filters", f"got {n_filters!r}; allowed: an integer >= 1")
    if filters is None:
        gen = generator if generator is not None else torch.Generator().manual_seed(seed)
        k, b = init_filters(n_filters, kernel_size, x.shape[2], gen)
    else:
        k = as_tensor(filters, "filters")
        b = as_tensor(bias, "bias") if bias is not None else torch.zeros(k.shape[0])
        if tuple(k.shape) != (n_filters, kernel_size, kernel_size, x.shape[2]):
            raise ConvError("filters", f"got shape {tuple(k.shape)}; allowed: "
                            f"{(n_filters, kernel_size, kernel_size, x.shape[2])}")
    k, b = k.to(x.dtype), b.to(x.dtype)
    return ConvLayer(convolve(x, k, b, stride, padding, activation), k, b)


def pool2d(maps: Any, kind: str = "max", size: int = 2, stride: int | None = None) -> torch.Tensor:
    """Max or average pooling (module docstring) of ``(H, W)`` or ``(H, W, C)``
    maps, each channel alone: → ``(H′, W′[, C])``, H′ = ⌊(H − size)/stride⌋ + 1;
    ``stride`` defaults to ``size`` (windows side by side)."""
    x = as_tensor(maps, "maps")
    if x.dim() not in (2, 3) or 0 in x.shape:
        raise ConvError("maps", f"got shape {tuple(x.shape)}; allowed: (H, W) or (H, W, C), non-empty")
    if kind not in POOL_KINDS:
        raise ConvError("pool", f"got {kind!r}; allowed: {', '.join(POOL_KINDS)}")
    stride = size if stride is None else stride
    check_window("pool", size, stride)
    check_fits("pool", (x.shape[0], x.shape[1]), (size, size), stride)
    win = windows(x, size, size, stride)  # (H′, W′[, C], size, size)
    return win.amax(dim=(-2, -1)) if kind == "max" else win.mean(dim=(-2, -1))


def global_avg_pool(volume: Any) -> torch.Tensor:
    """Global average pooling: ``(H, W, C)`` → ``(C,)``, the mean of each map."""
    return volume_tensor(volume, "volume").mean(dim=(0, 1))


def pooling_layer(volume: Any, kind: str = "max", size: int | str = 2, stride: int | None = None) -> torch.Tensor:
    """A pooling layer on a volume: ``(H, W, C)`` → ``(H′, W′, C)``, or with
    ``size="global"`` the special case ``(H, W, C)`` → ``(C,)``: global average
    pooling (``kind="avg"``) or global max pooling (``kind="max"``)."""
    x = volume_tensor(volume, "volume")
    if size == "global":
        if kind not in POOL_KINDS:
            raise ConvError("pool", f"got {kind!r}; allowed: {', '.join(POOL_KINDS)}")
        return x.mean(dim=(0, 1)) if kind == "avg" else x.amax(dim=(0, 1))
    if not isinstance(size, int):
        raise ConvError("pool", f"size {size!r}; allowed: an integer >= 1 or 'global'")
    return pool2d(x, kind, size, stride)
