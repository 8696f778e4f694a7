"""One convolution experiment, as ``rnntui conv`` and the Conv screen run it:
an image, one or more kernels, stride, padding, activation, optional pooling.

    run = convolve_image(load_image("bundled:shapes"), ["sobel-x", "edge"], stride=1,
                         padding=0, activation="relu", pool=Pool.parse("max:2"))
    run.maps      # (H′, W′, n) numpy, one map per kernel
    run.pooled    # (H″, W″, n), or (n,) for global pooling, or None

Both front ends call this function and draw its result; neither computes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnntui.engine.conv.inputs import Image, load_kernel
from rnntui.engine.conv.ops import convolve, global_avg_pool, pool2d
from rnntui.engine.conv.spec import ACTIVATIONS, ConvError, Pool, check_window


@dataclass
class ConvRun:
    image: Image
    kernels: list[tuple[str, np.ndarray]]  # (label, (kh, kw, C)) for each map
    stride: int
    padding: int
    activation: str
    maps: np.ndarray  # (H′, W′, n)
    pool: Pool | None
    pooled: np.ndarray | None  # (H″, W″, n), (n,) for global, None without pooling


def convolve_image(image: Image, kernel_specs: list[str], stride: int = 1, padding: int = 0,
                   activation: str = "relu", pool: Pool | None = None, seed: int = 0) -> ConvRun:
    """Every kernel of ``kernel_specs`` (names or ``.npy``; a bank file adds all its
    filters) over ``image`` with bias 0, then φ, then the pooling."""
    if activation not in ACTIVATIONS:
        raise ConvError("activation", f"got {activation!r}; allowed: {', '.join(ACTIVATIONS)}")
    check_window("kernel", 1, stride, padding)
    if not kernel_specs:
        raise ConvError("kernel", "none given; allowed: a name or a .npy file")
    channels = image.pixels.shape[2]
    kernels: list[tuple[str, np.ndarray]] = []
    for k, spec in enumerate(kernel_specs):
        label, array = load_kernel(spec, channels, seed + k)
        if array.ndim == 4:
            kernels += [(f"{label}[{f}]", array[f]) for f in range(array.shape[0])]
        else:
            kernels.append((label, array))
    shapes = {array.shape for _, array in kernels}
    if len(shapes) > 1:
        raise ConvError("kernel", f"kernels of different sizes {sorted(shapes)}; allowed: one size for all")
    bank = np.stack([array for _, array in kernels])
    maps = convolve(image.pixels, bank, None, stride, padding, activation).numpy()
    pooled = None
    if pool is not None:
        if pool.kind == "global":
            pooled = global_avg_pool(maps).numpy()
        else:
            pooled = pool2d(maps, pool.kind, pool.size, pool.stride).numpy()
    return ConvRun(image, kernels, stride, padding, activation, maps, pool, pooled)

