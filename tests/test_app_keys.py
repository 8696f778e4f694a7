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
