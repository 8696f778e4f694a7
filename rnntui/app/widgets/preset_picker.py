"""Presets in the app: a picker (a filterable list with each preset's description)
and the field that shows the loaded preset and opens the picker.

:class:`PresetPickerScreen` is a modal list of the presets (``rnntui presets``):
type to filter, Up/Down to move, Enter to choose, Esc to cancel; the highlighted
preset's whole description shows under the list.  :class:`PresetField` shows
the loaded preset's name and description and opens the picker on Enter or a
click; what is chosen is posted as :class:`PresetField.Chosen` (the main
screen loads it into the form, the Experiment screen into its setup).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from rnntui.config.presets import Preset, list_presets

FORM_SETTINGS = ""
"""What the Experiment screen's picker returns for "grid over the form's settings"."""


@lru_cache(maxsize=1)
def _all_presets() -> tuple[Preset, ...]:
    return tuple(list_presets())


def presets(kind: str = "all", fresh: bool = False) -> list[Preset]:
    """The presets, by name: ``all``, ``experiments`` (a grid or trials) or ``runs``."""
    if fresh:
        _all_presets.cache_clear()
    found = list(_all_presets())
    if kind == "experiments":
        return [p for p in found if p.is_experiment]
    if kind == "runs":
        return [p for p in found if not p.is_experiment]
    return found


def summary(preset: Preset | None) -> str:
    """The first line of a preset's description (its one-line summary)."""
    if preset is None:
        return ""
    return (preset.description.strip().splitlines() or [""])[0]


def reflow(description: str) -> str:
    """A description as the picker shows it: the summary line, then the rest with
    the TOML file's line breaks joined (blank lines still part paragraphs)."""
    first, _, rest = description.strip().partition("\n")
    paragraphs = [" ".join(line.strip() for line in block.splitlines() if line.strip())
                  for block in rest.split("\n\n")]
    return "\n".join([first] + [p for p in paragraphs if p])


def option_text(preset: Preset) -> Text:
    text = Text(preset.name, style="bold")
    if preset.is_experiment:
        text.append("  experiment", style="italic magenta")
    text.append("\n" + summary(preset), style="dim")
    return text


class PresetPickerScreen(ModalScreen[str | None]):
    """Choose a preset; dismissed with its name, :data:`FORM_SETTINGS` for the
    "form's settings" entry (``with_form``), or None (Esc)."""

    DEFAULT_CSS = """
    PresetPickerScreen { align: center middle; }
    PresetPickerScreen > Vertical {
        width: 90%; max-width: 110; height: 90%;
        border: round $accent; border-title-color: $text-accent; background: $surface; padding: 0 1;
    }
    PresetPickerScreen #picker-filter { margin-bottom: 1; }
    PresetPickerScreen #picker-list { height: 1fr; min-height: 4; }
    PresetPickerScreen #picker-about { height: auto; max-height: 40%; border-top: solid $panel; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", "Down", show=False, priority=True),
        Binding("up", "move(-1)", "Up", show=False, priority=True),
        Binding("enter", "choose", "Load", priority=True),
    ]

    def __init__(self, kind: str = "all", current: str | None = None, with_form: bool = False) -> None:
        super().__init__()
        self.kind = kind
        self.current = current
        self.with_form = with_form
        self.shown: list[Preset | None] = []  # None: the form's settings

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "experiment presets" if self.kind == "experiments" else "presets"
            box.border_subtitle = "type to filter · ↑↓ · Enter loads · Esc cancels"
            yield Input(placeholder="filter, e.g. seed", compact=True, id="picker-filter")
            yield OptionList(id="picker-list")
            with VerticalScroll(id="picker-about"):
                yield Static("", id="picker-description")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#picker-filter", Input).focus()

    def _fill(self, query: str) -> None:
        words = query.lower().split()
        shown: list[Preset | None] = [None] if self.with_form and not words else []
        found = presets(self.kind)
        by_name = sorted((p for p in found if all(w in p.name.lower() for w in words)),
                         key=lambda p: (not p.name.lower().startswith(query.strip().lower()), p.name))
        shown += by_name + [p for p in found if p not in by_name  # names first (prefix first), then descriptions
                            and all(w in f"{p.name} {p.description}".lower() for w in words)]
        self.shown = shown
        options = [Option(Text("the form's settings", style="bold")
                          + Text("\ngrid over what the main screen's form holds", style="dim"))
                   if p is None else Option(option_text(p)) for p in shown]
        listing = self.query_one("#picker-list", OptionList)
        listing.set_options(options)
        names = [p.name if p else FORM_SETTINGS for p in shown]
        if names:
            listing.highlighted = names.index(self.current) if self.current in names else 0
        self._describe()

    @on(Input.Changed, "#picker-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self) -> None:
        self._describe()

    @on(OptionList.OptionSelected)
    def _selected(self) -> None:
        self.action_choose()

    def _describe(self) -> None:
        about = self.query_one("#picker-description", Static)
        index = self.query_one("#picker-list", OptionList).highlighted
        if index is None or not self.shown:
            about.update(Text("no preset matches", style="dim"))
            return
        preset = self.shown[index]
        if preset is None:
            about.update("The experiment varies the grid over the settings in the main screen's form.")
            return
        text = Text(preset.name, style="bold")
        if preset.is_experiment:
            runs = preset.trials
            for values in preset.grid.values():
                runs *= len(values)
            text.append(f"  ·  {runs} runs", style="magenta")
        text.append("\n" + reflow(preset.description))
        about.update(text)

    def action_move(self, delta: int) -> None:
        listing = self.query_one("#picker-list", OptionList)
        if listing.option_count:
            current = listing.highlighted if listing.highlighted is not None else -delta
            listing.highlighted = max(0, min(listing.option_count - 1, current + delta))

    def action_choose(self) -> None:
        index = self.query_one("#picker-list", OptionList).highlighted
        if index is None or not self.shown:
            return
        preset = self.shown[index]
        self.dismiss(FORM_SETTINGS if preset is None else preset.name)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PresetField(Vertical):
    """The loaded preset: a button with its name (Enter or a click opens the picker)
    and its description's first line (``compact``: the button only)."""

    DEFAULT_CSS = """
    PresetField { height: auto; }
    PresetField > Horizontal { height: 1; }
    PresetField .field-label { width: 13; color: $text-muted; }
    PresetField Button { width: 1fr; min-width: 8; }
    PresetField #preset-about { color: $text-muted; height: auto; max-height: 3; }
    """

    @dataclass
    class Chosen(Message):
        """A preset was picked: its name (:data:`FORM_SETTINGS` for the form's settings)."""

        field: "PresetField"
        name: str

    def __init__(self, preset: Preset | None = None, *, kind: str = "all", with_form: bool = False,
                 empty: str = "(none: pick one)", compact: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.preset = preset
        self.kind = kind
        self.with_form = with_form
        self.empty = empty
        self.button_only = compact
        self.edited = False

    def compose(self) -> ComposeResult:
        with Horizontal():
            if not self.button_only:
                yield Label("preset", classes="field-label")
            button = Button(self._label(), id="preset-button", compact=True)
            button.tooltip = self._tooltip_text()
            yield button
        if not self.button_only:
            yield Static(self._about(), id="preset-about")

    def _label(self) -> str:
        if self.preset is None:
            return self.empty
        return self.preset.name + (" · edited" if self.edited else "") + " ▾"

    def _about(self) -> str:
        return summary(self.preset) if self.preset else ""

    def _tooltip_text(self) -> str:
        text = self.preset.description.strip() if self.preset else ""
        return (text + "\n\n" if text else "") + "Enter: choose a preset"

    def show(self, preset: Preset | None, edited: bool = False) -> None:
        """Show ``preset`` as the loaded one (``edited``: the values differ from it since)."""
        if preset is self.preset and edited == self.edited:
            return
        self.preset, self.edited = preset, edited
        if self.is_mounted:
            button = self.query_one("#preset-button", Button)
            button.label = self._label()
            button.tooltip = self._tooltip_text()
            for about in self.query("#preset-about").results(Static):
                about.update(self._about())

    def open_picker(self) -> None:
        current = self.preset.name if self.preset else (FORM_SETTINGS if self.with_form else None)
        self.app.push_screen(PresetPickerScreen(self.kind, current, self.with_form), self._picked)

    def _picked(self, name: str | None) -> None:
        if name is not None:
            self.post_message(self.Chosen(self, name))

    @on(Button.Pressed, "#preset-button")
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.open_picker()
