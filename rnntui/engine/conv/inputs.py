"""Images and kernels for ``rnntui conv`` and the Conv screen (numpy only).

Images: ``bundled:NAME`` (see ``images``), ``PATH.png`` (8-bit, see ``png``;
pixel values / 255, so in [0, 1]; alpha composited over white) or ``PATH.npy``
holding ``(H, W, C)`` or ``(H, W)`` numbers, used as stored.

Kernels: ``PATH.npy`` holding ``(kh, kw, C)``, ``(kh, kw)`` (C = 1) or a bank
``(F, kh, kw, C)``; or a name, the 2-D kernel k put in every channel and divided
by C, so that the map is k applied to the mean of the channels:

    edge     [[-1 -1 -1] [-1 8 -1] [-1 -1 -1]]   (Laplacian: outlines)
    sobel-x  [[-1 0 1] [-2 0 2] [-1 0 1]]        (horizontal gradient: vertical edges)
    sobel-y  sobel-xᵀ                            (vertical gradient: horizontal edges)
    blur     [[1 2 1] [2 4 2] [1 2 1]] / 16      (Gaussian smoothing)
    random   (3, 3, C) from N(0, 1/(9·C)), seeded (``random:K`` for K×K)

Every problem is a :class:`ConvError` naming ``image`` or ``kernel``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnntui.engine.conv.images import BUNDLED_IMAGES, path as bundled_path
from rnntui.engine.conv.png import PNGError, read_png
from rnntui.engine.conv.spec import ConvError

MAX_SIDE = 1024
"""Largest image side accepted (the windows of a 1024² image with a 3×3×3 kernel
already take ~110 MB; a photo is better scaled down first)."""

BASE_KERNELS: dict[str, np.ndarray] = {
    "edge": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], np.float32),
    "sobel-x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32),
    "sobel-y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], np.float32),
    "blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 16,
}
KERNEL_NAMES: tuple[str, ...] = tuple(BASE_KERNELS) + ("random",)
IMAGE_FORMS = "bundled:" + "|bundled:".join(BUNDLED_IMAGES) + ", a .png or a .npy file"


@dataclass(frozen=True)
class Image:
    label: str  # what the user named: "bundled:shapes", a path
    pixels: np.ndarray  # (H, W, C) float32


def _numbers(array: np.ndarray, key: str, what: str) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise ConvError(key, f"{what} holds {array.dtype} values; allowed: numbers")
    out = array.astype(np.float32)
    if not np.isfinite(out).all():
        raise ConvError(key, f"{what} holds NaN or infinite values; allowed: finite numbers")
    return out


def _load_npy(path: Path, key: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ConvError(key, f"no file {str(path)!r}") from None
    except IsADirectoryError:
        raise ConvError(key, f"{str(path)!r} is a directory; allowed: a .npy file") from None
    except PermissionError:
        raise ConvError(key, f"cannot read {str(path)!r} (permission denied)") from None
    except (ValueError, OSError, EOFError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConvError(key, f"{str(path)!r} is not a readable .npy array ({first})") from None


def _check_size(pixels: np.ndarray, label: str) -> np.ndarray:
    h, w = pixels.shape[:2]
    if h == 0 or w == 0 or pixels.shape[2] == 0:
        raise ConvError("image", f"{label} is empty (shape {pixels.shape}); allowed: at least 1×1×1")
    if max(h, w) > MAX_SIDE:
        raise ConvError("image", f"{label} is {h}×{w}; allowed: at most {MAX_SIDE} pixels a side (scale it down)")
    return pixels


def from_png_bytes(raw: np.ndarray) -> np.ndarray:
    """uint8 ``(H, W, 1|2|3|4)`` → float32 in [0, 1], alpha composited over white
    (``value·α + 1·(1 − α)``) and dropped: grayscale → 1 channel, colour → 3."""
    x = raw.astype(np.float32) / 255.0
    if x.shape[2] in (2, 4):
        alpha = x[:, :, -1:]
        x = x[:, :, :-1] * alpha + (1.0 - alpha)
    return x


def load_image(spec: str) -> Image:
    """The image ``spec`` names (module docstring) as float32 ``(H, W, C)``."""
    spec = str(spec).strip()
    if spec.startswith("bundled:"):
        name = spec.split(":", 1)[1]
        if name not in BUNDLED_IMAGES:
            raise ConvError("image", f"no bundled image {name!r}; allowed: "
                            + ", ".join(f"bundled:{n}" for n in BUNDLED_IMAGES))
        return Image(spec, from_png_bytes(read_png(bundled_path(name))))
    path = Path(spec).expanduser()
    suffix = path.suffix.lower()
    if suffix == ".npy":
        array = _load_npy(path, "image")
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3:
            raise ConvError("image", f"{spec!r} holds shape {array.shape}; allowed: (H, W, C) or (H, W)")
        return Image(spec, _check_size(_numbers(array, "image", repr(spec)), repr(spec)))
    if suffix == ".png":
        try:
            raw = read_png(path)
        except FileNotFoundError:
            raise ConvError("image", f"no file {spec!r}") from None
        except IsADirectoryError:
            raise ConvError("image", f"{spec!r} is a directory; allowed: {IMAGE_FORMS}") from None
        except PermissionError:
            raise ConvError("image", f"cannot read {spec!r} (permission denied)") from None
        except PNGError as exc:
            raise ConvError("image", f"{spec!r}: {exc}") from None
        return Image(spec, _check_size(from_png_bytes(raw), repr(spec)))
    raise ConvError("image", f"cannot read {spec!r}; allowed: {IMAGE_FORMS}")


def named_kernel(name: str, channels: int, seed: int = 0) -> np.ndarray:
    """A named kernel for ``channels`` input channels: ``(kh, kw, C)`` float32 (module docstring)."""
    base, _, size_text = name.partition(":")
    if base == "random":
        size = 3
        if size_text:
            if not size_text.isdigit() or not 1 <= int(size_text) <= 15:
                raise ConvError("kernel", f"got {name!r}; allowed: random or random:K with K from 1 to 15")
            size = int(size_text)
        rng = np.random.default_rng(seed)
        return (rng.standard_normal((size, size, channels)) / np.sqrt(size * size * channels)).astype(np.float32)
    if base not in BASE_KERNELS or size_text:
        raise ConvError("kernel", f"got {name!r}; allowed: {', '.join(KERNEL_NAMES)}, random:K or a .npy file")
    return np.repeat(BASE_KERNELS[base][:, :, None], channels, axis=2) / np.float32(channels)


def load_kernel(spec: str, channels: int, seed: int = 0) -> tuple[str, np.ndarray]:
    """(label, kernel) for ``spec``: ``(kh, kw, C)`` or a bank ``(F, kh, kw, C)``,
    float32, with C = ``channels`` (the image's) or a :class:`ConvError`."""
    spec = str(spec).strip()
    if not spec.lower().endswith(".npy"):
        return spec, named_kernel(spec, channels, seed)
    array = _numbers(_load_npy(Path(spec).expanduser(), "kernel"), "kernel", repr(spec))
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim not in (3, 4) or 0 in array.shape:
        raise ConvError("kernel", f"{spec!r} holds shape {array.shape}; allowed: (kh, kw, C), (kh, kw) "
                        "or (F, kh, kw, C), non-empty")
    if array.shape[-1] != channels:
        raise ConvError("kernel", f"{spec!r} has {array.shape[-1]} channel(s), the image {channels}; "
                        f"allowed: {channels} (a kernel spans every channel of the image)")
    return spec, array
