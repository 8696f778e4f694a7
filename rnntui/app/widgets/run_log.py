"""The run log: lifecycle lines, evaluations and the trainer's Log events, bounded."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import RichLog

MAX_LINES = 500


class RunLog(RichLog):
    """A RichLog (bounded by ``max_lines``) that never relayouts the screen.

    RichLog grows its virtual size with every line, and ``virtual_size`` asks for
    a layout of the whole screen (~50 ms with the form mounted, measured by
    bench/ui.py) each time.  Here the vertical scrollbar is always shown, so a
    longer log never changes the layout: a repaint and a scrollbar update do.
    """

    DEFAULT_CSS = """
    RunLog {
        height: 1fr;
        border: round $panel;
        border-title-color: $text-accent;
        scrollbar-size-vertical: 1;
        overflow-y: scroll;
        overflow-x: hidden;
        background: $surface;
        &:focus { border: round $accent; }
    }
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def __init__(self, *, id: str | None = None, classes: str | None = None, max_lines: int = MAX_LINES) -> None:
        super().__init__(id=id, classes=classes, max_lines=max_lines, min_width=1, wrap=True, markup=False,
                         auto_scroll=True)
        self.border_title = "log"
        self.history: list[str] = []  # plain text, bounded like the widget (tests read it)
        self._max = max_lines

    def add(self, message: str, level: str = "info") -> None:
        style = {"error": "bold red", "warning": "yellow", "ok": "green", "dim": "dim"}.get(level, "")
        self.write(Text(message, style=style))
        self._scroll_update(self.virtual_size)  # scrollbar thumb, without a layout
        self.history.append(message)
        if len(self.history) > self._max:
            del self.history[: len(self.history) - self._max]
