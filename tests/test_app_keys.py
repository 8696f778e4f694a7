"""One key list: the footer, the help screen, the command palette and the README's
key tables all come from the app's bindings."""

from __future__ import annotations

import re
from pathlib import Path

from textual.binding import Binding

from rnntui.app.app import RnnTuiApp
from rnntui.app.commands import (TEXTUAL_KEYS, LabBinding, help_rows, key_names, markdown_table,
                                 palette_commands)
from rnntui.app.screens.help import HelpScreen
from rnntui.app.screens.inspect import InspectScreen

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_key_tables() -> list[str]:
    """The markdown tables of README.md's "## Keys" section, in order."""
    text = README.read_text()
    section = text.split("\n## Keys\n", 1)[1].split("\n## ", 1)[0]
    return [m.group(0).strip() for m in re.finditer(r"(?m)(^\|.*\|\n?)+", section)]


def test_readme_key_tables_are_the_bindings():
    tables = readme_key_tables()
    assert tables == [markdown_table(RnnTuiApp.BINDINGS, TEXTUAL_KEYS), markdown_table(InspectScreen.BINDINGS)]
    section = README.read_text().split("\n## Keys\n", 1)[1].split("\n## ", 1)[0]
    for command in RnnTuiApp.PALETTE_ONLY:  # the commands without a key are named under the tables
        assert command.title in section


def test_every_key_has_help_and_every_action_exists():
    for binding in RnnTuiApp.BINDINGS:
        assert isinstance(binding, Binding) and binding.tooltip, binding
        assert hasattr(RnnTuiApp, f"action_{binding.action}"), binding.action
    for command in RnnTuiApp.PALETTE_ONLY:
        assert hasattr(RnnTuiApp, f"action_{command.action}"), command.action
    for binding in InspectScreen.BINDINGS:
        assert isinstance(binding, Binding) and binding.tooltip, binding
        assert hasattr(InspectScreen, f"action_{binding.action.split('(')[0]}"), binding.action


def test_key_names_and_rows():
    assert key_names("s,f5") == ["s", "F5"]
    assert key_names("question_mark,f1") == ["?", "F1"]
    assert key_names("escape,i") == ["Esc", "i"]
    rows = help_rows(RnnTuiApp.BINDINGS, TEXTUAL_KEYS)
    assert rows[0] == ("s  F5", "start a run with the form's settings")
    assert rows[-2:] == [("Tab", "next field or panel"), ("ctrl+p", "command palette (every command by name)")]
    # the four tab keys share one tooltip: one row
    assert help_rows(InspectScreen.BINDINGS)[0] == ("1  2  3  4", "tabs: parameters, shapes, gradients, gates")
    assert markdown_table([Binding("x,f2", "a", tooltip="does a"), Binding("y", "b")]) == (
        "| key | action |\n|---|---|\n| `x` / F2 | does a |")


def test_palette_lists_the_titled_bindings_then_the_palette_only_commands():
    commands = palette_commands(RnnTuiApp.BINDINGS, RnnTuiApp.PALETTE_ONLY)
    titled = [b for b in RnnTuiApp.BINDINGS if isinstance(b, LabBinding) and b.title]
    assert [c.action for c in commands] == [b.action for b in titled] + [c.action for c in RnnTuiApp.PALETTE_ONLY]
    start = commands[0]
    assert (start.title, start.action, start.help) == ("Start run", "start",
                                                       "start a run with the form's settings (s, F5)")


async def test_help_screen_and_palette_show_the_bindings():
    app = RnnTuiApp(runs_root=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        assert screen.keys == help_rows(RnnTuiApp.BINDINGS, TEXTUAL_KEYS)
        assert screen.inspect_keys == help_rows(InspectScreen.BINDINGS)
        await pilot.press("escape")
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        palette = [c.title for c in palette_commands(RnnTuiApp.BINDINGS, RnnTuiApp.PALETTE_ONLY)]
        assert titles[:len(palette)] == palette and "Quit" in titles[len(palette):]  # then Textual's own


def test_the_footer_drops_the_highest_ranks_last_first_until_the_keys_fit():
    from rnntui.app.widgets.screen_footer import fitting

    widths, ranks = [5, 5, 5, 5, 5], [0, 2, 1, 2, 0]  # each key takes 5 columns and a gap
    assert fitting(widths, ranks, 30) == [True] * 5
    assert fitting(widths, ranks, 29) == [True, True, True, False, True]  # rank 2, the later one first
    assert fitting(widths, ranks, 18) == [True, False, True, False, True]
    assert fitting(widths, ranks, 17) == [True, False, False, False, True]  # then rank 1
    assert fitting(widths, ranks, 11) == [True, False, False, False, False]  # then rank 0, last first
    assert fitting(widths, ranks, 3) == [True, False, False, False, False]  # the first key always stays


async def _footer_keys(width: int) -> tuple[list[tuple[str, int, int]], int]:
    from textual.widgets import Footer

    app = RnnTuiApp(runs_root=None)
    async with app.run_test(size=(width, 30)) as pilot:
        for _ in range(100):  # the footer fills in a refresh after the screen is up
            await pilot.pause(0.05)
            keys = [(k.action, k.region.x, k.region.right) for k in app.screen.query_one(Footer).query("FooterKey")]
            if any(action == "start" for action, _, _ in keys):
                break
    palette = next(x for action, x, _ in keys if action == "command_palette")
    return [k for k in keys if k[0] != "command_palette"], palette


async def test_the_lab_footer_shows_what_fits_never_cut_off():
    ranks = {b.action: b.footer_rank for b in RnnTuiApp.BINDINGS if isinstance(b, LabBinding) and b.show}
    for width, dropped in ((80, {"reset", "edit_form", "inspect", "conv"}), (100, {"edit_form", "conv"}),
                           (160, set())):
        keys, palette = await _footer_keys(width)
        shown = {action for action, _, _ in keys}
        assert all(right <= palette for _, _, right in keys), (width, keys)  # nothing under the palette key
        assert {a for a, r in ranks.items() if r == 0} <= shown  # start, pause, stop, presets, help, quit
        assert not dropped & shown, width
        assert all(ranks[a] == 3 for a in set(ranks) - shown - dropped), width  # the view toggles go first
    assert shown >= set(ranks)  # 160 columns: every key
