"""Sample predictions, as the task rendered them, refreshed at each evaluation."""

from __future__ import annotations

from typing import Any, Sequence

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static


class SamplesPanel(VerticalScroll):
    """Shows ``(rich Text, correct)`` pairs with a ✓/✗ mark, newest evaluation only."""

    DEFAULT_CSS = """
    SamplesPanel {
        height: 1fr;
        border: round $panel;
        border-title-color: $text-accent;
        border-subtitle-color: $text-muted;
        scrollbar-size-vertical: 1;
        &:focus { border: round $accent; }
    }
    SamplesPanel > #samples-body { width: auto; min-width: 100%; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = "samples"
        self.lines: list[Text] = []
        self.step: int | None = None
        self._shown_lines = -1

    def compose(self):
        yield Static(Text("predictions appear at each evaluation", style="dim"), id="samples-body")

    def show(self, samples: Sequence[tuple[Any, bool]], step: int | None = None) -> None:
        self.step = step
        lines = []
        for text, ok in samples:
            line = Text("✓ " if ok else "✗ ", style="bold green" if ok else "bold red")
            line.append_text(text if isinstance(text, Text) else Text(str(text)))
            lines.append(line)
        self.lines = lines
        right = sum(1 for _, ok in samples if ok)
        self.border_subtitle = f"step {step} · {right}/{len(samples)} right" if samples else ""
        body = Group(*lines) if lines else Text("no samples for this task", style="dim")
        same_height = len(lines) == self._shown_lines and lines
        self._shown_lines = len(lines)
        # a relayout of the screen costs ~50 ms: only when the panel's content height changes
        self.query_one("#samples-body", Static).update(body, layout=not same_height)

    def clear(self) -> None:
        self._shown_lines = -1
        self.lines = []
        self.step = None
        self.border_subtitle = ""
        self.query_one("#samples-body", Static).update(
            Text("predictions appear at each evaluation", style="dim"))

    @property
    def plain(self) -> str:
        return "\n".join(line.plain for line in self.lines)
