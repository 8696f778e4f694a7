"""Images, kernels, activation maps and vectors as rich Text, at their
proportions: half-block heatmaps in colour, or character shades for pipes and
files.  ``rnntui conv`` prints them; the Conv screen shows the same Text.

Pure drawing (numpy + rich): the numbers come from ``rnntui.engine.conv``.
"""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

from rnntui.render.heatmap import fit, format_value, heatmap_text, shade_text
from rnntui.render.picture import display_size, rgb_text, tile_maps


class MapView:
    """Draws within ``width`` columns, at most ``max_lines`` lines a picture, in
    ``colour`` (half blocks) or shades."""

    def __init__(self, width: int, max_lines: int, colour: bool) -> None:
        self.width, self.max_lines, self.colour = max(20, width), max(2, max_lines), colour

    def shape(self, shape: tuple[int, ...]) -> str:
        return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"

    def heading(self, text: str) -> Text:
        """A Text starting with ``text`` in bold (bold only on that span, not on what is appended)."""
        out = Text(no_wrap=True, overflow="crop")
        out.append(text, style="bold" if self.colour else "")
        return out

    def map(self, values: np.ndarray, title: str, *, labels: bool = True, max_zoom: int = 4,
            exact: bool = False) -> Text:
        """A 2-D map at its proportions under a title line: colours from its own
        min … max (blue–grey–red around 0 when it has values of both signs; NaN
        grey, ``·`` in shades).  ``exact``: draw the array cell for cell."""
        values = np.asarray(values, float)
        h, w = values.shape
        y_labels = ("0", str(h - 1)) if labels else ("", "")
        x_labels = ("0", str(w - 1)) if labels else ("", "")
        gutter = max(len(y_labels[0]), len(y_labels[1])) + 1
        if exact:
            grid = values
        else:
            rows, cols = display_size(h, w, self.width - gutter, self.max_lines, max_zoom)
            grid = fit(values, rows, cols)
        finite = values[np.isfinite(values)]
        both_signs = bool(finite.size) and finite.min() < 0 < finite.max()
        lines = math.ceil(grid.shape[0] / 2)
        # the scale of the data, not of the resampled grid (block means narrow the range)
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (None, None)
        if self.colour:
            body = heatmap_text(grid, grid.shape[1] + gutter, x_labels=x_labels, y_labels=y_labels,
                                colormap="diverging" if both_signs else "viridis", symmetric=both_signs,
                                vmin=lo, vmax=hi, max_lines=lines)
        else:
            body = shade_text(grid, grid.shape[1] + gutter, x_labels=x_labels, y_labels=y_labels,
                              vmin=lo, vmax=hi, max_lines=lines, nan_char="·")
        out = self.heading(title + "\n")
        out.append_text(body[1:])  # its own (empty) title line dropped: ours is not cropped
        return out

    def maps(self, volume: np.ndarray, title: str, columns: int | None = None) -> Text:
        """Every channel of ``(H, W, C)`` as one tile each (one colour scale for all),
        each tile shrunk or grown on its own so that the gaps between them stay."""
        h, w, c = volume.shape
        if c == 1:
            return self.map(volume[:, :, 0], title)
        columns, rows, cols = self._tiling(h, w, c, columns)
        tiles = np.stack([fit(volume[:, :, k].astype(float), rows, cols) for k in range(c)], axis=2)
        note = f"  [{c} maps, {columns} a row]"
        return self.map(tile_maps(tiles, columns), title + note, labels=False, exact=True)

    def _tiling(self, h: int, w: int, c: int, columns: int | None) -> tuple[int, int, int]:
        """(tiles a row, tile rows, tile columns) giving the largest tiles that fit
        ``width`` × ``max_lines`` (1 cell gaps), at most 2× the map."""
        best = (1, 1, 1)
        best_scale = -1.0
        for n_cols in ([columns] if columns else range(1, c + 1)):
            n_rows = math.ceil(c / n_cols)
            room_w = (self.width - 1 - (n_cols - 1)) / (n_cols * w)
            room_h = (2 * self.max_lines - (n_rows - 1)) / (n_rows * h)
            scale = min(room_w, room_h, 2.0)
            if scale > best_scale:
                best_scale, best = scale, (n_cols, max(1, math.floor(h * scale)), max(1, math.floor(w * scale)))
        return best

    def image(self, pixels: np.ndarray, title: str) -> Text:
        """An RGB image as a picture (values clipped to [0, 1]); other channel counts as maps."""
        if pixels.shape[2] != 3:
            return self.maps(pixels, title)
        rows, cols = display_size(pixels.shape[0], pixels.shape[1], self.width, self.max_lines)
        out = self.heading(title + "\n")
        out.append_text(rgb_text(pixels, rows, cols, colour=self.colour))
        return out

    def numbers(self, kernel: np.ndarray, title: str) -> Text:
        """A small kernel's values, channels side by side."""
        kh, kw, c = kernel.shape
        cells = [[format_value(float(v)) for v in row] for row in kernel.transpose(2, 0, 1).reshape(-1, kw)]
        width = max(len(s) for row in cells for s in row)
        out = self.heading(title + "\n")
        out.append("   ".join(f"{'channel ' + str(k):<{(width + 1) * kw - 1}}" for k in range(c)).rstrip() + "\n")
        for u in range(kh):
            parts = [" ".join(f"{cells[k * kh + u][v]:>{width}}" for v in range(kw)) for k in range(c)]
            out.append("   ".join(parts) + "\n")
        return out

    def kernel(self, kernel: np.ndarray, title: str) -> Text:
        """Values when small, else a heatmap of each channel."""
        if kernel.shape[0] * kernel.shape[1] <= 49 and kernel.shape[2] <= 4:
            return self.numbers(kernel, title)
        return self.maps(kernel, title, columns=kernel.shape[2])

    def vector(self, values: np.ndarray, title: str, show: int = 12) -> Text:
        """A vector as a heatmap strip (a block of rows when long) and its first values."""
        values = np.asarray(values, float).ravel()
        n = values.size
        cols = n if n <= self.width - 4 else _grid_width(n, self.width - 4)
        grid = np.full(math.ceil(n / cols) * cols, np.nan)
        grid[:n] = values
        grid = grid.reshape(-1, cols)
        shape_note = f"  [index = {cols}·row + column]" if grid.shape[0] > 1 else ""
        out = self.map(grid, title + shape_note, labels=grid.shape[0] > 1, max_zoom=2)
        shown: list[str] = []
        for v in values[:show]:  # as many leading values as fit on one line
            item = format_value(float(v))
            if len(", ".join(shown + [item])) + 8 > self.width:
                break
            shown.append(item)
        more = ", …" if len(shown) < n else ""
        out.append(f"\n  [{', '.join(shown)}{more}]\n  min {format_value(float(values.min()))}, "
                   f"max {format_value(float(values.max()))}, sum {format_value(float(values.sum()))}\n")
        return out


def _grid_width(n: int, room: int) -> int:
    """A divisor-friendly row length for a long vector: a round number ≤ room."""
    for cols in (50, 40, 32, 25, 20, 16, 10):
        if cols <= room:
            return cols
    return max(1, room)


def top_k(values: np.ndarray, k: int = 5) -> list[tuple[int, float]]:
    order = np.argsort(-values, kind="stable")[:k]
    return [(int(i), float(values[i])) for i in order]


