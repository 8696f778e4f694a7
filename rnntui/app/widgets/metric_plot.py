"""MetricPlot: the one line-plot widget of rnntui, on textual-plotext.

Give it lines with :meth:`MetricPlot.set_lines` as often as you like; it redraws
at most ``max_fps`` times a second and only when something changed, from the
stored data, downsampled to about twice its width.  ``log_y`` and ``smooth``
(an exponential moving average, debiased like TensorBoard's) are reactive
toggles; when smoothing, the raw curve stays on screen, faint, under the
smoothed one.  A line may carry a band (mean ± standard error over seeds),
shaded under it.  Horizontal reference lines (a task's trivial baseline) are
drawn across the x range.  The axes come from :mod:`rnntui.render.axes`: an
:class:`~rnntui.render.plot_data.AxisHint` keeps a y axis from spanning less than
the values' scale makes meaningful, x is never a single point, and tick labels
stay short (scientific notation for extreme values).  What to draw is worked
out by :func:`rnntui.render.plot_frame.prepare` (no Textual); Compare, Experiment
and Inspect reuse this widget.

The frame is built off the UI thread: plotext's build, the ANSI decode and the
conversion to Textual strips cost 20-60 ms per frame on a loaded 2-core
machine, which made UI timers 50-100 ms late when done in ``render()``.  A
single shared builder thread does that work from a snapshot of the data and
posts the finished strips back; the widget then only hands out lines (the
Line API), which is cheap.  With the GIL switch interval at 1 ms the builder
yields to the event loop every millisecond.
"""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Sequence

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.message import Message
from textual.reactive import reactive
from textual.color import Color
from textual.strip import Strip
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from rnntui.render.axes import format_ticks, nice_ticks
from rnntui.render.plot_data import PALETTE, AxisHint, PlotLine, RefLine
from rnntui.render.plot_frame import Frame, prepare

__all__ = ["MetricPlot", "PlotLine", "RefLine", "AxisHint", "PALETTE", "frame_of"]


@dataclass(frozen=True)
class _Snapshot:
    """Everything one frame needs, copied on the UI thread."""

    key: tuple
    lines: tuple[PlotLine, ...]
    refs: tuple[RefLine, ...]
    width: int
    height: int
    log: bool
    smooth: bool
    smoothing: float
    theme: str
    axis: AxisHint = AxisHint()
    background: tuple[int, int, int] = (0, 0, 0)


class MetricPlot(PlotextPlot):
    """Live line plot of metric series with log-scale and smoothing toggles."""

    DEFAULT_CSS = """
    MetricPlot {
        width: 1fr;
        height: 1fr;
        min-height: 6;
        border: round $panel;
        border-title-color: $text-accent;
        border-subtitle-color: $text-muted;
        &:focus { border: round $accent; }
    }
    """

    log_y: reactive[bool] = reactive(False)
    smooth: reactive[bool] = reactive(False)

    class Built(Message):
        """A frame finished in the builder thread (posted to the plot itself)."""

        def __init__(self, key: tuple, strips: list[Strip]) -> None:
            super().__init__()
            self.key = key
            self.strips = strips

    def __init__(self, title: str = "", *, placeholder: str = "no data yet", max_fps: float = 4.0,
                 smoothing: float = 0.9, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.placeholder = placeholder
        self.max_fps = max_fps
        self.smoothing = smoothing
        self.allow_log = True
        self.hint = ""  # shown in the bottom border, e.g. the key that switches plots
        self.xlabel = "step"
        self._lines: list[PlotLine] = []
        self._refs: list[RefLine] = []
        self._axis = AxisHint()
        self._version = 0
        self._strips: list[Strip] | None = None  # None: show the placeholder
        self._shown_key: tuple | None = None
        self._pending_key: tuple | None = None
        self.renders = 0  # frames built (tests and the bench read this)

    # ---------------------------------------------------------------- data
    def set_lines(self, lines: Sequence[PlotLine], refs: Sequence[RefLine] = (), title: str | None = None,
                  axis: AxisHint | None = None) -> None:
        """Replace the plotted data; the redraw happens on the next tick (≤ max_fps).
        ``axis``: what the y values are (default: nothing known, see :class:`AxisHint`)."""
        self._lines = list(lines)
        self._refs = list(refs)
        self._axis = axis or AxisHint()
        if title is not None and title != self.title:
            self.title = title
            self._update_titles()
        self._version += 1

    def clear(self, placeholder: str | None = None) -> None:
        if placeholder is not None:
            self.placeholder = placeholder
        self.set_lines([])

    @property
    def point_count(self) -> int:
        """Data points held (before downsampling), all lines together."""
        return sum(len(line.ys) for line in self._lines)

    @property
    def lines(self) -> list[PlotLine]:
        return list(self._lines)

    @property
    def refs(self) -> list[RefLine]:
        return list(self._refs)

    @property
    def axis(self) -> AxisHint:
        return self._axis

    @property
    def settled(self) -> bool:
        """Whether the frame on screen is the one the current data, size and toggles call for."""
        return self._pending_key is None and self._shown_key == self._frame_key()

    # ------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        super().on_mount()
        self._update_titles()
        self.set_interval(1.0 / self.max_fps, self._tick, name="metric-plot-redraw")

    def _tick(self) -> None:
        """At most max_fps times a second: start a build if the wanted frame changed."""
        key = self._frame_key()
        if key == self._shown_key or key == self._pending_key or self._pending_key is not None:
            return
        if not any(len(line.ys) for line in self._lines) or self.size.width < 12 or self.size.height < 4:
            if self._strips is not None or self._shown_key != key:
                self._strips, self._shown_key = None, key
                self.refresh()
            return
        self._pending_key = key
        surface = self.app.theme_variables.get("surface", "#000000")
        snapshot = _Snapshot(key, tuple(self._lines), tuple(self._refs), self.size.width, self.size.height,
                             self.log_y and self.allow_log, self.smooth, self.smoothing,
                             self._get_plotext_theme_name(self.app.theme), self._axis, Color.parse(surface).rgb)
        _BUILDER.submit(self, snapshot)

    def _frame_key(self) -> tuple:
        return (self._version, self.size.width, self.size.height, self.log_y and self.allow_log, self.smooth,
                self.app.theme)

    def on_metric_plot_built(self, message: "MetricPlot.Built") -> None:
        message.stop()
        self._pending_key = None
        self._strips, self._shown_key = message.strips, message.key
        self.renders += 1
        self.refresh()
        if self._frame_key() != message.key:
            self._tick()  # the data moved on while building: start the next frame now

    def watch_log_y(self) -> None:
        self._update_titles()
        self._tick()

    def watch_smooth(self) -> None:
        self._update_titles()
        self._tick()

    def _update_titles(self) -> None:
        self.border_title = self.title
        flags = []
        if self.log_y and self.allow_log:
            flags.append("log")
        if self.smooth:
            flags.append(f"ema {self.smoothing:g}")
        self.border_subtitle = " · ".join(flags + [f"x: {self.xlabel}"] + ([self.hint] if self.hint else []))

    def set_hint(self, hint: str) -> None:
        if hint != self.hint:
            self.hint = hint
            self._update_titles()

    # --------------------------------------------------------------- render
    def render(self) -> RenderResult:
        return Text(self.placeholder, style="dim", justify="center")

    def render_line(self, y: int) -> Strip:
        strips = self._strips
        if strips is None:
            return super().render_line(y)
        width = self.size.width
        if y >= len(strips):
            return Strip.blank(width)
        strip = strips[y]
        return strip if strip.cell_length == width else strip.crop_extend(0, width, None)


class _Builder:
    """One thread builds every plot's frames, one at a time (plotext is not re-entrant).

    Frames requested together (both plots tick together) are handed back together,
    so the screen repaints once for them, not once per plot.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._in_flight = 0
        self._done: list[tuple[MetricPlot, tuple, list[Strip]]] = []

    def submit(self, plot: MetricPlot, snap: _Snapshot) -> None:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metric-plot")
            self._in_flight += 1
            self._executor.submit(self._run, plot, snap)

    def _run(self, plot: MetricPlot, snap: _Snapshot) -> None:
        try:
            strips = build_strips(snap)
        except Exception as exc:  # never let a plotting problem take the lab down
            strips = [Strip([Segment(f"plot error: {exc}", Style(color="red"))])]
        with self._lock:
            self._in_flight -= 1
            self._done.append((plot, snap.key, strips))
            if self._in_flight:
                return
            done, self._done = self._done, []
        for target, key, result in done:
            target.post_message(MetricPlot.Built(key, result))


_BUILDER = _Builder()
_LOCAL = threading.local()


def frame_of(snap: _Snapshot) -> Frame:
    """What the frame of ``snap`` draws (see :func:`rnntui.render.plot_frame.prepare`)."""
    return prepare(snap.lines, snap.refs, snap.width, snap.height, log=snap.log, smooth=snap.smooth,
                   smoothing=snap.smoothing, axis=snap.axis, background=snap.background)


def build_strips(snap: _Snapshot) -> list[Strip]:
    """Plot ``snap`` with plotext and turn the result into Textual strips (any thread)."""
    width, height = snap.width, snap.height
    prepared = frame_of(snap)
    if not prepared.signals:
        return []
    plt = getattr(_LOCAL, "plot", None)
    if plt is None:
        plt = _LOCAL.plot = Plot()
    plt.clear_figure()
    for signal in prepared.signals:
        if signal.marker == "dot":
            plt.scatter(signal.xs, signal.ys, label=signal.label, color=signal.color, marker="dot")
        else:
            plt.plot(signal.xs, signal.ys, label=signal.label, color=signal.color, marker=signal.marker)
    plt.xlim(*prepared.xlim)
    plt.ylim(*prepared.ylim)
    xticks = nice_ticks(*prepared.xlim, max(3, min(8, width // 9)))
    plt.xticks(xticks, format_ticks(xticks))
    plt.yticks(prepared.yticks, prepared.ylabels)
    plt.plotsize(width, height)
    plt._set_size(width, height)  # textual-plotext does the same (its issue #5)
    plt.theme(snap.theme)
    text = Text.from_ansi(plt.build(), no_wrap=True)
    console = getattr(_LOCAL, "console", None)
    if console is None:
        console = _LOCAL.console = Console(file=io.StringIO(), color_system="truecolor", force_terminal=True,
                                           legacy_windows=False, width=width)
    options = console.options.update(width=width, height=height, no_wrap=True, overflow="crop")
    lines = console.render_lines(text, options, pad=True, new_lines=False)
    return [Strip(line, width) for line in lines[:height]]
