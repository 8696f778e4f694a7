"""The Conv screen (``v``): seed 004's convolution primitives, interactively.

Left, the settings: the image (bundled, or a ``.png``/``.npy`` path), one or
more kernels, stride, padding, activation and pooling.  Right, two tabs:

1. **Convolution** — the formula H′ = ⌊(H − K + 2P)/S⌋ + 1 with numbers, the
   input picture, each kernel's values and its activation map, the pooled maps.
2. **CNN** — seed 004's CNN on the same image: the layer shapes, every layer's
   activation maps (tiled), the global-average vector, the hidden layer and the
   1000 outputs with and without softmax.

Every change redraws the maps.  The screen needs nothing from the lab (no run,
no form): the numbers come from ``rnntui.engine.conv`` in a thread worker (the
first use imports torch), drawn there by ``rnntui.render`` — the same Text that
``rnntui conv`` prints — and turned into ready lines (:class:`StripView`), so
the UI thread only swaps them in.  The CNN is computed while its tab is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Input, Label, Select, SelectionList, Static, TabbedContent, TabPane

from rnntui.app.widgets.screen_footer import ScreenFooter
from rnntui.app.widgets.strip_view import StripView, to_strips

BUNDLED = ("bundled:shapes", "bundled:rings")
KERNELS = ("sobel-x", "sobel-y", "edge", "blur", "random")
ACTIVATIONS = ("relu", "leaky-relu", "sigmoid", "tanh", "none")
POOLS = ("none", "max:2", "avg:2", "max:3", "avg:3", "max:2:1", "global")
MAX_LINES = 20  # lines a picture at most: a 64-pixel map at full size needs 32
DEBOUNCE_S = 0.05


@dataclass(frozen=True)
class Settings:
    image: str = BUNDLED[0]
    kernels: tuple[str, ...] = ("sobel-x",)
    stride: int = 1
    padding: int = 0
    activation: str = "relu"
    pool: str = "none"
    seed: int = 0


class Drawn(Message):
    """The worker's result: lines to show (``cnn_view`` None: the CNN was not
    recomputed), or the error that stopped it."""

    def __init__(self, generation: int, settings: Settings, width: int, run: Any, conv: list[Any],
                 cnn: Any, cnn_view: list[Any] | None, error: str) -> None:
        super().__init__()
        self.generation, self.settings, self.width = generation, settings, width
        self.run, self.conv, self.cnn, self.cnn_view, self.error = run, conv, cnn, cnn_view, error


class ConvScreen(Screen[None]):
    """Convolution, pooling and seed 004's CNN on an image (module docstring)."""

    DEFAULT_CSS = """
    ConvScreen #conv-body { height: 1fr; }
    ConvScreen #conv-controls { width: 30; height: 1fr; padding: 0 1; border-right: vkey $foreground 20%; }
    ConvScreen #conv-controls Label { margin-top: 1; color: $text-muted; }
    ConvScreen #conv-controls Select, ConvScreen #conv-controls Input { width: 100%; }
    ConvScreen #conv-kernels { height: auto; max-height: 7; }
    ConvScreen #conv-error { height: auto; color: $error; margin-top: 1; }
    ConvScreen TabbedContent { width: 1fr; height: 1fr; }
    ConvScreen TabPane { padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape,v", "close", "Back"),
        Binding("1", "show_tab('conv-tab')", "Convolution", show=False),
        Binding("2", "show_tab('cnn-tab')", "CNN"),
        Binding("n", "next_seed", "New seed"),
    ]

    def __init__(self, lab: Any = None) -> None:
        """``lab`` is accepted like the other screens take it, and not used: this
        screen needs nothing from the lab's runs or form."""
        super().__init__()
        self.settings = Settings()
        self.run: Any = None  # the latest ConvRun shown
        self.cnn: Any = None  # the latest CNNOutput shown
        self.error = ""
        self.drawn: Settings | None = None  # the settings and width of the maps on screen
        self.drawn_width = 0
        self._generation = 0
        self._width = 0
        self._cnn_key: tuple[Any, ...] | None = None
        self._timer: Any = None

    # ------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="conv-body"):
            with VerticalScroll(id="conv-controls"):
                yield Label("Image")
                yield Select([(name, name) for name in BUNDLED], value=BUNDLED[0], allow_blank=False,
                             id="conv-image")
                yield Input(placeholder=".png / .npy path, Enter", id="conv-path")
                yield Label("Kernels (space toggles)")
                yield SelectionList(*[(name, name, name == "sobel-x") for name in KERNELS], id="conv-kernels")
                yield Label("Stride")
                yield Select([(str(n), n) for n in range(1, 5)], value=1, allow_blank=False, id="conv-stride")
                yield Label("Padding")
                yield Select([(str(n), n) for n in range(0, 4)], value=0, allow_blank=False, id="conv-padding")
                yield Label("Activation")
                yield Select([(a, a) for a in ACTIVATIONS], value="relu", allow_blank=False, id="conv-activation")
                yield Label("Pooling")
                yield Select([(p, p) for p in POOLS], value="none", allow_blank=False, id="conv-pool")
                yield Static("", id="conv-error")
            with TabbedContent(initial="conv-tab"):
                with TabPane("1 Convolution", id="conv-tab"):
                    with VerticalScroll():
                        yield StripView("loading torch and computing…", id="conv-view")
                with TabPane("2 CNN", id="cnn-tab"):
                    with VerticalScroll():
                        yield StripView("computing…", id="cnn-view")
        yield ScreenFooter()

    def on_mount(self) -> None:
        self.title = "Conv"
        self.sub_title = "convolution, pooling and a CNN from scratch (seed 004)"
        self.call_after_refresh(self._request)

    # ------------------------------------------------------------ settings
    def _set(self, **changes: Any) -> None:
        settings = replace(self.settings, **changes)
        if settings != self.settings:
            self.settings = settings
            self._request()

    @on(Select.Changed, "#conv-image")
    def _image_changed(self, event: Select.Changed) -> None:
        self.query_one("#conv-path", Input).value = ""
        self._set(image=str(event.value))

    @on(Input.Submitted, "#conv-path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        self._set(image=path or str(self.query_one("#conv-image", Select).value))

    @on(SelectionList.SelectedChanged, "#conv-kernels")
    def _kernels_changed(self, event: SelectionList.SelectedChanged) -> None:
        chosen = set(event.selection_list.selected)
        self._set(kernels=tuple(k for k in KERNELS if k in chosen))

    @on(Select.Changed, "#conv-stride")
    def _stride_changed(self, event: Select.Changed) -> None:
        self._set(stride=int(event.value))  # type: ignore[arg-type]

    @on(Select.Changed, "#conv-padding")
    def _padding_changed(self, event: Select.Changed) -> None:
        self._set(padding=int(event.value))  # type: ignore[arg-type]

    @on(Select.Changed, "#conv-activation")
    def _activation_changed(self, event: Select.Changed) -> None:
        self._set(activation=str(event.value))

    @on(Select.Changed, "#conv-pool")
    def _pool_changed(self, event: Select.Changed) -> None:
        self._set(pool=str(event.value))

    # ------------------------------------------------------------- drawing
    def _view_width(self) -> int:
        width = self.query_one(TabbedContent).content_region.width - 4  # pane padding, scrollbar
        return max(24, width)

    def _request(self) -> None:
        """Redraw the current settings soon: changes within ``DEBOUNCE_S`` make one
        redraw, and a result for older settings is dropped when it arrives."""
        self._generation += 1
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_S, self._start)

    def _start(self) -> None:
        self._timer = None
        self._width = self._view_width()
        if not self.settings.kernels:
            self._show_error("kernel: none chosen; allowed: one or more of " + ", ".join(KERNELS))
            return
        # the CNN (~0.2 s and ~2k cells a map group) only while its tab is shown, and only when it changed
        cnn_key = (self.settings.image, self.settings.seed, self._width)
        wanted = self.query_one(TabbedContent).active == "cnn-tab" and cnn_key != self._cnn_key
        self._draw(self._generation, self.settings, self._width, cnn_key if wanted else None)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        if self.query_one(TabbedContent).active == "cnn-tab":
            self._request()

    @work(thread=True, exclusive=True, exit_on_error=False, group="conv", description="convolve and draw")
    def _draw(self, generation: int, settings: Settings, width: int, cnn_key: tuple[Any, ...] | None) -> None:
        run = cnn = cnn_view = None
        conv: list[Any] = []
        error = ""
        try:
            from rnntui.engine.conv.inputs import load_image
            from rnntui.engine.conv.lab import convolve_image
            from rnntui.engine.conv.spec import ConvError, Pool
            from rnntui.render.conv_report import cnn_blocks, conv_blocks
            from rnntui.render.maps import MapView

            view = MapView(width, MAX_LINES, colour=True)
            try:
                image = load_image(settings.image)
                run = convolve_image(image, list(settings.kernels), settings.stride, settings.padding,
                                     settings.activation, Pool.parse(settings.pool), settings.seed)
                conv = to_strips(conv_blocks(run, view), width)
                if cnn_key is not None:
                    from rnntui.engine.conv.cnn import cnn_forward

                    try:
                        cnn = cnn_forward(image.pixels, seed=settings.seed)
                        cnn_view = to_strips(cnn_blocks(cnn, image.label, settings.seed, view), width)
                    except ConvError as exc:
                        cnn_view = to_strips([Text(f"CNN: {exc}", style="bold red")], width)
            except ConvError as exc:
                error = str(exc)
        except Exception as exc:  # show the reason instead of crashing the lab
            error = f"{type(exc).__name__}: {exc}"
        self.post_message(Drawn(generation, settings, width, run, conv, cnn, cnn_view, error))

    def on_drawn(self, message: Drawn) -> None:  # noqa: D401 - Textual handler
        if message.generation != self._generation or not self.is_mounted:
            return  # a newer request is under way
        if message.error:
            self._show_error(message.error)
            return
        self.error = ""
        self.query_one("#conv-error", Static).update("")
        self.run, self.drawn, self.drawn_width = message.run, message.settings, message.width
        self.query_one("#conv-view", StripView).show(message.conv)
        if message.cnn_view is not None:
            self.cnn = message.cnn
            self._cnn_key = (message.settings.image, message.settings.seed, message.width)
            self.query_one("#cnn-view", StripView).show(message.cnn_view)

    def _show_error(self, error: str) -> None:
        self.error = error
        self.query_one("#conv-error", Static).update(Text(error))

    def on_resize(self) -> None:
        self.call_after_refresh(self._redraw_if_resized)  # once the new layout has its sizes

    def _redraw_if_resized(self) -> None:
        if self.is_mounted and self._width and self._view_width() != self._width:
            self._request()

    # ------------------------------------------------------------- actions
    def action_close(self) -> None:
        self.app.pop_screen()

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_next_seed(self) -> None:
        """A new seed: other random kernels and other CNN weights."""
        self._set(seed=self.settings.seed + 1)
