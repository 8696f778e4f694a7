"""A ``Select`` that survives being mounted on a busy machine.

Textual's ``Select`` sets its value when it mounts, which updates the label of
its ``SelectCurrent`` child; under load that child may not have composed its
label yet and the app dies with ``NoMatches: '#label'`` (Textual issue #6581,
open for 8.2).  Seen here when the form mounts its rows while torch is being
imported.  :class:`Choice` composes a ``SelectCurrent`` whose ``update`` keeps
the label for when it exists instead.  Remove once Textual has the fix.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.widgets import Select

try:  # the classes Select composes (not exported by textual.widgets)
    from textual.widgets._select import SelectCurrent
except ImportError:  # pragma: no cover - another Textual: use Select as it is
    SelectCurrent = None  # type: ignore[assignment,misc]


if SelectCurrent is not None:
    class _SafeCurrent(SelectCurrent):  # type: ignore[misc,valid-type]
        def update(self, label):  # type: ignore[no-untyped-def]
            try:
                super().update(label)
            except NoMatches:  # the label is not composed yet: set it once it is
                self.label = label
                self.call_after_refresh(self._update_later)

        def _update_later(self) -> None:
            if self.is_attached:
                self.update(self.label)


class Choice(Select[str]):
    """A :class:`~textual.widgets.Select` of strings, safe to mount at any time."""

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if SelectCurrent is not None and type(widget) is SelectCurrent:
                widget = _SafeCurrent(self.prompt)
            yield widget
