"""A footer that lists only the keys of its own screen, as many as fit.

Textual's :class:`~textual.widgets.Footer` lists every active binding, the
app's included, so a view pushed over the lab (Inspect, Compare, Help) would
list the lab's start/pause/stop keys as if they were its own.  The lab's keys
still work there (quit, help, the views); they are just not advertised.  On the
lab itself (the app's first screen) the app's keys are its own and are listed.

Keys that do not fit the width are dropped rather than cut off at the edge:
those with the highest ``footer_rank`` first (a :class:`~rnntui.app.commands.LabBinding`
field), the later ones of a rank first; keys of rank 0 (the default) only when
nothing else is left to drop, and never the first.  Every key stays in the help
screen and the command palette.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer

GAP = 1
"""Columns between two keys (the footer grid's gutter)."""


def key_width(widget: Widget, compact: bool) -> int:
    """Columns a footer key takes: `` key description `` (compact: no outer padding)."""
    display = getattr(widget, "key_display", "") or ""
    description = getattr(widget, "description", "") or ""
    return cell_len(display) + (1 + cell_len(description) if description else 0) + (0 if compact else 2)


def fitting(widths: list[int], ranks: list[int], room: int) -> list[bool]:
    """Which keys to show: drop the highest rank's keys, last first, until the rest
    (with a gap after each) fit ``room`` columns; then rank 0 keys, last first,
    down to the first key, which always stays."""
    keep = [True] * len(widths)
    used = sum(w + GAP for w in widths)
    order = sorted(range(1, len(widths)), key=lambda i: (-ranks[i], -i))
    for i in order:
        if used <= room:
            break
        keep[i] = False
        used -= widths[i] + GAP
    return keep


class ScreenFooter(Footer):
    """A :class:`Footer` of its screen's own keys, dropping the least needed when narrow."""

    def __init__(self, *, compact: bool = False, id: str | None = None) -> None:
        super().__init__(id=id, compact=compact)
        self._width = 0

    def compose(self) -> ComposeResult:
        active = self.screen.active_bindings.values()
        stack = self.app.screen_stack
        lab = bool(stack) and self.screen is stack[0]
        app_keys = set() if lab else {(b.key, b.action) for node, b, _, _ in active
                                      if node is self.app and b.action != "command_palette"}
        rank_of = {b.action: b.footer_rank for b in (*self.app.BINDINGS, *self.screen.BINDINGS)  # as declared:
                   if hasattr(b, "footer_rank")}  # Textual's active bindings are plain copies
        widgets = [w for w in super().compose()  # FooterKey widgets carry their binding's key and action
                   if (getattr(w, "key", None), getattr(w, "action", None)) not in app_keys]
        docked = [w for w in widgets if w.has_class("-command-palette")]
        listed = [w for w in widgets if not w.has_class("-command-palette")]
        room = (self._width or self.app.size.width) - sum(key_width(w, self.compact) + GAP for w in docked)
        widths = [key_width(w, self.compact) for w in listed]
        keep = fitting(widths, [rank_of.get(getattr(w, "action", None), 0) for w in listed], room)
        self.styles.grid_size_columns = sum(keep)
        yield from (w for w, k in zip(listed, keep) if k)
        yield from docked

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self.call_after_refresh(self.recompose)
