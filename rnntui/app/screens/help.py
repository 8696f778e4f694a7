"""The help screen (``?`` or F1): what the panels show, every key of the lab and
those of the Inspect view."""

from __future__ import annotations

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

KEYS: tuple[tuple[str, str], ...] = (
    ("s  F5", "start a run with the form's settings"),
    ("p  F6", "pause / resume"),
    ("t  F7", "stop the run (it stays on screen)"),
    ("r  F8", "reset: clear the finished run from the screen"),
    ("l", "log scale on the loss plot (and lower-is-better metrics)"),
    ("m", "smoothing (exponential moving average) on/off"),
    ("n", "next metric on the metric plot"),
    ("g", "swap loss / metric plot (narrow terminals show one)"),
    ("f", "show / hide the configuration form"),
    ("c", "compare the runs of this session"),
    ("x", "experiments (grids of runs)"),
    ("i", "inspect the model (shapes, gradients per time step)"),
    ("v", "convolution lab: kernels, pooling, seed 004's CNN"),
    ("Esc", "leave the form / close a screen"),
    ("Tab", "next field or panel"),
    ("ctrl+p", "command palette (all commands by name)"),
    ("?  F1", "this help"),
    ("q  ctrl+q", "quit (a running run is stopped first)"),
)

INSPECT_KEYS: tuple[tuple[str, str], ...] = (
    ("1 2 3 4", "tabs: parameters, shapes, gradients, gates"),
    ("l", "log / linear scale of the gradient heatmap and profile"),
    ("n", "gate traces of the next held-out sample (of 8)"),
    ("r", "reload: measure the current model again"),
    ("Esc  i", "close the Inspect view"),
)


def keys_table(keys: tuple[tuple[str, str], ...]) -> Table:
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

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "rnntui help"
            box.border_subtitle = "Esc closes"
            yield Static(Text(ABOUT))
            yield Static(Text("Keys", style="bold"))
            yield Static(keys_table(KEYS))
            yield Static(Text("\nKeys in the Inspect view (i)", style="bold"))
            yield Static(keys_table(INSPECT_KEYS))

