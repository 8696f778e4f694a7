"""The lab's commands, declared once: its key bindings and the palette-only
commands; everything that lists them is generated from these.

A key is a :class:`~textual.binding.Binding` whose ``description`` is its footer
label and whose ``tooltip`` is its help text (the footer shows it on hover).
:class:`LabBinding` adds ``title``, the key's command-palette entry.  Commands
that have no key are :class:`PaletteCommand` entries.  :data:`LAB_BINDINGS` are
``RnnTuiApp.BINDINGS``; from an app's bindings come:

* the help screen (:func:`help_rows`),
* the command palette (:func:`palette_commands`, offered through
  ``App.get_system_commands``),
* the README's key tables (:func:`markdown_table`; tests/test_app_keys.py checks
  README.md against ``RnnTuiApp.BINDINGS``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class LabBinding(Binding):
    """A binding that is also a command-palette entry called ``title``.

    ``footer_rank``: which keys the footer drops first when they do not all fit
    its width (the highest rank first; 0, the default: only when nothing else is
    left to drop)."""

    title: str = ""
    footer_rank: int = 0


@dataclass(frozen=True)
class PaletteCommand:
    """A command the palette offers that has no key."""

    title: str
    action: str
    help: str


LAB_BINDINGS: list[BindingType] = [
    LabBinding("s,f5", "start", "Start", title="Start run", tooltip="start a run with the form's settings"),
    LabBinding("p,f6", "pause", "Pause", title="Pause / resume run", tooltip="pause / resume the run"),
    LabBinding("t,f7", "stop", "Stop", title="Stop run", tooltip="stop the run (it stays on screen)"),
    LabBinding("r,f8", "reset", "Reset", footer_rank=2, title="Reset view",
               tooltip="reset: clear the finished run from the screen"),
    LabBinding("o", "presets", "Presets", title="Load a preset",
               tooltip="presets: pick one (the seeds' experiments too) to load it, with its description"),
    LabBinding("e", "edit_form", "Edit", footer_rank=2, title="Edit settings",
               tooltip="jump to the configuration form (Esc leaves it)"),
    LabBinding("c", "compare", "Compare", footer_rank=1, title="Compare runs",
               tooltip="Compare: this session's runs and run directories from disk; overlay curves, "
                       "config diff, CSV/JSON export"),
    LabBinding("x", "experiment", "Exper.", footer_rank=1, title="Experiments",
               tooltip="Experiment: a grid of runs (cells × lengths × seeds) filling in live, "
                       "mean ± standard error per grid point"),
    LabBinding("i", "inspect", "Inspect", footer_rank=1, title="Inspect model",
               tooltip="Inspect: parameter and shape tables, ‖∂L/∂hₜ‖ per time step over training, "
                       "gate heatmaps"),
    LabBinding("v", "conv", "Conv", footer_rank=2, title="Convolution lab",
               tooltip="convolution lab: kernels, pooling and seed 004's CNN, from scratch"),
    LabBinding("question_mark,f1", "help", "Help", key_display="?", title="Help",
               tooltip="help: the keys and what the panels show"),
    LabBinding("l", "toggle_log", "Log", footer_rank=3, title="Toggle log scale",
               tooltip="log scale on the loss plot (and on lower-is-better metrics)"),
    LabBinding("m", "toggle_smooth", "EMA", footer_rank=3, title="Toggle smoothing",
               tooltip="smoothing (exponential moving average) on/off"),
    LabBinding("n", "next_metric", "Metric", footer_rank=3, title="Next metric",
               tooltip="next metric on the metric plot"),
    LabBinding("g", "swap_plots", "Swap", footer_rank=3, title="Swap plots",
               tooltip="swap loss / metric plot (below 120 columns only one shows)"),
    LabBinding("f", "toggle_form", "Form", footer_rank=3, title="Toggle form",
               tooltip="show / hide the configuration form (below 120 columns it hides during a run)"),
    LabBinding("w", "save_figure", "Figure", footer_rank=3, title="Save figure",
               tooltip="save the run's curves as a figure (SVG; needs matplotlib: rnntui[plot]) in its run directory"),
    LabBinding("q,ctrl+q", "quit", "Quit", tooltip="quit (asks first while a run or an experiment is on)"),
    LabBinding("escape", "leave_form", show=False, tooltip="leave the form so letter keys work / close a screen"),
]
"""The lab's keys (``RnnTuiApp.BINDINGS``), in the order the help lists them."""

LAB_PALETTE_ONLY: tuple[PaletteCommand, ...] = (
    PaletteCommand("Reset form to preset", "reset_form", "put back the loaded preset's values"),
    PaletteCommand("Checkpoint now", "checkpoint", "save the running model at the next step"),
)
"""Commands the palette offers that have no key."""

TEXTUAL_KEYS: tuple[tuple[str, str], ...] = (
    ("tab", "next field or panel"),
    ("ctrl+p", "command palette (every command by name)"),
)
"""Keys Textual itself binds that the lists show after the lab's own."""

_NAMES = {"question_mark": "?", "escape": "Esc", "tab": "Tab", "space": "Space", "enter": "Enter"}


def key_names(keys: str) -> list[str]:
    """How a binding's keys are written: ``"s,f5"`` -> ``["s", "F5"]``,
    ``"question_mark,f1"`` -> ``["?", "F1"]``, ``"escape"`` -> ``["Esc"]``."""
    names = []
    for key in keys.split(","):
        key = key.strip()
        names.append(key.upper() if re.fullmatch(r"f\d+", key) else _NAMES.get(key, key))
    return names


def _bindings(bindings: Iterable[BindingType]) -> list[Binding]:
    return [b for b in bindings if isinstance(b, Binding)]


def key_rows(bindings: Iterable[BindingType], extra: Iterable[tuple[str, str]] = ()) -> list[tuple[list[str], str]]:
    """(key names, help text) for every binding with a tooltip, in order, then ``extra``
    ((keys, help) pairs).  Neighbours with the same tooltip share a row (``1 2 3 4``)."""
    rows: list[tuple[list[str], str]] = []
    for binding in _bindings(bindings):
        if not binding.tooltip:
            continue
        if rows and rows[-1][1] == binding.tooltip:
            rows[-1][0].extend(key_names(binding.key))
        else:
            rows.append((key_names(binding.key), binding.tooltip))
    rows += [(key_names(keys), text) for keys, text in extra]
    return rows


def help_rows(bindings: Iterable[BindingType], extra: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The help screen's rows: (``"s  F5"``, help text)."""
    return [("  ".join(names), text) for names, text in key_rows(bindings, extra)]


def markdown_table(bindings: Iterable[BindingType], extra: Iterable[tuple[str, str]] = ()) -> str:
    """The README's table: a row ``| `s` / F5 | help |`` per key (single characters in
    backticks, named keys plain)."""
    lines = ["| key | action |", "|---|---|"]
    for names, text in key_rows(bindings, extra):
        keys = " / ".join(f"`{n}`" if len(n) == 1 else n for n in names)
        lines.append(f"| {keys} | {text} |")
    return "\n".join(lines)


def palette_commands(bindings: Iterable[BindingType], extra: Iterable[PaletteCommand] = ()) -> list[PaletteCommand]:
    """The command palette's entries: every :class:`LabBinding` with a title (its
    help says the keys too), then ``extra``."""
    commands = [PaletteCommand(b.title, b.action, f"{b.tooltip} ({', '.join(key_names(b.key))})")
                for b in _bindings(bindings) if isinstance(b, LabBinding) and b.title]
    return commands + list(extra)
