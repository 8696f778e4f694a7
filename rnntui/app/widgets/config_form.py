"""The configuration panel: one compact row per setting, validated as you type.

Values are layered the way the spec says: the base (defaults < preset < flags)
comes in as a dict and the form's edits go on top.  Every edit re-validates
with :func:`rnntui.config.build_config`; a bad value marks its row with the
validator's own message and the form posts :class:`FormChanged` with the
errors, so the app can refuse to start.  Task-specific options
(``task_class(task).options``) appear once the engine has described the tasks.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from rnntui.app.messages import FormChanged
from rnntui.tasks.spec import TaskSpec
from rnntui.config import Config, ConfigError, build_config, coerce, field_type
from rnntui.config.schema import KEYS, task_keys

FORM_SECTIONS = ("run", "model", "training", "task", "evaluation")
"""The sections the form shows, in order: each key's own ``section`` places it
(``task`` holds the current task's options)."""
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (title if title != "task" else "task options", tuple(k.name for k in KEYS.values() if k.section == title))
    for title in FORM_SECTIONS
)
FORM_KEYS = tuple(k for _, keys in SECTIONS for k in keys)
CHOICE_EXTRAS: dict[str, tuple[str, ...]] = {"device": ("cpu", "auto", "cuda")}
"""Choices offered for keys whose rule is not a list (any cuda:N is typed)."""


def choices(key: str) -> tuple[str, ...]:
    return KEYS[key].choices or CHOICE_EXTRAS.get(key, ())


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


class FieldRow(Vertical):
    """Label + editor on one line, the validator's message under it when bad."""

    DEFAULT_CSS = """
    FieldRow { height: auto; }
    FieldRow > Horizontal { height: 1; }
    FieldRow Label.field-label { width: 11; color: $text-muted; }
    FieldRow Input, FieldRow Select { width: 1fr; }
    FieldRow Checkbox { width: 6; }
    FieldRow .field-error { display: none; color: $text-error; padding-left: 1; }
    FieldRow.-invalid .field-error { display: block; }
    FieldRow.-invalid Label.field-label { color: $text-error; text-style: bold; }
    """

    def __init__(self, key: str, value: Any) -> None:
        super().__init__(id=f"row-{key}", classes="field-row")
        self.key = key
        self.value = value
        self.error = ""

    def compose(self) -> ComposeResult:
        key, value = self.key, self.value
        with Horizontal():
            label = Label(KEYS[key].form_label, classes="field-label")
            label.tooltip = f"{key}: {KEYS[key].help}"
            yield label
            yield make_editor(key, value)
        yield Static(self.error, id=f"err-{key}", classes="field-error")

    def set_error(self, message: str | None) -> None:
        self.error = message or ""
        self.set_class(bool(message), "-invalid")
        for static in self.query(".field-error").results(Static):  # none until composed
            static.update(self.error)


def make_editor(key: str, value: Any) -> Widget:
    wid = f"f-{key}"
    tip = KEYS[key].help
    if choices(key):
        options = list(choices(key))
        if _text(value) not in options:
            options.append(_text(value))
        editor: Widget = Select([(o, o) for o in options], value=_text(value), allow_blank=False,
                                compact=True, id=wid)
        editor.choice_values = options  # type: ignore[attr-defined]
    elif field_type(key) is bool:
        editor = Checkbox("", bool(value), compact=True, id=wid)
    else:
        editor = Input(_text(value), compact=True, id=wid, select_on_focus=True)
    editor.tooltip = tip
    return editor


class ConfigForm(VerticalScroll):
    """Edits a Config.  ``config`` is the last valid one (None while a field is bad)."""

    DEFAULT_CSS = """
    ConfigForm { height: 1fr; scrollbar-size-vertical: 1; }
    ConfigForm .section { color: $text-accent; text-style: bold; margin-top: 1; }
    ConfigForm #form-error { display: none; color: $text-error; }
    ConfigForm.-cross-error #form-error { display: block; }
    """

    def __init__(self, base: dict[str, Any], *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.base = dict(base)
        self.raw: dict[str, Any] = {k: self.base.get(k) for k in self.base}
        self.task_infos: dict[str, TaskSpec] = {}
        self.config: Config | None = None
        self.errors: dict[str, str] = {}
        self.rejected: dict[str, str] = {}  # task-level problems found by the worker; kept until an edit
        self._shown_options: tuple[str, ...] = ()
        self._option_rows: dict[str, FieldRow] = {}
        self._loading = False

    # ------------------------------------------------------------- compose
    def compose(self) -> ComposeResult:
        yield Static("", id="form-error")
        for title, keys in SECTIONS:
            if title == "task options":
                yield Static("task options", classes="section", id="options-title")
                yield Vertical(Static("(loading tasks…)", id="options-note", classes="dim"), id="task-options")
                continue
            yield Static(title, classes="section")
            for key in keys:
                yield FieldRow(key, self.raw.get(key))

    def on_mount(self) -> None:
        self.validate()  # posts FormChanged: tells the app the form is there

    # --------------------------------------------------------------- API
    def set_task_infos(self, infos: dict[str, TaskSpec]) -> None:
        """The engine is loaded: offer only tasks that import, show the task's options."""
        self.task_infos = dict(infos)
        if infos:
            select = self.query_one("#f-task", Select)
            current = self.raw.get("task")
            names = list(infos) + ([current] if current not in infos else [])
            with self.prevent(Select.Changed):
                select.set_options([(n, n) for n in names])
                select.choice_values = names  # type: ignore[attr-defined]
                select.value = current
        self._sync_task_options()
        self.validate()

    def load(self, values: dict[str, Any]) -> None:
        """Replace the form's values (a preset, or an earlier run's config)."""
        self.base = dict(values)
        self.raw = dict(values)
        self._loading = True
        try:
            for key in FORM_KEYS + self._shown_options:
                self._set_editor(key, values.get(key))
        finally:
            self._loading = False
        self._sync_task_options()
        self.validate()

    def values(self) -> dict[str, Any]:
        """The form's raw values (strings for text fields) over the base."""
        return dict(self.raw)

    def set_value(self, key: str, value: Any) -> None:
        """Set one field programmatically (as if typed)."""
        self._set_editor(key, value)
        self.raw[key] = value if not isinstance(self._editor(key), Input) else _text(value)
        if key == "task":
            self._sync_task_options()
        self.validate()

    def reject(self, key: str, message: str) -> None:
        """Mark ``key`` with a problem only the task or the machine could judge."""
        self.rejected[key] = message
        self.validate(post=False)

    def editor(self, key: str) -> Widget | None:
        return self._editor(key)

    # ----------------------------------------------------------- validation
    def validate(self, post: bool = True, task_changed: bool = False) -> Config | None:
        errors: dict[str, str] = {}
        good: dict[str, Any] = {}
        for key, raw in self.raw.items():
            try:
                good[key] = coerce(key, raw)
            except ConfigError as exc:
                if key in self._visible_keys():
                    errors[key] = exc.message
                if key in self.base:
                    good[key] = self.base[key]  # a hidden option keeps its last valid value
        cross = ""
        config = None
        for _ in range(len(good) + 1):
            try:
                config = build_config(good)
                break
            except ConfigError as exc:
                if exc.key in good and exc.key in self._visible_keys() and exc.key not in errors:
                    errors[exc.key] = exc.message
                    if exc.key in self.base:
                        good[exc.key] = self.base[exc.key]
                    else:
                        good.pop(exc.key, None)
                else:
                    cross = str(exc)
                    break
        if cross:
            errors.setdefault(cross.split(":", 1)[0], cross)
        for key, message in self.rejected.items():
            errors.setdefault(key, message)
            if key not in self._visible_keys():
                cross = cross or f"{key}: {message}"
        if errors or cross:
            config = None
        self.errors = errors
        self.config = config
        self._show_errors(errors, cross)
        if post:
            self.post_message(FormChanged(config, dict(errors), task_changed))
        return config

    def _show_errors(self, errors: dict[str, str], cross: str) -> None:
        for row in self.query(FieldRow):
            row.set_error(errors.get(row.key) if row.display else None)
        self.set_class(bool(cross), "-cross-error")
        self.query_one("#form-error", Static).update(cross)

    def _visible_keys(self) -> tuple[str, ...]:
        return FORM_KEYS + self._shown_options

    # ------------------------------------------------------------ editing
    def _editor(self, key: str) -> Widget | None:
        try:
            return self.query_one(f"#f-{key}")
        except Exception:
            return None

    def _set_editor(self, key: str, value: Any) -> None:
        editor = self._editor(key)
        if editor is None:
            return
        if isinstance(editor, Select):
            text = _text(value)
            choices = list(getattr(editor, "choice_values", []))
            with self.prevent(Select.Changed):
                if text not in choices:
                    choices.append(text)
                    editor.choice_values = choices  # type: ignore[attr-defined]
                    editor.set_options([(v, v) for v in choices])
                editor.value = text
        elif isinstance(editor, Checkbox):
            with self.prevent(Checkbox.Changed):
                editor.value = bool(value)
        elif isinstance(editor, Input):
            with self.prevent(Input.Changed):
                editor.value = _text(value)

    def _on_edit(self, key: str, value: Any) -> None:
        if self._loading or not key:
            return
        if key in self.raw and _text(self.raw[key]) == _text(value):
            return  # a widget echoing a value we set (Select/Checkbox post Changed late)
        self.raw[key] = value
        self.rejected.clear()
        task_changed = key == "task"
        if task_changed:
            self._sync_task_options()
        self.validate(task_changed=task_changed)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._on_edit(_key_of(event.input.id), event.value)

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is Select.BLANK:
            return
        self._on_edit(_key_of(event.select.id), event.value)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._on_edit(_key_of(event.checkbox.id), event.value)

    def _sync_task_options(self) -> None:
        """Show the rows of the current task's own options.  Rows are created once
        and then only shown or hidden, so quick task switches never race a removal."""
        info = self.task_infos.get(str(self.raw.get("task")))
        options = tuple(k for k in (task_keys(info.name) if info else ()) if k not in FORM_KEYS)
        self._shown_options = options
        box = self.query_one("#task-options", Vertical)
        defaults = Config()
        for key in options:
            self.raw.setdefault(key, getattr(defaults, key))
            row = self._option_rows.get(key)
            if row is None:
                row = self._option_rows[key] = FieldRow(key, self.raw[key])
                box.mount(row)
            else:
                row.display = True
                self._set_editor(key, self.raw[key])
        for key, row in self._option_rows.items():
            if key not in options:
                row.display = False
        note = self.query_one("#options-note", Static)
        note.display = not options
        note.update("(loading tasks…)" if not self.task_infos else "(none for this task)")
        self.query_one("#options-title", Static).update(f"task options · {info.title}" if info else "task options")


def _key_of(widget_id: str | None) -> str:
    return widget_id[2:] if widget_id and widget_id.startswith("f-") else ""

