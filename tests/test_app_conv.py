"""The Conv screen (``v``): Pilot tests.  The screen needs nothing from the lab,
so most tests push it on a bare App; one opens it from the lab with its key."""

from __future__ import annotations

import time

import numpy as np


from textual.app import App
from textual.widgets import Input, Select, SelectionList, TabbedContent

from rnntui.app.commands import LAB_BINDINGS, LAB_PALETTE_ONLY, palette_commands
from rnntui.app.screens.conv import ConvScreen
from rnntui.app.widgets.strip_view import StripView


async def wait_drawn(pilot, screen: ConvScreen, condition=lambda s: True, timeout: float = 60.0) -> None:
    """Until the worker has drawn the screen's current settings (and ``condition`` holds)."""
    deadline = time.monotonic() + timeout
    while not ((screen.drawn == screen.settings or screen.error) and condition(screen)):
        if time.monotonic() > deadline:
            raise AssertionError(f"not drawn: settings {screen.settings}, drawn {screen.drawn}, error {screen.error!r}")
        await pilot.pause(0.05)


def view_text(screen: ConvScreen, which: str = "#conv-view") -> str:
    return screen.query_one(which, StripView).plain


class Bare(App):
    def on_mount(self) -> None:
        self.push_screen(ConvScreen())


async def test_opens_from_the_lab_with_v_and_from_the_palette_list():
    from rnntui.app.app import create_app
    from rnntui.config import build_config
    from rnntui.config.presets import load_preset

    assert any(c.action == "conv" for c in palette_commands(LAB_BINDINGS, LAB_PALETTE_ONLY))
    app = create_app(build_config(load_preset("smoke").values), runs_root=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("v")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConvScreen)
        await wait_drawn(pilot, screen)
        assert screen.run.maps.shape == (62, 62, 1)
        assert "H′ = ⌊(64 − 3 + 2·0)/1⌋ + 1 = 62" in view_text(screen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ConvScreen)


async def test_settings_redraw_the_maps_with_the_engine_numbers():
    from rnntui.engine.conv.inputs import load_image
    from rnntui.engine.conv.lab import convolve_image
    from rnntui.engine.conv.spec import Pool

    app = Bare()
    async with app.run_test(size=(80, 24)) as pilot:  # the smallest terminal the lab supports
        screen = app.screen
        await wait_drawn(pilot, screen)
        assert screen.run.maps.shape == (62, 62, 1) and not screen.error

        screen.query_one("#conv-stride", Select).value = 2
        screen.query_one("#conv-padding", Select).value = 1
        screen.query_one("#conv-activation", Select).value = "tanh"
        screen.query_one("#conv-pool", Select).value = "max:2"
        await wait_drawn(pilot, screen, lambda s: s.drawn.pool == "max:2")
        assert screen.run.maps.shape == (32, 32, 1) and screen.run.pooled.shape == (16, 16, 1)
        text = view_text(screen)
        assert "H′ = ⌊(64 − 3 + 2·1)/2⌋ + 1 = 32" in text and "pooled H″ = ⌊(32 − 2 + 2·0)/2⌋ + 1 = 16" in text
        expected = convolve_image(load_image("bundled:shapes"), ["sobel-x"], 2, 1, "tanh", Pool.parse("max:2"))
        assert np.array_equal(screen.run.maps, expected.maps) and np.array_equal(screen.run.pooled, expected.pooled)

        kernels = screen.query_one("#conv-kernels", SelectionList)
        kernels.select("edge")
        await wait_drawn(pilot, screen, lambda s: s.drawn.kernels == ("sobel-x", "edge"))
        assert screen.run.maps.shape == (32, 32, 2) and [k for k, _ in screen.run.kernels] == ["sobel-x", "edge"]
        kernels.deselect("sobel-x")
        kernels.deselect("edge")
        await wait_drawn(pilot, screen, lambda s: s.error.startswith("kernel: none chosen"))
        assert screen.run.maps.shape == (32, 32, 2)  # the last good maps stay
        kernels.select("blur")
        await wait_drawn(pilot, screen, lambda s: s.drawn.kernels == ("blur",))
        assert not screen.error and screen.run.maps.shape == (32, 32, 1)

        screen.query_one("#conv-image", Select).value = "bundled:rings"
        await wait_drawn(pilot, screen, lambda s: s.drawn.image == "bundled:rings")
        assert screen.run.image.pixels.shape == (48, 48, 1) and screen.run.maps.shape == (24, 24, 1)

        narrow = screen.drawn_width
        await pilot.resize_terminal(120, 30)  # the maps are redrawn for the wider pane
        await wait_drawn(pilot, screen, lambda s: s.drawn_width > narrow)
        assert max(len(line) for line in view_text(screen).splitlines()) <= screen.drawn_width


async def test_cnn_tab_shows_layer_shapes_and_outputs():
    app = Bare()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await wait_drawn(pilot, screen)
        assert screen.cnn is None  # computed only once its tab is shown
        await pilot.press("2")
        await wait_drawn(pilot, screen, lambda s: s.cnn is not None)
        assert screen.query_one(TabbedContent).active == "cnn-tab"
        shapes = [(s.name, tuple(s.value.shape)) for s in screen.cnn.stages]
        assert shapes == [("image", (64, 64, 3)), ("conv1", (62, 62, 16)), ("pool1", (31, 31, 16)),
                          ("conv2", (29, 29, 32)), ("pool2", (14, 14, 32)), ("gap", (32,)), ("hidden", (20,)),
                          ("logits", (1000,))]
        text = view_text(screen, "#cnn-view")
        assert "conv2   (29, 29, 32)" in text and "output with softmax  (1000,)  (sums to 1.000000)" in text
        first = screen.cnn.logits.clone()
        await pilot.press("n")  # a new seed: other weights
        await wait_drawn(pilot, screen, lambda s: s.drawn.seed == 1 and s.cnn is not None and
                         not bool((s.cnn.logits == first).all()))
        assert screen.settings.seed == 1


async def test_a_bad_path_shows_one_line_and_keeps_the_maps(tmp_path):
    np.save(tmp_path / "gray.npy", np.arange(100, dtype=np.float32).reshape(10, 10))
    app = Bare()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await wait_drawn(pilot, screen)
        box = screen.query_one("#conv-path", Input)
        box.value = str(tmp_path / "missing.png")
        await box.action_submit()
        await wait_drawn(pilot, screen, lambda s: bool(s.error))
        assert screen.error == f"image: no file {str(tmp_path / 'missing.png')!r}"
        assert screen.run.maps.shape == (62, 62, 1)
        box.value = str(tmp_path / "gray.npy")
        await box.action_submit()
        await wait_drawn(pilot, screen, lambda s: s.drawn.image.endswith("gray.npy"))
        assert not screen.error and screen.run.maps.shape == (8, 8, 1)
