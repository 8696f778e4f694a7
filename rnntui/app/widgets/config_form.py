"""The configuration panel: the loaded preset, then one compact row per setting,
validated as you type.

Values are layered the way the spec says: the base (defaults < preset < flags)
comes in as a dict and the form's edits go on top.  Every edit re-validates
with :func:`rnntui.config.build_config`; a bad value marks its row with the
validator's own message and the form posts :class:`FormChanged` with the
errors, so the app can refuse to start.

Every config key has a row, in the section :func:`rnntui.config.schema.section_of`
names (the ``advanced`` ones folded away), and a row shows only while its key
applies to the chosen task and cell (:func:`rnntui.config.schema.applies`).
Choosing a task loads its preset (``presets/<task>.toml``: its recommended
settings).  For a dataset task trained in epochs the steps field is derived:
it shows the steps that will really run (:meth:`ConfigForm.show_plan`).
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Checkbox, Collapsible, Input, Label, Select, Static

from rnntui.app.messages import FormChanged
from rnntui.app.widgets.choice import Choice
from rnntui.app.widgets.preset_picker import PresetField
from rnntui.config import Config, ConfigError, build_config, coerce, field_type
from rnntui.config.keys import SECTIONS
from rnntui.config.presets import Preset
from rnntui.config.request import task_preset
from rnntui.config.schema import KEYS, applies, section_of, tasks
from rnntui.tasks.spec import TaskSpec

FORM_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (section, tuple(name for name in KEYS if section_of(name) == section)) for section in SECTIONS
)
"""(section, its keys in declaration order) for every section of the form."""
FORM_KEYS = tuple(k for _, keys in FORM_SECTIONS for k in keys)
CHOICE_EXTRAS: dict[str, tuple[str, ...]] = {"device": ("cpu", "auto", "cuda")}
"""Choices offered for keys whose rule is not a list (any cuda:N is typed)."""
TASKS = tasks()


def choices(key: str) -> tuple[str, ...]:
    return KEYS[key].choices or CHOICE_EXTRAS.get(key, ())


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


class FieldRow(Vertical):
    """Label + editor on one line; the validator's message (or a note) under it."""

    DEFAULT_CSS = """
    FieldRow { height: auto; }
    FieldRow > Horizontal { height: 1; }
    FieldRow Label.field-label { width: 13; color: $text-muted; }
    FieldRow Input, FieldRow Select { width: 1fr; }
    FieldRow Checkbox { width: 6; }
    FieldRow .field-error { display: none; color: $text-error; padding-left: 1; }
    FieldRow.-invalid .field-error { display: block; }
    FieldRow.-invalid Label.field-label { color: $text-error; text-style: bold; }
    FieldRow .field-note { display: none; color: $text-muted; padding-left: 1; }
    FieldRow.-noted .field-note { display: block; }
    """

    def __init__(self, key: str, value: Any) -> None:
        super().__init__(id=f"row-{key}", classes="field-row")
        self.key = key
        self.value = value
        self.error = ""
        self.note = ""

    def compose(self) -> ComposeResult:
        key, value = self.key, self.value
        with Horizontal():
            label = Label(KEYS[key].form_label, classes="field-label")
            label.tooltip = f"{key}: {KEYS[key].help}"
            yield label
            yield make_editor(key, value)
        yield Static(self.error, id=f"err-{key}", classes="field-error")
        yield Static(self.note, id=f"note-{key}", classes="field-note")

    def set_error(self, message: str | None) -> None:
        self.error = message or ""
        self.set_class(bool(message), "-invalid")
        for static in self.query(".field-error").results(Static):  # none until composed
            static.update(self.error)

    def set_note(self, note: str) -> None:
        if note == self.note:
            return
        self.note = note
        self.set_class(bool(note), "-noted")
        for static in self.query(".field-note").results(Static):
            static.update(note)


def make_editor(key: str, value: Any) -> Widget:
    wid = f"f-{key}"
    tip = KEYS[key].help
    if choices(key):
        options = list(choices(key))
        if _text(value) not in options:
            options.append(_text(value))
        editor: Widget = Choice([(o, o) for o in options], value=_text(value), allow_blank=False,
                                compact=True, id=wid)
        editor.choice_values = options  # type: ignore[attr-defined]
    elif field_type(key) is bool:
        editor = Checkbox("", bool(value), compact=True, id=wid)
    else:
        editor = Input(_text(value), compact=True, id=wid, select_on_focus=True)
    editor.tooltip = tip
    return editor


class ConfigForm(VerticalScroll):
    """Edits a Config.  ``config`` is the last valid one (None while a field is bad);
    ``preset`` the preset last loaded (None: none)."""

    DEFAULT_CSS = """
    ConfigForm { height: 1fr; scrollbar-size-vertical: 1; }
    ConfigForm .section { color: $text-accent; text-style: bold; margin-top: 1; }
    ConfigForm #form-error { display: none; color: $text-error; }
    ConfigForm.-cross-error #form-error { display: block; }
    ConfigForm #options-note { color: $text-muted; }
    ConfigForm .form-section { height: auto; }
    ConfigForm Collapsible { border: none; padding: 0; margin-top: 1; background: transparent; }
    ConfigForm Collapsible > Contents { padding: 0; }
    ConfigForm CollapsibleTitle { color: $text-accent; text-style: bold; padding: 0; }
    """

    def __init__(self, base: dict[str, Any], *, preset: Preset | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.base = dict(base)
        self.raw: dict[str, Any] = {k: self.base.get(k) for k in self.base}
        self.task_infos: dict[str, TaskSpec] = {}
        self.config: Config | None = None
        self.errors: dict[str, str] = {}
        self.rejected: dict[str, str] = {}  # task-level problems found by the worker; kept until an edit
        self.preset = preset
        self._preset_config = self._config_of(preset)
        self.plan: tuple[int, int] | None = None  # (total steps, steps per epoch) of a dataset task
        self._loading = False
        self.rows: dict[str, FieldRow] = {}
        """The rows made so far: a key's row is made the first time it applies (and
        the advanced ones when that section is first unfolded), then only hidden."""

    # ------------------------------------------------------------- compose
    def compose(self) -> ComposeResult:
        yield PresetField(self.preset, id="preset-field")
        yield Static("", id="form-error")
        task, cell = self.task, self.cell
        for section, keys in FORM_SECTIONS:
            if section == "advanced":  # its rows are made when it is first unfolded
                with Collapsible(title=f"advanced ({len(keys)} settings)", collapsed=True, id="advanced"):
                    yield Vertical(id="section-advanced", classes="form-section")
                continue
            if section == "task":
                yield Static("task options", classes="section", id="options-title")
                yield Static("(none for this task)", id="options-note")
            else:
                yield Static(section, classes="section")
            yield Vertical(*[self._row(k) for k in keys if applies(k, task, cell)], id=f"section-{section}",
                           classes="form-section")

    def _row(self, key: str) -> FieldRow:
        row = self.rows[key] = FieldRow(key, self.raw.get(key))
        return row

    def on_mount(self) -> None:
        self._sync_rows()
        self.validate()  # posts FormChanged: tells the app the form is there

    # --------------------------------------------------------------- API
    def set_task_infos(self, infos: dict[str, TaskSpec]) -> None:
        """The engine is loaded: offer only the tasks that import here."""
        self.task_infos = dict(infos)
        if infos:
            select = self.query_one("#f-task", Select)
            current = self.raw.get("task")
            names = list(infos) + ([current] if current not in infos else [])
            with self.prevent(Select.Changed):
                select.set_options([(n, n) for n in names])
                select.choice_values = names  # type: ignore[attr-defined]
                select.value = current
        self._sync_rows()
        self.validate()

    def load(self, values: dict[str, Any], preset: Preset | None = None, *, task_changed: bool = False) -> None:
        """Replace the form's values (a preset's, or an earlier run's config); ``preset``
        becomes the one shown as loaded."""
        self.base = dict(values)
        self.raw = dict(values)
        self.preset = preset
        self._preset_config = self._config_of(preset)
        self.rejected.clear()
        self.plan = None
        self._loading = True
        try:
            for key in FORM_KEYS:
                self._set_editor(key, values.get(key))
        finally:
            self._loading = False
        self._sync_rows()
        self.validate(task_changed=task_changed)

    def load_preset(self, preset: Preset) -> None:
        """Load a (single-run) preset's values over the defaults."""
        self.load(build_config(preset.values).to_dict(), preset)

    def values(self) -> dict[str, Any]:
        """The form's raw values (strings for text fields) over the base."""
        return dict(self.raw)

    def set_value(self, key: str, value: Any) -> None:
        """Set one field programmatically (as if typed)."""
        self._set_editor(key, value)
        self._on_edit(key, value if not isinstance(self._editor(key), Input) else _text(value))

    def reject(self, key: str, message: str) -> None:
        """Mark ``key`` with a problem only the task or the machine could judge."""
        self.rejected[key] = message
        if key in KEYS and section_of(key) == "advanced":
            self.query_one("#advanced", Collapsible).collapsed = False
        self.validate(post=False)

    def editor(self, key: str) -> Widget | None:
        return self._editor(key)

    def show_plan(self, total_steps: int, steps_per_epoch: int) -> None:
        """A dataset task's real length: ``epochs × steps_per_epoch`` (from the app)."""
        self.plan = (total_steps, steps_per_epoch)
        self._sync_steps()

    def focus_first(self) -> None:
        """Focus the first field (the task)."""
        editor = self._editor("task")
        if editor is not None:
            editor.focus()

    @property
    def task(self) -> str:
        task = str(self.raw.get("task"))
        return task if task in TASKS else str(KEYS["task"].default)

    @property
    def cell(self) -> str:
        try:
            return str(coerce("cell", self.raw.get("cell")))
        except ConfigError:
            return str(KEYS["cell"].default)

    # ----------------------------------------------------------- validation
    def validate(self, post: bool = True, task_changed: bool = False) -> Config | None:
        errors: dict[str, str] = {}
        good: dict[str, Any] = {}
        visible = self._visible_keys()
        for key, raw in self.raw.items():
            try:
                good[key] = coerce(key, raw)
            except ConfigError as exc:
                if key in visible:
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
                if exc.key in good and exc.key in visible and exc.key not in errors:
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
            if key not in visible:
                cross = cross or f"{key}: {message}"
        if errors or cross:
            config = None
        self.errors = errors
        self.config = config
        self._show_errors(errors, cross)
        self._show_preset()
        self._sync_steps()
        if post:
            self.post_message(FormChanged(config, dict(errors), task_changed))
        return config

    def _show_errors(self, errors: dict[str, str], cross: str) -> None:
        for row in self.rows.values():
            row.set_error(errors.get(row.key) if row.display else None)
        self.set_class(bool(cross), "-cross-error")
        self.query_one("#form-error", Static).update(cross)

    def _show_preset(self) -> None:
        edited = self.preset is not None and self.config != self._preset_config
        for field in self.query("#preset-field").results(PresetField):
            field.show(self.preset, edited)

    @staticmethod
    def _config_of(preset: Preset | None) -> Config | None:
        if preset is None or preset.is_experiment:
            return None
        try:
            return build_config(preset.values)
        except ConfigError:
            return None

    def _visible_keys(self) -> tuple[str, ...]:
        task, cell = self.task, self.cell
        return tuple(k for k in FORM_KEYS if applies(k, task, cell))

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
        if key == "task":
            preset = task_preset(str(value))
            if preset is not None:  # the task's recommended settings
                self.load(build_config(preset.values).to_dict(), preset, task_changed=True)
                return
        if key in ("task", "cell", "epochs", "batch_size") or key in TASKS[self.task].option_names:
            self.plan = None  # the real number of steps is measured again
            self._sync_rows()
        self.validate(task_changed=key == "task")

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

    def on_collapsible_expanded(self, event: Collapsible.Expanded) -> None:
        event.stop()
        self._advanced_open = True
        self._sync_rows()
        self.validate(post=False)

    # ------------------------------------------------------------- rows
    _advanced_open = False

    def _sync_rows(self) -> None:
        """Show the rows of the keys that apply to the task and cell (making the
        missing ones, in key order); hide the others."""
        task, cell = self.task, self.cell
        shown_options = 0
        for section, keys in FORM_SECTIONS:
            if section == "advanced" and not self._advanced_open:
                continue
            box = self.query_one(f"#section-{section}", Vertical)
            for i, key in enumerate(keys):
                on = applies(key, task, cell)
                row = self.rows.get(key)
                if row is None and on:
                    later = next((self.rows[k] for k in keys[i + 1:] if k in self.rows), None)
                    box.mount(self._row(key), before=later if later is not None and later.parent is box else None)
                elif row is not None:
                    row.display = on
                shown_options += on and section == "task"
        self.query_one("#options-note", Static).display = not shown_options
        self.query_one("#options-title", Static).update(f"task options · {TASKS[task].title}")
        self._sync_steps()

    def _sync_steps(self) -> None:
        """Steps vs epochs: a dataset task trained in epochs runs ``epochs × batches per
        epoch`` steps; the steps field then shows that number and cannot be edited."""
        steps = self.query("#row-steps").results(FieldRow)
        row = next(steps, None)
        editor = self._editor("steps")
        if row is None or not isinstance(editor, Input):
            return
        epochs = self._int("epochs")
        derived = TASKS[self.task].finite and bool(epochs)
        editor.disabled = derived
        if not derived:
            with self.prevent(Input.Changed):
                if editor.value != _text(self.raw.get("steps")):
                    editor.value = _text(self.raw.get("steps"))
            row.set_note("")
            return
        if self.plan is None:
            note = f"= {epochs} epochs × (batches per epoch: measured once the data is loaded)"
        else:
            total, per_epoch = self.plan
            with self.prevent(Input.Changed):
                editor.value = str(total)
            note = f"= {epochs} epochs × {per_epoch} batches (set epochs 0 to give steps)"
        row.set_note(note)

    def _int(self, key: str) -> int:
        try:
            return int(coerce(key, self.raw.get(key)))
        except (ConfigError, TypeError, ValueError):
            return 0


def _key_of(widget_id: str | None) -> str:
    return widget_id[2:] if widget_id and widget_id.startswith("f-") else ""
