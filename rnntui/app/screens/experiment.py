"""The Experiment view (``x``): a grid of runs filling in live.

Pick an experiment preset (``seed000-copy-gating`` ...) or grid over the form's
settings (``cell=rnn,lstm hidden_size=8,16``), set the trials, press ``s``.
The runs execute in worker processes (see :mod:`rnntui.engine.experiment.runner`);
the results table -- mean ± standard error per grid point -- fills in as they
finish, with the overall progress above it.  The plot shows every grid point's
mean curve with its ± standard-error band (one colour per point, the baseline
drawn); ``a`` switches to the highlighted point's trials, one line each.  Enter
opens a point's runs in Compare.  ``t`` stops the runs ("stopping…" at once,
then "stopped"); ``w`` saves the experiment's figure (:mod:`rnntui.render.figures`).
What the view shows is computed in :mod:`rnntui.app.experiment_view`.

The experiment belongs to the lab session, not to this screen (``lab.experiment``,
see :mod:`rnntui.app.experiment_session`): closing the screen (Esc) leaves it
running; the screen redraws from the session on a timer.
"""

from __future__ import annotations

import dataclasses

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, DataTable, Input, ProgressBar, Static

from rnntui.app import experiment_view as view
from rnntui.app.commands import LabBinding
from rnntui.app.widgets.metric_plot import MetricPlot
from rnntui.app.widgets.preset_picker import PresetField
from rnntui.app.widgets.screen_footer import ScreenFooter
from rnntui.config import Config, ConfigError, build_config
from rnntui.engine.experiment.results import Row, format_value

if TYPE_CHECKING:
    from rnntui.app.session import LabSession


def format_grid(grid: dict[str, list[Any]]) -> str:
    return " ".join(f"{k}={','.join(format_value(v) for v in values)}" for k, values in grid.items())


def parse_grid(text: str) -> dict[str, list[Any]]:
    """``"cell=rnn,lstm hidden_size=[8,16]"`` -> a checked grid (ConfigError if bad)."""
    from rnntui.config.presets import parse_experiment

    raw: dict[str, str] = {}
    for token in re.split(r"[\s;]+", text.strip()):
        if not token:
            continue
        key, sep, value = token.partition("=")
        if not sep or not key or not value:
            raise ConfigError("grid", f"got {token!r}; expected KEY=V1,V2 such as cell=rnn,lstm")
        raw[key.strip().replace("-", "_")] = value
    grid, _ = parse_experiment(raw, 1)
    return grid


def parse_trials(text: str) -> int:
    from rnntui.config.presets import parse_experiment

    return parse_experiment({}, text.strip() or "1")[1]


class ExperimentScreen(Screen[None]):
    """A grid of runs: setup, live results table, curves of the highlighted point."""

    process_workers: ClassVar[int | None] = None
    """Worker processes for experiments started here (None: one per core; 0: in
    the UI's worker thread -- tests use it)."""

    DEFAULT_CSS = """
    ExperimentScreen { layout: vertical; }
    ExperimentScreen #exp-title { height: 1; padding: 0 1; background: $panel; }
    ExperimentScreen #exp-progress { height: 1; padding: 0 1; }
    ExperimentScreen #exp-progress Bar { width: 1fr; }
    ExperimentScreen #exp-setup { height: 1; margin: 0 1; }
    ExperimentScreen #exp-setup Input { margin-right: 1; }
    ExperimentScreen #exp-preset { width: 2fr; margin-right: 1; }
    ExperimentScreen #exp-preset-about { height: 1; padding: 0 1; color: $text-muted; }
    ExperimentScreen #exp-grid { width: 3fr; }
    ExperimentScreen #exp-trials { width: 10; }
    ExperimentScreen #exp-start { min-width: 8; }
    ExperimentScreen #exp-table { height: auto; max-height: 45%; min-height: 5; border: round $panel; }
    ExperimentScreen #exp-table:focus { border: round $accent; }
    ExperimentScreen #exp-plot { height: 1fr; min-height: 6; }
    """

    BINDINGS = [
        LabBinding("escape", "close", "Back"),
        LabBinding("s", "start", "Start"),
        LabBinding("t", "stop", "Stop"),
        LabBinding("n", "next_series", "Series", footer_rank=1),
        LabBinding("a", "toggle_points", "Points/trials", footer_rank=2),
        LabBinding("l", "toggle_log", "Log", footer_rank=2),
        LabBinding("w", "save_figure", "Figure", footer_rank=3),
        LabBinding("c", "compare", "Compare"),
        LabBinding("e", "edit", "Edit", show=False),
    ]

    def __init__(self, lab: "LabSession") -> None:
        super().__init__()
        self.lab = lab
        self.session = lab.experiment
        self.series_index = 0
        self.every_point = True  # the plot: every point's mean ± se (else the highlighted point's trials)
        self.last_figure: Path | None = None
        self._drawn: tuple[int, bool] = (-1, False)
        self._columns: list[str] = []
        self._row_count = 0
        self.title_text = Text("")
        request = lab.request
        self.preset_name = request.preset.name if (request.preset and request.is_experiment) else ""
        """The chosen experiment preset ("" : a grid over the form's settings)."""
        self._pending_preset: str | None = None  # chosen before the screen was mounted

    # ------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Static(id="exp-title")
        yield ProgressBar(total=1, show_eta=False, id="exp-progress")
        request = self.lab.request
        preset = request.preset
        is_exp = request.is_experiment
        with Horizontal(id="exp-setup"):
            yield PresetField(preset if (preset and is_exp) else None, kind="experiments", with_form=True,
                              empty="the form's settings ▾", compact=True, id="exp-preset")
            yield Input(format_grid(request.grid) if is_exp else "", compact=True, id="exp-grid",
                        placeholder="grid, e.g. cell=rnn,lstm hidden_size=8,16")
            yield Input(str(request.trials) if is_exp else "3", compact=True, id="exp-trials",
                        placeholder="trials")
            yield Button("Start", id="exp-start", compact=True, variant="success")
        yield Static(self._preset_about(), id="exp-preset-about")
        table: DataTable[Any] = DataTable(id="exp-table", cursor_type="row", zebra_stripes=True)
        table.border_title = "results · mean ± standard error over finished trials"
        yield table
        yield MetricPlot("curves", id="exp-plot", placeholder="each grid point's curves appear here as runs report")
        yield ScreenFooter(compact=True)

    def on_mount(self) -> None:
        if self._pending_preset is not None:
            self._choose(self._pending_preset)
            self._pending_preset = None
        self.set_interval(0.5, self._tick, name="experiment-refresh")
        self.refresh_view()
        session, request = self.session, self.lab.request
        if (request.is_experiment and self.lab.start_at_once
                and not session.auto_started and session.experiment is None):
            session.auto_started = True
            self.action_start()
        if session.experiment is not None:
            self.query_one("#exp-table", DataTable).focus()

    def _tick(self) -> None:
        # redraw on news, every tick while running (the clock), and once when it ends
        if (self.session.version, self.session.running) != self._drawn or self.session.running:
            self.refresh_view()

    # ----------------------------------------------------------- drawing
    def refresh_view(self) -> None:
        session = self.session
        self._drawn = (session.version, session.running)
        exp = session.experiment
        title = self.query_one("#exp-title", Static)
        bar = self.query_one("#exp-progress", ProgressBar)
        start = self.query_one("#exp-start", Button)
        start.label = ("Stopping…" if session.stopping else "Stop") if session.running else "Start"
        start.variant = "error" if session.running else "success"
        start.disabled = session.running and session.stopping
        for widget in self.query("#exp-setup Input"):
            widget.disabled = session.running
        self.query_one("#exp-preset", PresetField).disabled = session.running
        self.query_one("#exp-grid", Input).set_class(bool(session.rejected), "-invalid")
        if exp is None:
            if session.rejected:
                self.title_text = Text(f"cannot start the experiment: {session.rejected}", style="bold red")
            else:
                self.title_text = Text("no experiment yet: choose a preset or a grid, then press s", style="dim")
            title.update(self.title_text)
            bar.update(total=1, progress=0)
            return
        counts = view.counts(session)
        state = view.state_word(session)
        text = Text(f"{exp.name}", style="bold")
        text.append(f"  {counts.text()}", style="red" if counts.failed else "")
        workers = session.runner.workers if session.runner is not None else 0
        text.append(f" · {workers or 1} worker{'s' * (workers > 1)} · {_clock(session.elapsed())} · ")
        text.append(state, style="bold yellow" if state == "stopping…" else "")
        text.append(f"  → {exp.out_dir}", style="dim")
        self.title_text = text
        title.update(text)
        bar.update(total=counts.total, progress=counts.ended)
        self._fill_table()
        self._draw_plot()

    def _fill_table(self) -> None:
        session, table = self.session, self.query_one("#exp-table", DataTable)
        rows = session.rows()
        columns = session.columns(3 if self.size.width >= 100 else 2)
        keys = list(session.experiment.grid)
        if columns != self._columns or len(rows) != self._row_count or not table.columns:
            cursor = table.cursor_row
            table.clear(columns=True)
            for key in keys:
                table.add_column(key, key=f"g:{key}")
            for name in columns:
                table.add_column(f"{name} ±se", key=f"m:{name}")
            for label, key in (("n", "n"), ("time s", "time"), ("params", "params"), ("status", "status")):
                table.add_column(label, key=key)
            for row in rows:
                table.add_row(*self._cells(row, keys, columns), key=str(row.point.index))
            self._columns, self._row_count = columns, len(rows)
            if rows:
                table.move_cursor(row=min(max(cursor, 0), len(rows) - 1))
            return
        column_keys = [f"g:{k}" for k in keys] + [f"m:{c}" for c in columns] + ["n", "time", "params", "status"]
        for row in rows:
            for key, value in zip(column_keys, self._cells(row, keys, columns)):
                table.update_cell(str(row.point.index), key, value, update_width=True)

    def _cells(self, row: Row, keys: list[str], columns: list[str]) -> list[Any]:
        cells: list[Any] = [format_value(row.point.values.get(k, "")) for k in keys]
        for name in columns:
            text, partial = view.metric_cell(self.session, row, name)
            cells.append(Text(text, style="dim italic") if partial else text)
        time_s = "–" if row.wall_time.mean is None else f"{row.wall_time.mean:.1f}"
        state = view.row_state(self.session, row)
        style = "red" if row.failed else ("green" if state == "done" else ("yellow" if "stop" in state else ""))
        cells += [f"{row.finished}/{row.trials}", time_s, f"{row.params:,}" if row.params else "–",
                  Text(state, style=style)]
        return cells

    def highlighted_point(self) -> int | None:
        table = self.query_one("#exp-table", DataTable)
        points = self.session.points
        if not points or table.cursor_row < 0 or table.cursor_row >= len(points):
            return None
        return points[table.cursor_row].index

    def _draw_plot(self) -> None:
        plot = self.query_one("#exp-plot", MetricPlot)
        point = self.highlighted_point()
        if self.every_point:
            data = view.points_plot(self.session, self.series_index)
        else:
            data = view.trials_plot(self.session, point, self.series_index) if point is not None else None
        if data is None:
            plot.set_lines([], title="curves")
            return
        plot.allow_log = data.allow_log
        plot.set_lines(data.lines, data.refs, title=data.title, axis=data.axis)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if not self.every_point:
            self._draw_plot()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_compare()

    # ----------------------------------------------------------- actions
    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "exp-start":
            if self.session.running:
                self.action_stop()
            else:
                self.action_start()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id in ("exp-grid", "exp-trials"):
            self.action_start()

    # ------------------------------------------------------------ preset
    def _preset_about(self) -> str:
        if not self.preset_name:
            return "grid over the main screen's form settings (or pick a preset: e)"
        from rnntui.app.widgets.preset_picker import summary
        from rnntui.config.presets import load_preset

        try:
            return summary(load_preset(self.preset_name))
        except ConfigError as exc:
            return str(exc)

    def on_preset_field_chosen(self, message: PresetField.Chosen) -> None:
        message.stop()
        self.choose_preset(message.name)

    def choose_preset(self, name: str) -> bool:
        """Make ``name`` the experiment to run ("": a grid over the form's settings)
        and fill in its grid and trials."""
        if not self.is_mounted:  # pushed a moment ago: on_mount applies it
            self._pending_preset = name
            return True
        return self._choose(name)

    def _choose(self, name: str) -> bool:
        from rnntui.config.presets import load_preset

        if self.session.running:
            self.notify("An experiment is running: stop it (t) first.", severity="warning")
            return False
        preset = None
        if name:
            try:
                preset = load_preset(name)
            except ConfigError as exc:
                self.notify(str(exc), title="preset", severity="error", timeout=8)
                return False
            self.query_one("#exp-grid", Input).value = format_grid(preset.grid)
            self.query_one("#exp-trials", Input).value = str(preset.trials)
            if not preset.is_experiment:
                self.notify(f"{preset.name} is a single run: add a grid to make it an experiment",
                            severity="warning")
        self.preset_name = name
        self.query_one("#exp-preset", PresetField).show(preset)
        self.query_one("#exp-preset-about", Static).update(self._preset_about())
        return True

    def resolve(self) -> tuple[Config, dict[str, list[Any]], int, str, list[Any]]:
        """The experiment the inputs describe: base config, grid, trials, name and
        the preset's ``[[override]]`` tables (less what the edited grid varies);
        ConfigError if they are bad."""
        from rnntui.config.presets import load_preset

        name = self.preset_name
        grid = parse_grid(self.query_one("#exp-grid", Input).value)
        trials = parse_trials(self.query_one("#exp-trials", Input).value)
        request = self.lab.request
        overrides: list[Any] = []
        if name and request.preset is not None and name == request.preset.name:
            base = request.config  # keeps the command line's overrides
            overrides = list(request.overrides)
        elif name:
            preset = load_preset(name)
            base = build_config(preset.values)
            overrides = list(preset.overrides)
        else:
            settings = self.lab.settings()
            if settings is None:
                raise ConfigError("form", "the form's settings are not valid; fix them or name a preset")
            base, name = settings, f"{settings.task}-grid"
        if not grid and trials < 2:
            raise ConfigError("grid", "give a grid (e.g. cell=rnn,lstm) or at least 2 trials")
        overrides = [dataclasses.replace(o, values={k: v for k, v in o.values.items() if k not in grid})
                     for o in overrides]
        return base, grid, trials, name, [o for o in overrides if o.values]

    def action_start(self) -> None:
        if self.session.running:
            self.notify("An experiment is running: stop it (t) first.", severity="warning")
            return
        try:
            base, grid, trials, name, overrides = self.resolve()
            self.session.start(base, grid, trials, name, workers=self.process_workers, overrides=overrides)
        except ConfigError as exc:
            self.notify(str(exc), title="cannot start the experiment", severity="error", timeout=10)
            return
        self._columns, self._row_count = [], 0
        self.refresh_view()
        self.query_one("#exp-table", DataTable).focus()
        exp = self.session.experiment
        self.notify(f"{exp.total} runs on {self.session.runner.workers or 1} worker(s) → {exp.out_dir}",
                    title=f"experiment {exp.name}")

    def action_stop(self) -> None:
        if not self.session.running:
            self.notify("No experiment is running.", severity="warning")
            return
        self.session.stop()
        self.refresh_view()  # "stopping…" now, not at the next tick
        self.notify("stopping: running runs end at their next step, queued ones will not start")

    def action_next_series(self) -> None:
        self.series_index += 1
        self._draw_plot()

    def action_toggle_points(self) -> None:
        self.every_point = not self.every_point
        self._draw_plot()

    def action_toggle_log(self) -> None:
        plot = self.query_one("#exp-plot", MetricPlot)
        plot.log_y = not plot.log_y

    def action_save_figure(self) -> None:
        """The experiment's figure (every panel, each point's mean ± se) into its directory."""
        from rnntui.app.figure_saving import save_records_figure

        exp = self.session.experiment
        records = [r for r in self.session.records.values() if r.steps or r.evals]
        if exp is None or not records:
            self.notify("No experiment results to draw yet.", severity="warning")
            return
        save_records_figure(self, records, exp.out_dir, "figure", experiment=exp.name)

    def action_edit(self) -> None:
        self.query_one("#exp-preset #preset-button", Button).focus()

    def action_compare(self) -> None:
        """Open Compare with the highlighted point's finished runs selected."""
        from rnntui.app.screens.compare import CompareScreen

        point = self.highlighted_point()
        records = [r for r in self.session.point_records(point) if r.done] if point is not None else []
        self.app.push_screen(CompareScreen(self.lab, select=records))

    def action_close(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one("#exp-table", DataTable).focus()
            return
        self.app.pop_screen()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
