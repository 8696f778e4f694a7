"""The help screen (``?`` or F1): what the panels show, every key of the lab and
those of the Inspect view.

The key rows come from the bindings (:func:`rnntui.app.commands.help_rows`):
the app passes them in."""

from __future__ import annotations

from typing import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

ABOUT = (
    "rnntui trains a recurrent network on a sequence task and shows it learning.\n\n"
    "Configuration (left): edit a value and it is checked at once; a bad value is marked in red with "
    "the reason, and Start is refused until it is fixed.  Tab / shift+Tab move between fields; Esc "
    "leaves the form so that the keys below work again.  On narrow terminals the form hides while a "
    "run is on (f shows it).\n"
    "Plots: training loss (every log_every steps) and held-out loss; the task's metric with its "
    "trivial baseline as a grey line.\n"
    "Samples: predictions on held-out data at each evaluation, ✓ right / ✗ wrong.\n"
    "Runs are saved under runs/ (config, metrics, summary, checkpoint).\n"
)


def keys_table(keys: Sequence[tuple[str, str]]) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for key, what in keys:
        table.add_row(key, what)
    return table


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%;
        max-width: 96;
        height: 90%;
        border: round $accent;
        border-title-color: $text-accent;
        background: $surface;
        padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close"),
    ]

    def __init__(self, keys: Sequence[tuple[str, str]], inspect_keys: Sequence[tuple[str, str]]) -> None:
        """``keys``/``inspect_keys``: (keys, what they do) rows of the lab and of the Inspect view."""
        super().__init__()
        self.keys = list(keys)
        self.inspect_keys = list(inspect_keys)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "rnntui help"
            box.border_subtitle = "Esc closes"
            yield Static(Text(ABOUT))
            yield Static(Text("Keys", style="bold"))
            yield Static(keys_table(self.keys))
            yield Static(Text("\nKeys in the Inspect view (i)", style="bold"))
            yield Static(keys_table(self.inspect_keys))

