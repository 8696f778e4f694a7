"""Axis ranges and tick labels that read well in a terminal (and in figures).

* A y range never spans less than what the values' scale makes meaningful
  (:func:`y_limits`): fractions (accuracies) at least a tenth of [0, 1] and
  inside it, so a 0.999 -> 1.000 change is not a full-height climb; other values
  at least a tenth of their reference scale (a loss's baseline) or magnitude.
* An x range is never a single point (:func:`x_limits`): one evaluation at step
  250 gets the axis 0..250, not "249 250 251".
* Tick labels are short (:func:`format_ticks`): ``0.92``, ``12.5k``, ``3e37``
  -- a divergent run's 1e37 does not print 37 digits and squeeze the plot.

Pure Python: no Textual, no numpy.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from rnntui.render.plot_data import AxisHint

MIN_FRACTION_SPAN = 0.1
"""The least a fraction's axis spans, as a part of its bounds' width."""
MIN_RELATIVE_SPAN = 0.1
"""The least any other axis spans, as a part of its scale (baseline or largest |y|)."""
MIN_LOG_SPAN = 1.0
"""The least a log axis spans, in decades."""


def nice_ticks(lo: float, hi: float, count: int) -> list[float]:
    """At most ``count`` (at least 2 when possible) round tick positions within [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo or count < 2:
        return [lo]
    raw = (hi - lo) / (count - 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    for step in (m * mag for m in (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10)):
        first = math.ceil(lo / step - 1e-9) * step
        n = int(math.floor((hi - first) / step + 1e-9)) + 1
        if 2 <= n <= count:
            return [_clean(first + i * step, step) for i in range(n)]
    return [lo, hi]


def _clean(value: float, step: float) -> float:
    """``value`` rounded to well below ``step`` (no 0.30000000000000004)."""
    digits = max(0, 12 - int(math.floor(math.log10(abs(step))))) if step else 12
    out = round(value, min(digits, 300))
    return 0.0 if out == 0 else out


def x_limits(xs: Iterable[float]) -> tuple[float, float]:
    """The x range of the data, never a single point: ``[0, x]`` for one positive x."""
    values = [x for x in xs if math.isfinite(x)]
    if not values:
        return 0.0, 1.0
    lo, hi = min(values), max(values)
    if hi > lo:
        return lo, hi
    return (0.0, hi) if hi > 0 else (lo - 1.0, lo + 1.0)


def min_span(hint: AxisHint, values: Sequence[float]) -> float:
    """The least y span for ``values`` under ``hint`` (see :class:`AxisHint`)."""
    if hint.bounds is not None:
        return MIN_FRACTION_SPAN * (hint.bounds[1] - hint.bounds[0])
    if hint.scale is not None and math.isfinite(hint.scale) and hint.scale != 0:
        return MIN_RELATIVE_SPAN * abs(hint.scale)
    biggest = max((abs(v) for v in values), default=0.0)
    return MIN_RELATIVE_SPAN * biggest if biggest > 0 else 1.0


def y_limits(values: Iterable[float], hint: AxisHint = AxisHint(), log: bool = False) -> tuple[float, float]:
    """The y range for ``values``: their range, widened to the least span around its
    middle (and moved inside ``hint.bounds``).  With ``log``, ``values`` are log10
    values and the least span is :data:`MIN_LOG_SPAN` decades."""
    ys = [v for v in values if math.isfinite(v)]
    if not ys:
        return (0.0, 1.0)
    lo, hi = min(ys), max(ys)
    need = MIN_LOG_SPAN if log else min_span(hint, ys)
    if hi - lo < need:
        mid = (lo + hi) / 2
        lo, hi = mid - need / 2, mid + need / 2
        if hint.bounds is not None and not log:
            b_lo, b_hi = hint.bounds
            if hi > b_hi:
                lo, hi = lo - (hi - b_hi), b_hi
            if lo < b_lo:
                lo, hi = b_lo, hi + (b_lo - lo)
    return lo, hi


def compact(text: str) -> str:
    """``"1.5e+37"`` -> ``"1.5e37"``, ``"2e-05"`` -> ``"2e-5"``."""
    mantissa, sep, exponent = text.partition("e")
    if not sep:
        return text
    sign = "-" if exponent.startswith("-") else ""
    return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"


def format_ticks(ticks: Sequence[float]) -> list[str]:
    """Short, distinct labels for tick positions: fixed decimals for ordinary
    values, ``k``/``M`` for thousands and millions, scientific beyond."""
    if not ticks:
        return []
    big = max(abs(t) for t in ticks)
    nonzero = [abs(t) for t in ticks if t != 0]
    small = min(nonzero, default=0.0)
    step = min((abs(b - a) for a, b in zip(ticks, ticks[1:])), default=big or 1.0)
    if big >= 1e7 or (0 < big < 1e-3) or (small and step < 1e-4 * big and big < 1e4):
        return _distinct(lambda d: [compact(f"{t:.{d}e}") if t else "0" for t in ticks])
    if big >= 1e4:
        unit, div = ("M", 1e6) if big >= 1e6 else ("k", 1e3)
        return _distinct(lambda d: [_fixed(t / div, d) + unit if t else "0" for t in ticks])
    return _distinct(lambda d: [_fixed(t, d) for t in ticks])


def _fixed(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}"
    return "0" if float(text) == 0 else text


def _distinct(make) -> list[str]:
    """The labels with the fewest decimals (0..6) that tell every tick apart and
    round each to within a thousandth of the smallest tick spacing."""
    labels: list[str] = []
    for digits in range(7):
        labels = make(digits)
        if len(set(labels)) == len(labels) and _exact_enough(labels, make(6)):
            return labels
    return labels


def _exact_enough(labels: Sequence[str], precise: Sequence[str]) -> bool:
    try:
        values = [_value(s) for s in labels]
        truth = [_value(s) for s in precise]
    except ValueError:
        return True
    span = max(truth) - min(truth) if len(truth) > 1 else abs(truth[0]) or 1.0
    return all(abs(a - b) <= 1e-3 * span for a, b in zip(values, truth))


def _value(label: str) -> float:
    if label.endswith("k"):
        return float(label[:-1]) * 1e3
    if label.endswith("M"):
        return float(label[:-1]) * 1e6
    return float(label)


def log_ticks(lo: float, hi: float, count: int) -> list[float]:
    """Tick positions (log10 values) in [lo, hi]: whole decades, or 1-2-5 steps
    when fewer than two decades fall inside."""
    decades = [float(e) for e in range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)]
    if len(decades) >= 2:
        every = max(1, math.ceil(len(decades) / max(count, 2)))
        return decades[::every]
    out = []
    for e in range(math.floor(lo) - 1, math.ceil(hi) + 1):
        for m in (1, 2, 5):
            p = math.log10(m) + e
            if lo - 1e-9 <= p <= hi + 1e-9:
                out.append(p)
    return out if len(out) >= 2 else [lo, hi]


def format_log_ticks(positions: Sequence[float]) -> list[str]:
    """Labels for log10 tick positions: the values themselves, short."""
    labels = []
    for p in positions:
        value = 10 ** p
        if abs(p - round(p)) < 1e-9 and not (-3 <= round(p) <= 4):
            labels.append(f"1e{int(round(p))}")
        else:
            labels.append(compact(f"{value:.3g}"))
    return labels
