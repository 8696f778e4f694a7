"""The command palette's presets: typing part of a preset's name (``seed``) lists
the matching presets with their descriptions; choosing one loads it (a single
run into the form, an experiment into the Experiment view) through the app's
``apply_preset``."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import Hit, Hits, Provider

from rnntui.app.widgets.preset_picker import presets, summary

if TYPE_CHECKING:
    from rnntui.app.app import RnnTuiApp

PREFIX = "Preset: "


class PresetCommands(Provider):
    """One palette entry per preset: ``Preset: NAME``, its summary as the help."""

    async def search(self, query: str) -> Hits:
        app: "RnnTuiApp" = self.app  # type: ignore[assignment]
        matcher = self.matcher(query)
        for preset in presets():
            text = PREFIX + preset.name
            score = matcher.match(text)
            if score > 0:
                kind = "experiment · " if preset.is_experiment else ""
                yield Hit(score, matcher.highlight(text), partial(app.apply_preset, preset.name), text=text,
                          help=kind + summary(preset))
