"""The help screen (``?`` or F1): what the panels show, every key of the lab and
those of the Inspect view.  It scrolls with the keyboard (↑↓, PgUp/PgDn, Home/End).

The key rows come from the bindings (:func:`rnntui.app.commands.help_rows`):
the app passes them in."""

from __future__ import annotations

from typing import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from rnntui.app.widgets.screen_footer import ScreenFooter

ABOUT = (
    "rnntui trains a recurrent network on a sequence task and shows it learning.\n\n"
    "First run: press s.  The lab opens on the adding problem's preset; in a few seconds the MSE leaves "
    "the grey baseline line (what always answering 1.0 scores) and drops far below it.  When a run "
    "ends, the log says whether and by how much it beat the baseline, and what to try if it did not.\n"
    "Presets (o, or type 'seed' in ctrl+p): every preset with its description; the seeds' experiments "
    "open in the Experiment view (x).  Choosing a task in the form loads its own preset.\n"
    "Configuration (left; e jumps there): edit a value and it is checked at once; a bad value is marked "
    "in red with the reason, and Start is refused until it is fixed.  Only the settings that apply to "
    "the task and cell show; the rest are under 'advanced' (Enter on it unfolds).  Tab / shift+Tab move "
    "between fields; Esc leaves the form so that the keys below work again.  On narrow terminals the "
    "form hides while a run is on (f shows it).\n"
    "Plots: training loss (every log_every steps) and held-out loss; the task's metric with its "
    "trivial baseline as a grey line.  Early in a run the held-out set is evaluated more often "
    "(eval_early), so the climb shows.\n"
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
    HelpScreen > Vertical { width: 90%; max-width: 96; height: 90%; background: $surface; }
    HelpScreen VerticalScroll {
        height: 1fr;
        border: round $accent;
        border-title-color: $text-accent;
        background: $surface;
        padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close"),
        # priority: the keys scroll the help whatever has the focus, and the footer lists them
        Binding("down,j", "scroll('down')", "Scroll", key_display="↓↑", priority=True),
        Binding("up,k", "scroll('up')", "Up", show=False, priority=True),
        Binding("pagedown,space", "scroll('page_down')", "Page", key_display="PgDn", priority=True),
        Binding("pageup", "scroll('page_up')", "Page up", show=False, priority=True),
        Binding("home", "scroll('home')", "Top", show=False, priority=True),
        Binding("end", "scroll('end')", "End", priority=True),
    ]

    def __init__(self, keys: Sequence[tuple[str, str]], inspect_keys: Sequence[tuple[str, str]]) -> None:
        """``keys``/``inspect_keys``: (keys, what they do) rows of the lab and of the Inspect view."""
        super().__init__()
        self.keys = list(keys)
        self.inspect_keys = list(inspect_keys)

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll(id="help-text") as box:
                box.border_title = "rnntui help"
                box.border_subtitle = "↑↓ PgUp/PgDn Home/End scroll · Esc closes"
                yield Static(Text(ABOUT))
                yield Static(Text("Keys", style="bold"))
                yield Static(keys_table(self.keys))
                yield Static(Text("\nKeys in the Inspect view (i)", style="bold"))
                yield Static(keys_table(self.inspect_keys))
            yield ScreenFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#help-text", VerticalScroll).focus()

    def action_scroll(self, where: str) -> None:
        box = self.query_one("#help-text", VerticalScroll)
        {"down": box.scroll_down, "up": box.scroll_up, "page_down": box.scroll_page_down,
         "page_up": box.scroll_page_up, "home": box.scroll_home, "end": box.scroll_end}[where](animate=False)
