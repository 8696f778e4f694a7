"""A chooser for saved runs (Compare's ``o``): the run and experiment directories
under the runs folder, newest first, or any path typed below them.

Dismisses with the chosen directory (a :class:`~pathlib.Path`) or None.  The
listing is :func:`rnntui.engine.saved_runs.list_saved`.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from rnntui.config.keys import printable
from rnntui.engine.saved_runs import SavedEntry, list_saved


def entry_prompt(entry: SavedEntry) -> Text:
    """One line: the directory's name, its kind, what it holds, when."""
    text = Text(printable(entry.path.name), style="bold")
    kind_style = "magenta" if entry.kind == "experiment" else "cyan"
    text.append(f"  {entry.kind}", style=kind_style)
    text.append(f"  {entry.title}")
    if entry.mtime:
        text.append(f"  {time.strftime('%Y-%m-%d %H:%M', time.localtime(entry.mtime))}", style="dim")
    return text


class RunBrowser(ModalScreen["Path | None"]):
    """Pick a run or experiment directory under ``root`` (Enter), or type a path."""

    DEFAULT_CSS = """
    RunBrowser { align: center middle; }
    RunBrowser #browser { width: 90%; max-width: 120; height: 80%; border: round $accent;
                          background: $surface; padding: 0 1; }
    RunBrowser #browser-head { height: auto; color: $text-muted; }
    RunBrowser #browser-list { height: 1fr; border: none; }
    RunBrowser #browser-path { margin-top: 1; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("tab", "focus_next", "Path / list", show=False)]

    def __init__(self, root: str | Path) -> None:
        super().__init__()
        self.root = Path(root)
        self.entries = list_saved(self.root)

    def compose(self) -> ComposeResult:
        with Vertical(id="browser") as box:
            box.border_title = f"open saved runs · {printable(str(self.root))}"
            box.border_subtitle = "Enter opens · Tab: type a path · Esc cancels"
            if self.entries:
                head = f"{len(self.entries)} run and experiment directories, newest first"
            else:
                head = (f"no saved runs under {self.root}/ yet: a run started with s saves there, as does "
                        "rnntui --headless --preset smoke")
            yield Static(head, id="browser-head")
            yield OptionList(*(Option(entry_prompt(e), id=str(i)) for i, e in enumerate(self.entries)),
                             id="browser-list")
            yield Input(placeholder="or type a run or experiment directory, then Enter", id="browser-path")

    def on_mount(self) -> None:
        self.query_one("#browser-list" if self.entries else "#browser-path").focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.entries[int(event.option.id or 0)].path)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(Path(event.value.strip()))  # Compare's load expands ~ (and says when it cannot)

    def action_cancel(self) -> None:
        self.dismiss(None)
