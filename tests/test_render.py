"""Terminal drawing without Textual (rnntui.render): the shared heatmap, shades,
pictures, tiles, and the maps ``rnntui conv`` and the Conv screen show."""

from __future__ import annotations

import numpy as np
from rich.color import Color

from rnntui.render.heatmap import SHADES, UPPER_HALF, heatmap_text, shade_text
from rnntui.render.maps import MapView
from rnntui.render.picture import display_size, rgb_text, tile_maps


def cell_styles(text):
    return [span.style for span in text.spans if text.plain[span.start:span.end] == UPPER_HALF]


def test_heatmap_text_layout():
    text = heatmap_text(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]), 12, title="t",
                        x_labels=("a", "b"), y_labels=("r0", "r2"))
    lines = text.plain.splitlines()
    assert lines[0] == "t"
    assert lines[1] == "r0 " + UPPER_HALF * 9 and lines[2] == "r2 " + UPPER_HALF * 9  # 3 rows: 2 lines
    assert lines[3].startswith("   a") and lines[3].endswith("b")
    assert lines[4].startswith("0 ") and lines[4].endswith(" 5")
    last_line = cell_styles(text)[-1]
    assert last_line.bgcolor is None  # the odd last row has no lower half


def test_shade_text_maps_values_to_the_ramp():
    values = np.array([[0.0, 9.0, np.nan], [0.0, 9.0, 4.5]])  # one line: the mean of the two rows
    text = shade_text(values, 4, nan_char="·")
    line = text.plain.splitlines()[1]
    assert line == " " + SHADES[0] + SHADES[-1] + "·"


def test_rgb_text_colours_are_the_pixels():
    image = np.zeros((2, 2, 3))
    image[0, 0] = (1.0, 0.0, 0.0)
    image[1, 0] = (0.0, 0.0, 1.0)
    image[0, 1] = (0.0, 1.0, 0.0)
    text = rgb_text(image, 2, 2)
    styles = cell_styles(text)
    assert styles[0].color == Color.from_rgb(255, 0, 0) and styles[0].bgcolor == Color.from_rgb(0, 0, 255)
    assert styles[1].color == Color.from_rgb(0, 255, 0) and styles[1].bgcolor == Color.from_rgb(0, 0, 0)
    assert rgb_text(image, 2, 2, colour=False).plain.splitlines()[0][0] in SHADES


def test_display_size_keeps_proportions():
    assert display_size(64, 64, 100, 32) == (64, 64)  # fits as it is
    assert display_size(64, 64, 100, 16) == (32, 32)  # 16 lines = 32 rows
    assert display_size(3, 3, 100, 32) == (12, 12)  # small: grown 4×
    assert display_size(10, 200, 50, 32) == (2, 50)


def test_tile_maps_places_each_map():
    maps = np.arange(2 * 3 * 5, dtype=float).reshape(2, 3, 5)
    tiled = tile_maps(maps, columns=2)
    assert tiled.shape == (3 * 2 + 2, 2 * 3 + 1)
    assert np.array_equal(tiled[0:2, 0:3], maps[:, :, 0]) and np.array_equal(tiled[3:5, 4:7], maps[:, :, 3])
    assert np.isnan(tiled[2]).all() and np.isnan(tiled[:, 3]).all()  # the gaps
    assert np.isnan(tiled[6:8, 4:7]).all()  # no sixth map


def test_map_view_fits_the_width():
    view = MapView(40, 10, colour=True)
    for block in (view.map(np.random.rand(62, 62), "a title longer than forty characters, not cropped"),
                  view.maps(np.random.rand(29, 29, 32), "maps"), view.vector(np.random.rand(1000), "v")):
        lines = block.plain.splitlines()
        assert max(len(line) for line in lines[1:]) <= 40
    assert view.map(np.zeros((2, 2)), "a title longer than forty characters, not cropped").plain.startswith(
        "a title longer than forty characters, not cropped\n")
    numbers = MapView(80, 10, colour=False).kernel(np.ones((3, 3, 2)) / 2, "k").plain.splitlines()
    assert numbers[1].split() == ["channel", "0", "channel", "1"] and numbers[2].split() == ["0.5"] * 6
