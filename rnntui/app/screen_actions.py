"""The lab's actions that open the other screens: help, compare, experiments, inspect."""

from __future__ import annotations

import importlib


class ScreenActionsMixin:
    """Part of :class:`~rnntui.app.app.RnnTuiApp`."""

    def action_help(self) -> None:
        from rnntui.app.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_compare(self) -> None:
        self._push_optional("rnntui.app.screens.compare", "CompareScreen", "Compare")

    def action_experiment(self) -> None:
        self._push_optional("rnntui.app.screens.experiment", "ExperimentScreen", "Experiments")

    def action_inspect(self) -> None:
        self._push_optional("rnntui.app.screens.inspect", "InspectScreen", "Inspect")

    def _push_optional(self, module: str, name: str, title: str) -> bool:
        """Screens other modules provide: import lazily, a notice when missing."""
        try:
            screen_cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            self.notify(f"{title} is not available in this build ({exc}).", severity="warning")
            return False
        if type(self.screen) is not screen_cls:
            self.push_screen(screen_cls(self))
        return True
