"""Pictures and groups of maps for the terminal: true-colour half blocks, tiles,
and the size that keeps an image's proportions.

A terminal cell is about twice as tall as wide, so a half-block cell (one
column, half a line) is about square: an H × W image drawn pixel for pixel
takes W columns and H/2 lines.
"""

from __future__ import annotations

import math

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text

from rnntui.render.heatmap import SHADES, UPPER_HALF, fit


def display_size(h: int, w: int, max_cols: int, max_lines: int, max_zoom: int = 4) -> tuple[int, int]:
    """(rows, columns) of half-block cells for an ``h × w`` image with its
    proportions kept: shrunk to fit ``max_cols`` × ``max_lines`` lines, or grown by a
    whole factor (at most ``max_zoom``) when it is small."""
    h, w = max(1, h), max(1, w)
    room = min(max_cols / w, 2 * max_lines / h)
    if room >= 1:
        zoom = max(1, min(max_zoom, int(room)))
        return h * zoom, w * zoom
    return max(1, math.floor(h * room)), max(1, math.floor(w * room))


def tile_maps(maps: np.ndarray, columns: int | None = None, gap: int = 1) -> np.ndarray:
    """``(H, W, C)`` maps side by side, ``columns`` to a row (default ≈ √C), with
    ``gap`` NaN pixels between them (drawn grey): one ``(rows·(H+gap)−gap,
    columns·(W+gap)−gap)`` array to draw as one heatmap (map k at row k // columns,
    column k % columns)."""
    h, w, c = maps.shape
    columns = max(1, min(c, columns or math.ceil(math.sqrt(c))))
    rows = math.ceil(c / columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan)
    for k in range(c):  # one slice per map (C ≤ a few dozen), not per pixel
        r, q = divmod(k, columns)
        out[r * (h + gap):r * (h + gap) + h, q * (w + gap):q * (w + gap) + w] = maps[:, :, k]
    return out


def rgb_text(image: np.ndarray, rows: int, cols: int, colour: bool = True) -> Text:
    """An ``(H, W, 3)`` image with values in [0, 1] (clipped) drawn ``cols`` wide
    and ``rows`` half-block rows tall (block means when shrinking).  Without
    ``colour``: the luminance 0.299 R + 0.587 G + 0.114 B as :data:`SHADES`,
    one character for two rows."""
    grid = np.stack([fit(np.asarray(image[:, :, k], float), rows, cols) for k in range(3)], axis=2)
    grid = np.clip(np.nan_to_num(grid), 0.0, 1.0)
    odd = grid.shape[0] % 2
    if odd:  # the last row alone: repeated for shades, a blank lower half in colour
        grid = np.concatenate([grid, grid[-1:]], axis=0)
    text = Text(no_wrap=True, overflow="crop")
    if not colour:
        lum = grid @ np.array([0.299, 0.587, 0.114])
        idx = np.clip(np.rint((lum[0::2] + lum[1::2]) / 2 * (len(SHADES) - 1)), 0, len(SHADES) - 1).astype(int)
        for line in np.array(list(SHADES))[idx]:
            text.append("".join(line.tolist()) + "\n")
        return text
    rgb = [[tuple(px) for px in row] for row in np.rint(grid * 255).astype(int).tolist()]
    styles: dict[tuple, Style] = {}
    for line in range(len(rgb) // 2):
        last = odd and line == len(rgb) // 2 - 1
        for upper, lower in zip(rgb[2 * line], rgb[2 * line + 1]):
            key = (upper, None if last else lower)
            style = styles.get(key)
            if style is None:
                style = styles[key] = Style(color=Color.from_rgb(*upper),
                                            bgcolor=None if last else Color.from_rgb(*lower))
            text.append(UPPER_HALF, style=style)
        text.append("\n")
    return text
