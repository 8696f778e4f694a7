"""A terminal plot's frame as plain data: which curves to draw, in which colours
and markers, over which axes -- everything but the drawing itself.

:class:`rnntui.app.widgets.metric_plot.MetricPlot` hands :func:`prepare` the
lines it holds and draws the :class:`Frame` with plotext.  When smoothing, the
raw curve stays in the frame, faint (blended towards the background), under the
smoothed one; a line's band (mean ± standard error) becomes a shaded zigzag
under it.  numpy, no Textual, no plotext.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from rnntui.render.axes import format_log_ticks, format_ticks, log_ticks, nice_ticks, x_limits, y_limits
from rnntui.render.plot_data import PALETTE, AxisHint, PlotLine, RefLine, blend


@dataclass
class Signal:
    """One thing plotext draws: a labelled line, a faint raw curve, a band, a reference."""

    label: str | None
    xs: list[float]
    ys: list[float]
    color: str | tuple[int, int, int]
    marker: str = "braille"


@dataclass
class Frame:
    """What to draw (bands first, then lines, then reference lines) and the axes."""

    signals: list[Signal] = field(default_factory=list)
    xlim: tuple[float, float] = (0.0, 1.0)
    ylim: tuple[float, float] = (0.0, 1.0)
    yticks: list[float] = field(default_factory=list)
    ylabels: list[str] = field(default_factory=list)


RAW_FADE = 0.6
"""How far the raw curve under a smoothed one is blended towards the background."""
BAND_FADE = 0.35
"""How far a ± band's shading is blended towards the background."""
BAND_MARKER = "░"


def ema(values: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average with bias correction (first points are not pulled to 0)."""
    out, acc, norm = [], 0.0, 0.0
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        acc = weight * acc + (1.0 - weight) * v
        norm = weight * norm + (1.0 - weight)
        out.append(acc / norm)
    return out


def downsample(xs: Sequence[float], ys: Sequence[float], target: int) -> tuple[list[float], list[float]]:
    """Bucket means down to about ``target`` points (keeps the last point exactly)."""
    n = len(xs)
    if n <= target or target < 2:
        return list(xs), list(ys)
    size = n / (target - 1)
    starts = (np.arange(target - 1) * size).astype(int)
    ends = np.maximum((np.arange(1, target) * size).astype(int), starts + 1)
    counts = ends - starts
    sums_x = np.concatenate(([0.0], np.cumsum(np.asarray(xs, dtype=float))))
    sums_y = np.concatenate(([0.0], np.cumsum(np.asarray(ys, dtype=float))))
    out_x = ((sums_x[ends] - sums_x[starts]) / counts).tolist() + [xs[-1]]
    out_y = ((sums_y[ends] - sums_y[starts]) / counts).tolist() + [ys[-1]]
    return out_x, out_y


def _band_signal(xs: Sequence[float], lo: Sequence[float], hi: Sequence[float], columns: int,
                 color: tuple[int, int, int]) -> Signal | None:
    """A band as one zigzag line through ``columns`` x positions: at each, from the
    lower to the upper value (or back), so the line's vertical strokes shade the band
    (one column per character cell: the band's marker fills whole cells)."""
    x, a, b = (np.asarray(v, dtype=float) for v in (xs, lo, hi))
    keep = np.isfinite(a) & np.isfinite(b)
    x, a, b = x[keep], a[keep], b[keep]
    if len(x) < 2:
        return None
    cx = np.linspace(x[0], x[-1], columns)
    low, high = np.interp(cx, x, a), np.interp(cx, x, b)
    up = np.arange(columns) % 2 == 0  # even columns run upwards, odd ones back down
    by = np.empty(2 * columns)
    by[0::2] = np.where(up, low, high)
    by[1::2] = np.where(up, high, low)
    return Signal(None, np.repeat(cx, 2).tolist(), by.tolist(), color, BAND_MARKER)


def prepare(lines: Sequence[PlotLine], refs: Sequence[RefLine], width: int, height: int, *, log: bool = False,
            smooth: bool = False, smoothing: float = 0.9, axis: AxisHint = AxisHint(),
            background: tuple[int, int, int] = (0, 0, 0)) -> Frame:
    """The frame of a ``width`` × ``height`` plot: smooth (the raw curve kept, faint),
    shade bands, drop non-plottable points (log: y <= 0), downsample to ~2x width,
    add reference lines, choose the axes (log: y values become log10 values)."""
    target = max(2 * width, 8)
    out = Frame()

    def plottable(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
        x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        keep = np.isfinite(y) & (y > 0) if log else np.isfinite(y)
        with np.errstate(divide="ignore"):
            return x[keep].tolist(), (np.log10(y[keep]) if log else y[keep]).tolist()

    bands: list[Signal] = []
    drawn: list[Signal] = []
    for i, line in enumerate(lines):
        color = line.color or PALETTE[i % len(PALETTE)]
        xs, ys = plottable(line.xs, line.ys)
        if not xs:
            continue
        smoothing_on = smooth and line.smooth and len(ys) > 2
        if line.band is not None:
            lo_values, hi_values = line.band
            if smoothing_on:  # the band around the smoothed curve, not the raw one
                lo_values, hi_values = ema(list(lo_values), smoothing), ema(list(hi_values), smoothing)
            bxs, blo = plottable(line.xs, lo_values)
            _, bhi = plottable(line.xs, hi_values)
            if len(blo) == len(bhi) == len(bxs):
                band = _band_signal(bxs, blo, bhi, max(width, 8), blend(color, background, BAND_FADE))
                if band is not None:
                    bands.append(band)
        if smoothing_on:
            rx, ry = downsample(xs, ys, target)
            drawn.append(Signal(None, rx, ry, blend(color, background, RAW_FADE)))
            sx, sy = plottable(line.xs, ema(list(line.ys), smoothing))
            xs, ys = sx, sy
        xs, ys = downsample(xs, ys, target)
        drawn.append(Signal(line.label, xs, ys, color, "braille" if len(xs) > 1 else "dot"))
    if not drawn:
        return out
    out.xlim = x_limits(x for s in drawn for x in s.xs)
    levels = [(r.label, math.log10(r.y) if log else r.y, r.color) for r in refs
              if math.isfinite(r.y) and (r.y > 0 or not log)]
    values = [y for s in drawn + bands for y in s.ys] + [y for _, y, _ in levels]
    out.ylim = y_limits(values, axis, log)
    rows = max(height - 3, 2)  # less the frame and the x labels
    count = max(2, min(8, rows // 2 + 1))
    if log:
        out.yticks = log_ticks(*out.ylim, count)
        out.ylabels = format_log_ticks(out.yticks)
    else:
        out.yticks = nice_ticks(*out.ylim, count)
        out.ylabels = format_ticks(out.yticks)
    lo, hi = out.xlim
    out.signals = bands + drawn + [Signal(label, [lo, hi], [y, y], color) for label, y, color in levels]
    return out
