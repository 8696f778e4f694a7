"""Heatmap: a matrix of numbers drawn with half-block characters.

Each terminal cell shows two data rows (``▀``: the upper row is the foreground
colour, the lower one the background), so a 20-line widget shows 40 rows.  The
data are resampled to fit: block means when there are more rows/columns than
room, repeated cells when there are fewer.  With ``log_scale`` the colours
follow ``log10(value)`` (non-positive values are grey), which is what gradient
norms spanning many orders of magnitude need.

Layout (top to bottom): a title line, the cells with row labels on the left, a
line with the first/last column labels and the x-axis title, and the colour bar
with the values at both ends.

    heatmap.set_data(values, x_labels=("10", "300"), y_labels=("t=0", "t=49"))

``values`` is rows × columns (a list of lists or a numpy array).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

COLORMAPS: dict[str, tuple[tuple[int, int, int], ...]] = {
    # viridis, 5 stops: dark blue (low) -> yellow (high)
    "viridis": ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)),
    # blue (negative) -> light grey (0) -> red (positive)
    "diverging": ((33, 102, 172), (103, 169, 207), (235, 235, 235), (239, 138, 98), (178, 24, 43)),
}
LEVELS = 48
NAN_STYLE_COLOR = Color.from_rgb(70, 70, 70)
UPPER_HALF = "▀"
EMPTY = "no data yet"


def resample(values: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """``values`` resized to ``n_out`` along ``axis``: block means when shrinking
    (every input counted once), nearest repeats when growing."""
    n = values.shape[axis]
    if n_out == n or n == 0:
        return values
    if n_out > n:
        idx = (np.arange(n_out) * n) // n_out
        return np.take(values, idx, axis=axis)
    starts = (np.arange(n_out) * n) // n_out
    sums = np.add.reduceat(values, starts, axis=axis)
    counts = np.diff(np.append(starts, n)).astype(float)
    shape = [1] * values.ndim
    shape[axis] = n_out
    return sums / counts.reshape(shape)


def fit(values: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Resample a 2-D array to ``rows × cols`` (see :func:`resample`)."""
    return resample(resample(values, rows, 0), cols, 1)


def _ramp(stops: tuple[tuple[int, int, int], ...], levels: int) -> list[Color]:
    out = []
    for k in range(levels):
        pos = k / (levels - 1) * (len(stops) - 1)
        i = min(int(pos), len(stops) - 2)
        frac = pos - i
        a, b = stops[i], stops[i + 1]
        out.append(Color.from_rgb(*(round(a[j] + (b[j] - a[j]) * frac) for j in range(3))))
    return out


def format_value(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if 1e-2 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.1e}"


class Heatmap(Widget):
    """A labelled heatmap that fits its data to its size (see the module docstring)."""

    DEFAULT_CSS = """
    Heatmap {
        width: 1fr;
        height: auto;
        min-height: 5;
    }
    """

    log_scale: reactive[bool] = reactive(False)
    colormap: reactive[str] = reactive("viridis")

    def __init__(
        self,
        title: str = "",
        *,
        x_title: str = "",
        log_scale: bool = False,
        colormap: str = "viridis",
        vmin: float | None = None,
        vmax: float | None = None,
        symmetric: bool = False,
        max_lines: int = 12,
        empty_text: str = EMPTY,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.x_title = x_title
        self.vmin, self.vmax = vmin, vmax
        self.symmetric = symmetric
        self.max_lines = max_lines
        self.empty_text = empty_text
        self.values: np.ndarray = np.zeros((0, 0))
        self.x_labels: tuple[str, str] = ("", "")
        self.y_labels: tuple[str, str] = ("", "")
        self.set_reactive(Heatmap.log_scale, log_scale)
        self.set_reactive(Heatmap.colormap, colormap)

    # ------------------------------------------------------------------ data
    def set_data(
        self,
        values: Any,
        *,
        x_labels: tuple[str, str] | None = None,
        y_labels: tuple[str, str] | None = None,
        title: str | None = None,
    ) -> None:
        """Show ``values`` (rows × columns); labels name the first and last column/row."""
        array = np.asarray(values, dtype=float)
        if array.ndim == 1:
            array = array[None, :]
        if array.ndim != 2:
            raise ValueError(f"heatmap values must be 2-D, got shape {array.shape}")
        self.values = array
        if x_labels is not None:
            self.x_labels = x_labels
        if y_labels is not None:
            self.y_labels = y_labels
        if title is not None:
            self.title = title
        self.refresh(layout=True)

    def clear(self) -> None:
        self.values = np.zeros((0, 0))
        self.refresh(layout=True)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.values.shape[0]), int(self.values.shape[1])) if self.values.size else (0, 0)

    def watch_log_scale(self) -> None:
        self.refresh()

    def watch_colormap(self) -> None:
        self.refresh()

    # ---------------------------------------------------------------- layout
    def _cell_lines(self) -> int:
        rows = self.values.shape[0] if self.values.size else 1
        return max(1, min(self.max_lines, math.ceil(rows / 2)))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._cell_lines() + 3

    # --------------------------------------------------------------- drawing
    def color_range(self, data: np.ndarray) -> tuple[float, float]:
        """(low, high) of the colour scale, in display units (log10 with log_scale)."""
        finite = data[np.isfinite(data)]
        lo = self.vmin if self.vmin is not None else (float(finite.min()) if finite.size else 0.0)
        hi = self.vmax if self.vmax is not None else (float(finite.max()) if finite.size else 1.0)
        if self.log_scale:
            lo = math.log10(lo) if self.vmin is not None and lo > 0 else lo
            hi = math.log10(hi) if self.vmax is not None and hi > 0 else hi
        if self.symmetric:
            span = max(abs(lo), abs(hi))
            lo, hi = -span, span
        if not hi > lo:
            hi = lo + (abs(lo) * 1e-3 or 1.0)
        return lo, hi

    def _display(self) -> np.ndarray:
        data = self.values
        if self.log_scale:
            with np.errstate(divide="ignore", invalid="ignore"):
                data = np.where(data > 0, np.log10(np.where(data > 0, data, 1.0)), np.nan)
        return data

    def render(self) -> RenderResult:
        width, height = self.size.width, self.size.height
        text = Text(no_wrap=True, overflow="crop")
        text.append((self.title or "")[:width] + "\n", style="bold")
        if not self.values.size:
            text.append(self.empty_text, style="dim")
            return text
        data = self._display()
        lo, hi = self.color_range(data)
        ramp = _ramp(COLORMAPS.get(self.colormap, COLORMAPS["viridis"]), LEVELS)
        gutter = max(len(self.y_labels[0]), len(self.y_labels[1])) + 1
        plot_w = max(1, width - gutter)
        lines = max(1, min(height - 3, self._cell_lines()) if height else self._cell_lines())
        rows = data.shape[0]
        if rows <= 2 * lines:  # room for every row: no resampling, maybe one blank half-line
            lines = math.ceil(rows / 2)
            grid = resample(data, plot_w, 1)
        else:
            grid = fit(data, lines * 2, plot_w)
        scaled = (grid - lo) / (hi - lo) * (LEVELS - 1)
        level = np.where(np.isfinite(scaled), np.clip(np.rint(np.nan_to_num(scaled)), 0, LEVELS - 1), -1).astype(int)
        if level.shape[0] % 2:
            level = np.vstack([level, np.full((1, level.shape[1]), -2)])
        colors = ramp + [None, NAN_STYLE_COLOR]  # index -1: not finite (grey); -2: no row (blank)
        styles: dict[tuple[int, int], Style] = {}
        for line in range(lines):
            label = self.y_labels[0] if line == 0 else self.y_labels[1] if line == lines - 1 else ""
            text.append(f"{label:>{gutter - 1}} ", style="dim")
            top, bottom = level[2 * line], level[2 * line + 1]
            for a, b in zip(top.tolist(), bottom.tolist()):
                style = styles.get((a, b))
                if style is None:
                    style = styles[(a, b)] = Style(color=colors[a], bgcolor=colors[b])
                text.append(UPPER_HALF, style=style)
            text.append("\n")
        first, last = self.x_labels
        middle = self.x_title
        room = plot_w - len(first) - len(last)
        if room < len(middle) + 2:
            middle = ""
        pad_left = max(1, (room - len(middle)) // 2)
        pad_right = max(1, room - len(middle) - pad_left)
        axis = f"{first}{' ' * pad_left}{middle}{' ' * pad_right}{last}" if room > 1 else first
        text.append(" " * gutter + axis[:plot_w] + "\n", style="dim")
        text.append_text(self._colour_bar(lo, hi, ramp, width))
        return text

    def _colour_bar(self, lo: float, hi: float, ramp: list[Color], width: int) -> Text:
        to_value = (lambda v: 10.0 ** v) if self.log_scale else (lambda v: v)
        left, right = format_value(to_value(lo)), format_value(to_value(hi))
        note = " log scale" if self.log_scale else ""
        bar_w = max(4, min(24, width - len(left) - len(right) - len(note) - 4))
        bar = Text(f"{left} ", style="dim")
        for k in range(bar_w):
            bar.append("█", style=Style(color=ramp[round(k / (bar_w - 1) * (len(ramp) - 1))]))
        bar.append(f" {right}{note}", style="dim")
        return bar
