"""StripView: pre-rendered lines (Textual's line API) for large pictures.

A half-block picture is one rich style per cell; a screen of them as a rich
Text costs Textual a layout pass and a re-render of every span on each refresh
(~0.1–0.3 s measured for the Conv screen's maps).  :func:`to_strips` renders
the renderables to lines of segments once — in a worker thread, it touches no
widget — and the widget hands those lines out as they are.

    strips = to_strips([text1, text2], width=60)   # any thread
    view.show(strips)                              # UI thread
"""

from __future__ import annotations

from typing import Any, Iterable

from rich.console import Console
from rich.segment import Segment
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget


def to_strips(renderables: Iterable[Any], width: int, gap: int = 1) -> list[Strip]:
    """The renderables one under the other, ``gap`` blank lines between them, as
    lines ``width`` cells wide (longer lines are cropped)."""
    console = Console(width=width, color_system="truecolor", force_terminal=True, legacy_windows=False,
                      no_color=False, file=None)
    options = console.options.update(width=width, no_wrap=False)
    strips: list[Strip] = []
    for k, renderable in enumerate(renderables):
        if k:
            strips += [Strip.blank(width)] * gap
        for line in console.render_lines(renderable, options, pad=False):
            strips.append(Strip(Segment.simplify(line)).crop(0, width))
    return strips


class StripView(Widget):
    """Shows lines made by :func:`to_strips`; as tall as they are."""

    DEFAULT_CSS = """
    StripView { height: auto; width: 1fr; }
    """

    def __init__(self, placeholder: str = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.strips: list[Strip] = [Strip([Segment(placeholder)])] if placeholder else []

    def show(self, strips: list[Strip]) -> None:
        self.strips = strips
        self.refresh(layout=True)

    @property
    def plain(self) -> str:
        """The text of the lines, without styles (for tests and copying)."""
        return "\n".join(strip.text.rstrip() for strip in self.strips)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self.strips))

    def render_line(self, y: int) -> Strip:
        return self.strips[y] if y < len(self.strips) else Strip.blank(self.size.width)
