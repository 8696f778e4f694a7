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

``values`` is rows × columns (a list of lists or a numpy array).  The drawing
itself is :func:`rnntui.render.heatmap.heatmap_text`, which the command line
uses too (``rnntui conv``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from textual.app import RenderResult
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from rnntui.render.heatmap import (COLORMAPS, EMPTY, cell_lines, color_range, display_values, fit,
                                   format_value, heatmap_text, resample)

__all__ = ["COLORMAPS", "Heatmap", "fit", "format_value", "resample"]


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
        fill: bool = False,
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
        self.fill = fill  # stretch few rows over the height the layout gives (a 1fr heatmap)
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
        return cell_lines(self.values.shape[0] if self.values.size else 1, self.max_lines)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._cell_lines() + 3

    # --------------------------------------------------------------- drawing
    def color_range(self, data: np.ndarray) -> tuple[float, float]:
        """(low, high) of the colour scale, in display units (log10 with log_scale)."""
        return color_range(data, self.vmin, self.vmax, self.log_scale, self.symmetric)

    def _display(self) -> np.ndarray:
        return display_values(self.values, self.log_scale)

    def render(self) -> RenderResult:
        """Drawn by :func:`rnntui.render.heatmap.heatmap_text` (shared with the command line)."""
        return heatmap_text(
            self.values, self.size.width, self.size.height, title=self.title, x_title=self.x_title,
            x_labels=self.x_labels, y_labels=self.y_labels, log_scale=self.log_scale,
            colormap=self.colormap, vmin=self.vmin, vmax=self.vmax, symmetric=self.symmetric,
            max_lines=self.max_lines, empty_text=self.empty_text, fill=self.fill,
        )
