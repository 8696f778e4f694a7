"""The Compare screen (``c``): overlay the curves of several runs.

The table lists this session's runs (``app.records``: single runs and the runs
of experiments) and run directories loaded from disk (``o`` opens a chooser of
the run and experiment directories under ``runs/``, or takes a typed path).
Space or Enter selects a run; the selected runs' curves are overlaid (``n``
cycles the series: training loss, held-out loss, the task's metrics), each run
keeping its colour for the whole session, the legend naming what sets each
apart (``cell=gru``).  Selected runs whose configs are equal up to the seed are
drawn as one mean curve with a ± standard-error band (``b`` shows them one by
one instead).  A table shows how their configs differ
(:func:`rnntui.config.diff`); ``e`` exports the selection as CSV and JSON, ``w``
saves it as a figure (as ``rnntui plot`` does).

The loaded runs, the selection and the colours live on after the screen closes
(the lab session's :class:`~rnntui.app.session.CompareState`, ``lab.compare``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, ScrollableContainer
from textual.screen import Screen
from textual.widgets import DataTable, Static

from rnntui.app.commands import LabBinding
from rnntui.app.widgets.metric_plot import MetricPlot, PlotLine
from rnntui.app.widgets.screen_footer import ScreenFooter
from rnntui.config import ConfigError, build_config, diff
from rnntui.engine.curves import group_runs, run_labels
from rnntui.engine.events import Event
from rnntui.engine.metrics import training_length_names
from rnntui.engine.record import RunRecord
from rnntui.engine.files import show_path
from rnntui.engine.rundir import RunDirError
from rnntui.engine.saved_runs import load_runs
from rnntui.render.figure_data import series_axis, series_baseline

if TYPE_CHECKING:
    from rnntui.app.session import LabSession

MARK = {"ready": "○", "running": "●", "paused": "‖", "finished": "✓", "stopped": "■", "failed": "✗"}
SHOWN_KEYS = ("task", "cell", "backend", "hidden_size", "num_layers", "bidirectional", "lr", "batch_size",
              "steps", "seq_len", "seed")


def config_diff(records: Sequence[RunRecord]) -> list[str]:
    """Config keys whose values differ among ``records`` (via ``config.diff``)."""
    keys: list[str] = []
    if len(records) < 2:
        return keys
    first = records[0].config
    for other in records[1:]:
        try:
            changed = diff(build_config(first), build_config(other.config))
        except (ConfigError, TypeError):  # a run from another version: compare the raw dicts
            changed = {k: (first.get(k), other.config.get(k))
                       for k in set(first) | set(other.config) if first.get(k) != other.config.get(k)}
        keys += [k for k in changed if k not in keys]
    order = list(first)
    return sorted(keys, key=lambda k: order.index(k) if k in order else len(order))


def main_metric(record: RunRecord) -> str:
    """The first metric the run reported at its training length (else ``val_loss``)."""
    names = [n for n in training_length_names(record.final) if n != "val_loss"]
    return names[0] if names else ("val_loss" if "val_loss" in record.final else "")


class CompareScreen(Screen[None]):
    """Overlay curves of selected runs; config diff; export."""

    DEFAULT_CSS = """
    CompareScreen { layout: vertical; }
    CompareScreen #cmp-runs { height: auto; max-height: 40%; min-height: 4; border: round $panel; }
    CompareScreen #cmp-runs:focus { border: round $accent; }
    CompareScreen #cmp-bottom { height: 1fr; min-height: 8; }
    CompareScreen #cmp-plot { width: 2fr; }
    CompareScreen #cmp-diff-box { width: 1fr; min-width: 24; border: round $panel; }
    CompareScreen #cmp-diff { width: auto; }
    CompareScreen.-narrow #cmp-diff-box { display: none; }
    """

    BINDINGS = [
        LabBinding("escape", "close", "Back"),
        LabBinding("space", "toggle", "Select"),
        LabBinding("a", "select_all", "All"),
        LabBinding("n", "next_series", "Series", footer_rank=1),
        LabBinding("b", "toggle_bands", "Seeds", footer_rank=2),
        LabBinding("l", "toggle_log", "Log", footer_rank=2),
        LabBinding("e", "export", "Export"),
        LabBinding("w", "save_figure", "Figure", footer_rank=3),
        LabBinding("o", "open_runs", "Open runs"),
        LabBinding("d", "toggle_diff", "Diff", footer_rank=1),
    ]

    def __init__(self, lab: "LabSession", select: Iterable[RunRecord] = ()) -> None:
        super().__init__()
        self.lab = lab
        self.state = lab.compare
        for record in select:
            if id(record) not in self.state.selected:
                self.state.selected.append(id(record))
        self._shown: list[int] = []
        self._dirty = True
        self.last_export: tuple[Path, Path] | None = None
        self.last_figure: Path | None = None
        self.diff_view: Table | Text = Text("")

    # ------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        table: DataTable[Any] = DataTable(id="cmp-runs", cursor_type="row", zebra_stripes=True)
        table.border_title = "runs · space selects · o opens saved runs"
        yield table
        with Horizontal(id="cmp-bottom"):
            yield MetricPlot("loss", id="cmp-plot", placeholder="select runs (space) to overlay their curves")
            with ScrollableContainer(id="cmp-diff-box") as box:
                box.border_title = "config diff"
                yield Static(id="cmp-diff")
        yield ScreenFooter(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#cmp-runs", DataTable)
        for label, key in (("", "sel"), ("run", "run"), ("task", "task"), ("cell", "cell"), ("h", "h"),
                           ("status", "status"), ("step", "step"), ("result", "result"), ("params", "params"),
                           ("from", "from")):
            table.add_column(label, key=key)
        self._rebuild()
        self.lab.add_event_listener(self._on_events)
        self.set_interval(0.5, self._tick, name="compare-refresh")
        table.focus()
        self._apply_width()

    def on_unmount(self) -> None:
        self.lab.remove_event_listener(self._on_events)

    def on_resize(self) -> None:
        self._apply_width()

    def _apply_width(self) -> None:
        self.set_class(self.size.width < 90, "-narrow")

    # ------------------------------------------------------------- data
    def runs(self) -> list[RunRecord]:
        """Every run on offer: this session's, then those loaded from disk."""
        return list(self.lab.records) + list(self.state.loaded)

    def selected(self) -> list[RunRecord]:
        by_id = {id(r): r for r in self.runs()}
        return [by_id[k] for k in self.state.selected if k in by_id]

    def _on_events(self, events: list[Event]) -> None:
        self._dirty = True  # redraw at the next tick (at most twice a second)

    def _tick(self) -> None:
        if self._dirty:
            self._rebuild()

    def _rebuild(self) -> None:
        self._dirty = False
        table = self.query_one("#cmp-runs", DataTable)
        runs = self.runs()
        keys = [id(r) for r in runs]
        session = {id(r) for r in self.lab.records}
        if keys != self._shown:
            cursor = table.cursor_row
            table.clear()
            for record in runs:
                table.add_row(*self._cells(record, id(record) in session), key=str(id(record)))
            self._shown = keys
            if runs:
                table.move_cursor(row=min(max(cursor, 0), len(runs) - 1))
        else:
            for record in runs:
                for column, value in zip(("sel", "run", "task", "cell", "h", "status", "step", "result", "params",
                                          "from"), self._cells(record, id(record) in session)):
                    table.update_cell(str(id(record)), column, value, update_width=True)
        table.border_subtitle = f"{len(self.selected())} of {len(runs)} selected"
        self._draw()

    def _cells(self, record: RunRecord, in_session: bool) -> tuple[Any, ...]:
        c = record.config
        chosen = id(record) in self.state.selected
        mark = Text("●", style=f"bold {self.state.colour(record)}") if chosen else Text("·", style="dim")
        metric = main_metric(record)
        result = f"{metric} {record.final[metric]:.4g}" if metric else "–"
        task = str(c.get("task", "?"))
        cell = ("bi-" if c.get("bidirectional") else "") + str(c.get("cell", "?"))
        status = f"{MARK.get(record.status, '?')} {record.status}"
        step = f"{record.step}/{record.total_steps}" if record.total_steps else str(record.step)
        return (mark, record.run_id, task, cell, str(c.get("hidden_size", "?")), status, step, result,
                f"{record.params:,}" if record.params else "–", "session" if in_session else "disk")

    # ------------------------------------------------------------ drawing
    def series_names(self, records: Sequence[RunRecord]) -> list[str]:
        names = ["loss"]
        metrics: list[str] = []
        for record in records:
            metrics += [n for n in record.metric_names() if n not in metrics]
        mains = [n for n in training_length_names(metrics) if n != "val_loss"]
        return names + mains + ["val_loss"] * ("val_loss" in metrics) + [
            n for n in metrics if n not in mains and n != "val_loss"]

    def _draw(self) -> None:
        plot = self.query_one("#cmp-plot", MetricPlot)
        records = self.selected()
        if not records:
            plot.set_lines([], title="compare")
            self._show_diff(Text("select two or more runs to see how their settings differ", style="dim"))
            return
        names = self.series_names(records)
        series = names[self.state.metric_index % len(names)]
        lines, banded = self.curves(records, series)
        axis = series_axis(records, series)
        plot.allow_log = axis.bounds is None
        what = f"{len(records)} run{'s' * (len(records) != 1)}" + (" · mean ± se over seeds" if banded else "")
        plot.set_lines(lines, series_baseline(records, series), title=f"{series} · {what} · n: next", axis=axis)
        self._show_diff(self._diff_table(records))

    def curves(self, records: Sequence[RunRecord], series: str) -> tuple[list[PlotLine], bool]:
        """The lines of ``series``: a mean ± standard-error band per config (up to the
        seed) when some share one and ``b`` has not turned that off, else a line per
        run; labelled by what differs.  Second value: whether bands were drawn."""
        smooth = series == "loss"
        groups = group_runs(records)
        if self.state.grouped and len(groups) < len(records):
            lines = []
            for group in groups:
                band = group.band(series)
                n = len(group.records)
                label = f"{group.label} (n={n})" if n > 1 else group.label
                if len(groups) == 1:
                    label = f"{n} seeds"
                lines.append(PlotLine(label, band.xs, band.mean, self.state.colour(group.records[0]), smooth=smooth,
                                      band=(band.lo, band.hi) if n > 1 else None))
            return lines, True
        lines = []
        for record, label in zip(records, run_labels(records)):
            xs, ys = record.series(series)
            lines.append(PlotLine(label, xs, ys, self.state.colour(record), smooth=smooth))
        return lines, False

    def _show_diff(self, view: Table | Text) -> None:
        self.diff_view = view
        self.query_one("#cmp-diff", Static).update(view)

    def _diff_table(self, records: Sequence[RunRecord]) -> Table | Text:
        keys = config_diff(records) if len(records) > 1 else [k for k in SHOWN_KEYS if k in records[0].config]
        if not keys:
            return Text("the selected runs have identical settings", style="dim")
        table = Table(box=None, padding=(0, 1, 0, 0), show_header=True, header_style="bold")
        table.add_column("setting", style="cyan", no_wrap=True)
        for record in records:
            table.add_column(Text(record.run_id, style=f"bold {self.state.colour(record)}"), no_wrap=True)
        for key in keys:
            table.add_row(key, *(_short(r.config.get(key)) for r in records))
        return table

    # ------------------------------------------------------------ actions
    def _cursor_record(self) -> RunRecord | None:
        table = self.query_one("#cmp-runs", DataTable)
        runs = self.runs()
        if not runs or table.cursor_row < 0 or table.cursor_row >= len(runs):
            return None
        return runs[table.cursor_row]

    def toggle(self, record: RunRecord) -> None:
        key = id(record)
        if key in self.state.selected:
            self.state.selected.remove(key)
        else:
            self.state.selected.append(key)
            self.state.colour(record)
        self._rebuild()

    def action_toggle(self) -> None:
        record = self._cursor_record()
        if record is not None:
            self.toggle(record)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_toggle()

    def action_select_all(self) -> None:
        runs = self.runs()
        if len(self.selected()) == len(runs):
            self.state.selected.clear()
        else:
            for record in runs:
                if id(record) not in self.state.selected:
                    self.state.selected.append(id(record))
                    self.state.colour(record)
        self._rebuild()

    def action_next_series(self) -> None:
        self.state.metric_index += 1
        self._draw()

    def action_toggle_log(self) -> None:
        plot = self.query_one("#cmp-plot", MetricPlot)
        plot.log_y = not plot.log_y

    def action_toggle_diff(self) -> None:
        self.toggle_class("-narrow")

    def action_toggle_bands(self) -> None:
        self.state.grouped = not self.state.grouped
        self._draw()

    def action_open_runs(self) -> None:
        """The chooser of saved runs under the runs folder; the chosen one is loaded."""
        from rnntui.app.screens.run_browser import RunBrowser

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.load(path)

        self.app.push_screen(RunBrowser(self.lab.runs_root or Path("runs")), chosen)

    def action_close(self) -> None:
        self.app.pop_screen()

    def load(self, path: str | Path) -> list[RunRecord]:
        """Load run(s) from ``path``, select them; a notice says what happened."""
        try:
            records = load_runs(path)
        except RunDirError as exc:  # whatever the directory holds: one line, the lab goes on
            self.notify(str(exc), title="cannot load", severity="error", timeout=8, markup=False)
            return []
        known = {str(Path(r.path).resolve()) for r in self.runs() if r.path}
        new = [r for r in records if str(Path(r.path or "").resolve()) not in known]
        self.state.loaded.extend(new)
        for record in new:
            self.state.selected.append(id(record))
            self.state.colour(record)
        skipped = len(records) - len(new)
        note = f" ({skipped} already listed)" if skipped else ""
        self.notify(f"loaded {len(new)} run{'s' * (len(new) != 1)} from {show_path(path)}{note}", markup=False)
        self._rebuild()
        return new

    def action_export(self) -> None:
        from rnntui.engine.experiment.results import export_records

        records = self.selected()
        if not records:
            self.notify("Select runs to export first (space).", severity="warning")
            return
        root = self.lab.runs_root or Path("runs")
        stem = time.strftime("compare-%Y%m%d-%H%M%S")
        try:
            self.last_export = export_records(records, root, stem)
        except OSError as exc:
            self.notify(f"export failed: {exc}", severity="error", timeout=8)
            return
        csv_path, json_path = self.last_export
        self.notify(f"{len(records)} runs exported to {csv_path} and {json_path.name}", title="export")

    def action_save_figure(self) -> None:
        """The selected runs as a figure (grouped by seed as on screen) in the runs folder."""
        from rnntui.app.figure_saving import save_records_figure

        records = [r for r in self.selected() if r.steps or r.evals]
        if not records:
            self.notify("Select runs with curves to draw first (space).", severity="warning")
            return
        save_records_figure(self, records, self.lab.runs_root or Path("runs"), "compare", grouped=self.state.grouped)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
