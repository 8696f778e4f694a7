"""The bundled images of ``rnntui conv``: drawn by this module, shipped as PNG.

They stand in for the seed's photos (the IITH logo and an ImageNet picture,
which rnntui cannot redistribute).  Both are the project's own work, drawn here
from geometry alone (no source image), under the project's licence:

* ``shapes`` — 64×64 RGB: a sky gradient, a sun, a house with a roof, door and
  window, a tree, and striped ground.  Straight, slanted and round edges in
  every colour channel, for edge and Sobel kernels and the CNN.
* ``rings``  — 48×48 grayscale: concentric rings, 0.5 + 0.5·cos(2π·r/8) —
  every edge orientation at once, in one channel.

``python -m rnntui.engine.conv.images`` writes them to ``rnntui/data/``; a test
checks that the shipped files hold exactly what :func:`draw` gives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
BUNDLED_IMAGES: dict[str, str] = {"shapes": "conv-shapes.png", "rings": "conv-rings.png"}
"""Name (``bundled:NAME``) → file in ``rnntui/data/``."""


def _shapes() -> np.ndarray:
    size = 64
    y, x = np.mgrid[0:size, 0:size] + 0.5
    img = np.zeros((size, size, 3))
    t = (y / 40.0)[..., None]
    img[:] = (1 - t) * np.array([110, 160, 225]) + t * np.array([205, 228, 250])  # sky
    ground = y >= 44
    stripes = ((x + y) // 4) % 2 == 0
    img[ground] = (70, 140, 60)
    img[ground & stripes] = (50, 110, 45)
    img[np.hypot(y - 12, x - 51) <= 7.5] = (250, 200, 40)  # sun
    img[(y >= 28) & (y < 46) & (x >= 8) & (x < 30)] = (190, 50, 40)  # house
    roof = (y >= 12) & (y < 28) & (np.abs(x - 19) <= (y - 12) * 0.9)
    img[roof] = (110, 60, 30)
    img[(y >= 36) & (y < 46) & (x >= 17) & (x < 22)] = (60, 40, 20)  # door
    img[(y >= 31) & (y < 35) & (x >= 11) & (x < 15)] = (235, 235, 150)  # window
    img[(y >= 34) & (y < 48) & (x >= 44) & (x < 47)] = (100, 70, 40)  # trunk
    img[np.hypot(y - 29, x - 45.5) <= 7.0] = (30, 120, 50)  # crown
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _rings() -> np.ndarray:
    size = 48
    y, x = np.mgrid[0:size, 0:size] + 0.5
    r = np.hypot(y - size / 2, x - size / 2)
    return np.rint(255 * (0.5 + 0.5 * np.cos(2 * np.pi * r / 8)))[:, :, None].astype(np.uint8)


def draw(name: str) -> np.ndarray:
    """The bundled image ``name`` as ``(H, W, C)`` uint8."""
    return {"shapes": _shapes, "rings": _rings}[name]()


def path(name: str) -> Path:
    return DATA_DIR / BUNDLED_IMAGES[name]


def main() -> None:
    from rnntui.engine.conv.png import write_png

    for name in BUNDLED_IMAGES:
        write_png(path(name), draw(name))
        print(f"wrote {path(name)}")


if __name__ == "__main__":
    main()
