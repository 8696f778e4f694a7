"""Names and formulas of the convolution primitives (no torch: the command line
and the Conv screen read them before the engine is loaded).

Output size of a convolution or pooling window of size K, stride S, padding P
over N pixels (rows or columns), as in the course:

    N′ = ⌊(N − K + 2P) / S⌋ + 1

It is the number of window positions: the padded length N + 2P holds the first
window and then one more every S pixels while one fits.
"""

from __future__ import annotations

from dataclasses import dataclass

ACTIVATIONS: tuple[str, ...] = ("sigmoid", "tanh", "relu", "leaky-relu", "none")
"""Non-linearities φ of :func:`rnntui.engine.conv.ops.activate` (``none``: φ(x) = x)."""

POOL_KINDS: tuple[str, ...] = ("max", "avg")

LEAKY_SLOPE = 0.01
"""Slope of leaky ReLU for x < 0 (torch's default ``negative_slope``)."""


class ConvError(ValueError):
    """An input to a convolution primitive is unusable; ``key`` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """N′ = ⌊(N − K + 2P) / S⌋ + 1 (see the module docstring); ≤ 0 when no window fits."""
    return (n - kernel + 2 * padding) // stride + 1


def check_window(key: str, size: int, stride: int, padding: int = 0) -> None:
    """Window size ≥ 1, stride ≥ 1, padding ≥ 0, as integers (bool excluded)."""
    for name, value, low in (("size", size, 1), ("stride", stride, 1), ("padding", padding, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConvError(name if name != "size" else key, f"got {value!r}; allowed: an integer >= {low}")


def check_fits(key: str, shape: tuple[int, int], kernel: tuple[int, int], stride: int, padding: int = 0) -> tuple[int, int]:
    """(H′, W′) of a ``kernel`` window over a ``shape`` map padded by ``padding``;
    a :class:`ConvError` naming ``key`` when the window is larger than the padded map."""
    (h, w), (kh, kw) = shape, kernel
    if kh > h + 2 * padding or kw > w + 2 * padding:
        pad = f" padded by {padding} to {h + 2 * padding}×{w + 2 * padding}" if padding else ""
        raise ConvError(key, f"a {kh}×{kw} window does not fit in the {h}×{w} map{pad}; "
                        f"allowed: at most {h + 2 * padding}×{w + 2 * padding}")
    return output_size(h, kh, stride, padding), output_size(w, kw, stride, padding)


def size_formula(n: int, kernel: int, stride: int = 1, padding: int = 0) -> str:
    """``⌊(64 − 3 + 2·0)/1⌋ + 1 = 62``: the output-size formula with numbers."""
    return f"⌊({n} − {kernel} + 2·{padding})/{stride}⌋ + 1 = {output_size(n, kernel, stride, padding)}"


@dataclass(frozen=True)
class Pool:
    """A pooling choice: ``kind`` max | avg | global (global average), window
    ``size`` and ``stride``.  Text form (:meth:`parse`): ``max:2`` (stride = the
    window), ``avg:3:1`` (window 3, stride 1), ``global``; ``none`` is no pooling."""

    kind: str
    size: int = 0
    stride: int = 0

    def describe(self) -> str:
        if self.kind == "global":
            return "global average pooling"
        return f"{self.kind} pool {self.size}×{self.size}, stride {self.stride}"

    @classmethod
    def parse(cls, text: str) -> "Pool | None":
        allowed = "allowed: max:K, avg:K, max:K:S, avg:K:S (window K, stride S, default K), global or none"
        value = str(text).strip().lower()
        if value in ("", "none"):
            return None
        if value == "global":
            return cls("global")
        parts = value.split(":")
        if parts[0] not in POOL_KINDS or len(parts) not in (2, 3) or not all(p.isdigit() for p in parts[1:]):
            raise ConvError("pool", f"got {text!r}; {allowed}")
        size = int(parts[1])
        stride = int(parts[2]) if len(parts) == 3 else size
        if size < 1 or stride < 1:
            raise ConvError("pool", f"got {text!r}: window and stride must be >= 1; {allowed}")
        return cls(parts[0], size, stride)
