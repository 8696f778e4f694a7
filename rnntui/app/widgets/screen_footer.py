"""A footer that lists only the keys of its own screen.

Textual's :class:`~textual.widgets.Footer` lists every active binding, the
app's included, so a view pushed over the lab (Inspect, Compare, Help) would
list the lab's start/pause/stop keys as if they were its own.  The lab's keys
still work there (quit, help, the views); they are just not advertised.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer


class ScreenFooter(Footer):
    """A :class:`Footer` without the app-level bindings (the command palette key stays)."""

    def compose(self) -> ComposeResult:
        app_keys = {(binding.key, binding.action) for node, binding, _, _ in self.screen.active_bindings.values()
                    if node is self.app and binding.action != "command_palette"}
        for widget in super().compose():  # FooterKey widgets carry their binding's key and action
            if (getattr(widget, "key", None), getattr(widget, "action", None)) in app_keys:
                continue
            yield widget
