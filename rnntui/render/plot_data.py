"""What a plot shows, as plain data: lines (optionally with a ± band), horizontal
reference lines, and a hint about the y values' natural scale.

The terminal plot (:class:`rnntui.app.widgets.metric_plot.MetricPlot`) and the
figure writer (:mod:`rnntui.render.figures`) draw the same :class:`Panel`, so a
figure saved from the TUI shows what was on screen.  No Textual, no matplotlib.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

PALETTE = ("cyan", "orange", "green", "magenta", "yellow", "blue", "red", "white")
"""Series colours, in the order they are handed out (named: the terminal's own shades)."""

RGB = {
    "cyan": (0, 175, 215), "orange": (255, 135, 0), "green": (95, 175, 0), "magenta": (215, 0, 175),
    "yellow": (215, 175, 0), "blue": (0, 95, 255), "red": (215, 0, 0), "white": (200, 200, 200),
    "gray": (128, 128, 128), "grey": (128, 128, 128),
}
"""The palette as RGB: for faint shades (a blend towards the background) and for figures.
Close to xterm-256's cyan 38, orange 208, green 70, magenta 163, yellow 178, blue 27."""


def rgb(color: str | tuple[int, int, int]) -> tuple[int, int, int]:
    """A colour name of :data:`RGB` (or an RGB triple) as an RGB triple (unknown names: gray)."""
    if isinstance(color, tuple):
        return color
    return RGB.get(color, RGB["gray"])


def blend(color: str | tuple[int, int, int], background: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    """``color`` moved ``amount`` (0..1) of the way to ``background``: a fainter shade of it."""
    c = rgb(color)
    return tuple(round(a + (b - a) * amount) for a, b in zip(c, background))  # type: ignore[return-value]


@dataclass
class PlotLine:
    """One series: x values (steps) and y values, drawn as a line.

    ``band``: (lower, upper) values at the same xs, drawn as a shaded band under
    the line (mean ± standard error over seeds).  ``smooth`` False: never
    smoothed (e.g. sparse evaluation points).  ``style``: ``"solid"`` or
    ``"dashed"`` (figures; the terminal draws both solid)."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: str | None = None
    smooth: bool = True
    band: tuple[Sequence[float], Sequence[float]] | None = None
    style: str = "solid"


@dataclass
class RefLine:
    """A horizontal reference line, e.g. the trivial baseline of a task."""

    label: str
    y: float
    color: str = "gray"


@dataclass(frozen=True)
class AxisHint:
    """What the y values are, so the axis does not blow noise up to full height.

    ``bounds``: the values' natural range (fractions: ``(0, 1)``); the axis spans
    at least ``MIN_FRACTION_SPAN`` of it and stays inside it.  ``scale``: a
    reference magnitude (a loss's trivial baseline); the axis spans at least
    ``MIN_RELATIVE_SPAN`` of it.  Neither: at least ``MIN_RELATIVE_SPAN`` of the
    largest |y| (1 when every y is 0)."""

    bounds: tuple[float, float] | None = None
    scale: float | None = None


FRACTION = AxisHint(bounds=(0.0, 1.0))


@dataclass
class Panel:
    """One plot: its lines, reference lines, title and axes."""

    title: str
    lines: list[PlotLine] = field(default_factory=list)
    refs: list[RefLine] = field(default_factory=list)
    axis: AxisHint = AxisHint()
    xlabel: str = "step"
    ylabel: str = ""
    log_y: bool = False


def metric_axis(higher_is_better: bool, baseline: float | None = None) -> AxisHint:
    """The axis hint for a metric: every higher-is-better metric of rnntui's tasks is
    a fraction of right answers (an accuracy) in [0, 1]; the others (losses, errors)
    are measured against their trivial baseline when it is known."""
    if higher_is_better:
        return FRACTION
    return AxisHint(scale=baseline if baseline else None)
