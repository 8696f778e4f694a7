"""A matrix of numbers drawn with half-block characters, as rich ``Text``.

Each terminal cell shows two data rows (``▀``: the upper row is the foreground
colour, the lower one the background), so 20 lines show 40 rows.  The data are
resampled to fit: block means when there are more rows/columns than room,
repeated cells when there are fewer.  With ``log_scale`` the colours follow
``log10(value)`` (non-positive values are grey), which is what gradient norms
spanning many orders of magnitude need.  Non-finite values are grey too.

Layout (top to bottom): a title line, the cells with row labels on the left, a
line with the first/last column labels and the x-axis title, and the colour bar
with the values at both ends.

    text = heatmap_text(values, width=60, height=0, title="norms",
                        x_labels=("10", "300"), y_labels=("t=0", "t=49"))

``values`` is rows × columns.  :func:`shade_text` draws the same grid with a
character ramp instead of colours, for output that is not a colour terminal.
"""

from __future__ import annotations

import math

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text

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
SHADES = " .:-=+*#%@"
"""Character ramp of :func:`shade_text`, low to high (non-finite cells are ``?``)."""


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


def ramp(stops: tuple[tuple[int, int, int], ...], levels: int) -> list[Color]:
    """``levels`` colours interpolated linearly between the ``stops``."""
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


def cell_lines(rows: int, max_lines: int) -> int:
    """Lines the cells of ``rows`` data rows take: two rows a line, at most ``max_lines``."""
    return max(1, min(max_lines, math.ceil(max(rows, 1) / 2)))


def display_values(values: np.ndarray, log_scale: bool) -> np.ndarray:
    """What the colours follow: the values, or ``log10`` of them (NaN where ≤ 0)."""
    if not log_scale:
        return values
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, np.log10(np.where(values > 0, values, 1.0)), np.nan)


def color_range(data: np.ndarray, vmin: float | None = None, vmax: float | None = None,
                log_scale: bool = False, symmetric: bool = False) -> tuple[float, float]:
    """(low, high) of the colour scale in display units (log10 with ``log_scale``):
    ``vmin``/``vmax`` where given, else the finite extremes of ``data``;
    ``symmetric`` centres it on 0."""
    finite = data[np.isfinite(data)]
    lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    if log_scale:
        lo = math.log10(lo) if vmin is not None and lo > 0 else lo
        hi = math.log10(hi) if vmax is not None and hi > 0 else hi
    if symmetric:
        span = max(abs(lo), abs(hi))
        lo, hi = -span, span
    if not hi > lo:
        hi = lo + (abs(lo) * 1e-3 or 1.0)
    return lo, hi


def _grid(values: np.ndarray, width: int, height: int, y_labels: tuple[str, str],
          max_lines: int, fill: bool = False) -> tuple[np.ndarray, int, int]:
    """The values resampled to the cells: (grid of ≤ 2 × lines rows, lines, label gutter).
    With ``fill`` (and a ``height``) few rows are stretched over the lines there are."""
    gutter = max(len(y_labels[0]), len(y_labels[1])) + 1
    plot_w = max(1, width - gutter)
    wanted = cell_lines(values.shape[0], max_lines)
    room = min(height - 3, max_lines) if height else 0
    lines = max(1, min(height - 3, wanted) if height else wanted)
    rows = values.shape[0]
    if fill and room > math.ceil(rows / 2):  # stretch: each row repeated over the room there is
        return fit(values, room * 2, plot_w), room, gutter
    if rows <= 2 * lines:  # room for every row: no resampling, maybe one blank half-line
        return resample(values, plot_w, 1), math.ceil(rows / 2), gutter
    return fit(values, lines * 2, plot_w), lines, gutter


def _scale(grid: np.ndarray, lo: float, hi: float, n_levels: int) -> np.ndarray:
    """Integer levels 0 … n_levels − 1 of ``grid`` on the scale lo … hi; −1 where not finite."""
    scaled = (grid - lo) / (hi - lo) * (n_levels - 1)
    return np.where(np.isfinite(scaled), np.clip(np.rint(np.nan_to_num(scaled)), 0, n_levels - 1), -1).astype(int)


def _axis_line(width: int, gutter: int, x_labels: tuple[str, str], x_title: str) -> str:
    plot_w = max(1, width - gutter)
    first, last = x_labels
    middle = x_title
    room = plot_w - len(first) - len(last)
    if room < len(middle) + 2:
        middle = ""
    pad_left = max(1, (room - len(middle)) // 2)
    pad_right = max(1, room - len(middle) - pad_left)
    axis = f"{first}{' ' * pad_left}{middle}{' ' * pad_right}{last}" if room > 1 else first
    return " " * gutter + axis[:plot_w] + "\n"


def heatmap_text(
    values: np.ndarray,
    width: int,
    height: int = 0,
    *,
    title: str = "",
    x_title: str = "",
    x_labels: tuple[str, str] = ("", ""),
    y_labels: tuple[str, str] = ("", ""),
    log_scale: bool = False,
    colormap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    symmetric: bool = False,
    max_lines: int = 12,
    empty_text: str = EMPTY,
    fill: bool = False,
) -> Text:
    """``values`` (rows × columns) drawn ``width`` cells wide: the title, ``▀``
    cells (at most ``max_lines`` lines, and at most ``height − 3`` when
    ``height`` is given, 0 = no limit; ``fill``: that many lines even for few
    rows, stretched), the x-axis line and the colour bar."""
    values = np.asarray(values, dtype=float)
    text = Text(no_wrap=True, overflow="crop")
    text.append((title or "")[:width] + "\n", style="bold")
    if not values.size:
        text.append(empty_text, style="dim")
        return text
    data = display_values(values, log_scale)
    lo, hi = color_range(data, vmin, vmax, log_scale, symmetric)
    colours = ramp(COLORMAPS.get(colormap, COLORMAPS["viridis"]), LEVELS)
    grid, lines, gutter = _grid(data, width, height, y_labels, max_lines, fill)
    level = _scale(grid, lo, hi, LEVELS)
    if level.shape[0] % 2:
        level = np.vstack([level, np.full((1, level.shape[1]), -2)])
    palette = colours + [None, NAN_STYLE_COLOR]  # index -1: not finite (grey); -2: no row (blank)
    styles: dict[tuple[int, int], Style] = {}
    for line in range(lines):
        label = y_labels[0] if line == 0 else y_labels[1] if line == lines - 1 else ""
        text.append(f"{label:>{gutter - 1}} ", style="dim")
        top, bottom = level[2 * line], level[2 * line + 1]
        for a, b in zip(top.tolist(), bottom.tolist()):
            style = styles.get((a, b))
            if style is None:
                style = styles[(a, b)] = Style(color=palette[a], bgcolor=palette[b])
            text.append(UPPER_HALF, style=style)
        text.append("\n")
    text.append(_axis_line(width, gutter, x_labels, x_title), style="dim")
    text.append_text(colour_bar(lo, hi, colours, width, log_scale))
    return text


def colour_bar(lo: float, hi: float, colours: list[Color], width: int, log_scale: bool = False) -> Text:
    """``lo ████ hi``: the colour scale with the values at its ends."""
    to_value = (lambda v: 10.0 ** v) if log_scale else (lambda v: v)
    left, right = format_value(to_value(lo)), format_value(to_value(hi))
    note = " log scale" if log_scale else ""
    bar_w = max(4, min(24, width - len(left) - len(right) - len(note) - 4))
    bar = Text(f"{left} ", style="dim")
    for k in range(bar_w):
        bar.append("█", style=Style(color=colours[round(k / (bar_w - 1) * (len(colours) - 1))]))
    bar.append(f" {right}{note}", style="dim")
    return bar


def shade_text(
    values: np.ndarray,
    width: int,
    *,
    title: str = "",
    x_title: str = "",
    x_labels: tuple[str, str] = ("", ""),
    y_labels: tuple[str, str] = ("", ""),
    vmin: float | None = None,
    vmax: float | None = None,
    max_lines: int = 12,
    nan_char: str = "?",
) -> Text:
    """The grid of :func:`heatmap_text` without colours: each character is the
    mean of the two rows a ``▀`` cell would show, drawn from :data:`SHADES`
    (low ``' '`` … high ``'@'``; non-finite: ``nan_char``); for pipes, files and
    ``--color never``."""
    values = np.asarray(values, dtype=float)
    text = Text(no_wrap=True, overflow="crop")
    text.append((title or "")[:width] + "\n")
    if not values.size:
        text.append(EMPTY)
        return text
    lo, hi = color_range(values, vmin, vmax)
    grid, lines, gutter = _grid(values, width, 0, y_labels, max_lines)
    if grid.shape[0] % 2:  # an odd last row stands alone
        grid = np.vstack([grid, grid[-1:]])
    level = _scale((grid[0::2] + grid[1::2]) / 2, lo, hi, len(SHADES))
    chars = np.array(list(SHADES) + [nan_char])[level]  # level -1 (not finite) picks nan_char
    for line in range(lines):
        label = y_labels[0] if line == 0 else y_labels[1] if line == lines - 1 else ""
        text.append(f"{label:>{gutter - 1}} " + "".join(chars[line].tolist()) + "\n")
    text.append(_axis_line(width, gutter, x_labels, x_title))
    text.append(f"{format_value(lo)} {SHADES!r} {format_value(hi)}")
    return text
