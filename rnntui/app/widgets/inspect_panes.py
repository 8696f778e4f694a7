"""The Inspect view's tab contents: the parameter and shape tables (Rich
renderables), the gradient pane and the gate pane.

The panes draw what they are given; :class:`~rnntui.app.screens.inspect.InspectScreen`
gathers the data, lays them out (its CSS styles the ids used here) and decides
when to redraw.
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from rnntui.app.widgets.heatmap import Heatmap, format_value
from rnntui.app.widgets.metric_plot import MetricPlot, PlotLine

GATE_NAMES = ("i", "f", "o", "r", "z")
TITLES = {
    "i": "input gate i",
    "f": "forget gate f",
    "o": "output gate o",
    "r": "reset gate r",
    "z": "update gate z",
    "m": "modulation m  (x̂ = m ⊙ x)",
    "h": "hidden state h",
}


def param_table(rows: list[Any], groups: list[tuple[str, int]], total: int) -> Table:
    from rnntui.engine.inspect.tables import group_label

    table = Table(box=None, header_style="bold", padding=(0, 2, 0, 0), expand=False)
    table.add_column("name", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("role", style="dim")
    subtotal = dict(groups)
    for i, row in enumerate(rows):
        table.add_row(row.name, str(tuple(row.shape)), str(row.count), row.role)
        label = group_label(row)
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        if len(subtotal) > 1 and (nxt is None or group_label(nxt) != label):
            table.add_row(Text(f"({label} total)", style="italic dim"), "", Text(str(subtotal[label]), style="dim"), "",
                          end_section=True)
    table.add_row(Text("Total parameters", style="bold"), "", Text(str(total), style="bold"), "")
    return table


def shapes_renderable(header: str, cases: list[Any]) -> Group:
    parts: list[Any] = [Text(header, style="dim")]
    for case in cases:
        parts.append(Text(""))
        parts.append(Text(case.title, style="bold"))
        if case.lengths is not None:
            lengths = case.lengths if len(case.lengths) <= 8 else case.lengths[:4] + ["…"] + case.lengths[-2:]
            parts.append(Text(f"  lengths {lengths}".replace("'", ""), style="dim"))
        if case.rows:
            table = Table(box=None, show_header=False, padding=(0, 2, 0, 2))
            table.add_column(no_wrap=True)
            table.add_column(no_wrap=True, style="cyan")
            table.add_column(no_wrap=True, style="dim")
            for name, shape, symbolic in case.rows:
                table.add_row(name, str(tuple(shape)), symbolic)
            parts.append(table)
        if case.note:
            parts.append(Text("  " + case.note, style="italic dim"))
    return Group(*parts)


def profile_verdict(norms: list[float]) -> str:
    """One line on how the gradient reaching the first step compares with the last."""
    finite = [v for v in norms if math.isfinite(v)]
    if len(finite) < 2:
        return ""
    first, last = norms[0], norms[-1]
    if not (math.isfinite(first) and math.isfinite(last)) or last <= 0:
        return ""
    ratio = first / last
    if ratio < 1e-3:
        word = "vanishing: the first steps get almost no gradient"
    elif ratio > 1e3:
        word = "exploding towards the first steps"
    else:
        word = "the gradient reaches the first steps"
    return (f"‖∂L/∂h_0‖ / ‖∂L/∂h_{len(norms) - 1}‖ = {format_value(ratio)}  ({word}); "
            f"range {format_value(min(finite))} … {format_value(max(finite))}")


def _plot_values(norms: list[float], log: bool) -> list[float]:
    if not log:
        return list(norms)
    return [math.log10(v) if v > 0 and math.isfinite(v) else math.nan for v in norms]


class GradientPane(Vertical):
    """``‖∂L/∂h_t‖`` per time step: a heatmap (time × evaluation), the latest
    profile as a line over ``t`` and a one-line verdict."""

    def compose(self) -> ComposeResult:
        yield Static("", id="grad-verdict")
        yield Heatmap("‖∂L/∂h_t‖ per time step t (rows) at each evaluation (columns)",
                      id="grad-heatmap", x_title="training step", log_scale=True, max_lines=100, fill=True,
                      empty_text="gradient profiles appear at each evaluation of a run")
        plot = MetricPlot("log10 ‖∂L/∂h_t‖ over time t", id="grad-plot",
                          placeholder="the latest gradient profile appears here")
        plot.allow_log = False  # it plots log10 itself: readable ticks
        plot.xlabel = "t"  # the x axis is the time step t, not the training step
        yield plot

    def show(self, profiles: list[tuple[int, list[float]]], trained: bool) -> None:
        """Draw ``(step, norms)`` profiles, one heatmap column each: a run's
        evaluations (``trained``) or the untrained model's preview."""
        heatmap = self.query_one("#grad-heatmap", Heatmap)
        plot = self.query_one("#grad-plot", MetricPlot)
        verdict = self.query_one("#grad-verdict", Static)
        if not profiles:
            heatmap.clear()
            plot.clear()
            verdict.update("")
            return
        length = max(len(n) for _, n in profiles)
        columns = [n + [math.nan] * (length - len(n)) for _, n in profiles]
        matrix = [[col[t] for col in columns] for t in range(length)]
        first_step, last_step = profiles[0][0], profiles[-1][0]
        label = "untrained model" if not trained else "training step"
        heatmap.x_title = label
        heatmap.set_data(matrix, x_labels=(f"step {first_step}", str(last_step) if len(profiles) > 1 else ""),
                         y_labels=("t=0", f"t={length - 1}"),
                         title=f"‖∂L/∂h_t‖ by time step t (rows) × evaluation (columns, {len(profiles)})")
        step, latest = profiles[-1]
        log = heatmap.log_scale
        lines = [PlotLine(f"step {step}", list(range(len(latest))), _plot_values(latest, log), "cyan", smooth=False)]
        if len(profiles) > 1:
            s0, first = profiles[0]
            lines.insert(0, PlotLine(f"step {s0}", list(range(len(first))), _plot_values(first, log), "gray",
                                     smooth=False))
        what = "log10 ‖∂L/∂h_t‖" if log else "‖∂L/∂h_t‖"
        plot.set_lines(lines, title=f"{what} over time t (x axis: t), step {step}")
        verdict.update(Text(f"step {step}: " + profile_verdict(latest)))


class GatePane(VerticalScroll):
    """Gate activations, the modulation m and the hidden state over time for one
    held-out sample: one heatmap each, units as rows and time as columns."""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.gate_names: tuple[str, ...] = ()
        self.gate_maps: dict[str, Heatmap] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="gate-note")

    def show(self, event: Any, sample: int) -> None:
        """Draw a ``GateTrace`` event of held-out sample ``sample``."""
        names = tuple(event.traces)
        if names != self.gate_names:  # another cell: new maps (removal is async, so no id reuse)
            for old in self.gate_maps.values():
                old.remove()
            self.gate_maps = {}
            for name in names:
                if name in GATE_NAMES:
                    widget = Heatmap(TITLES.get(name, name), name=name, classes="gate-map",
                                     x_title="time step t", vmin=0.0, vmax=1.0)
                elif name == "h":
                    widget = Heatmap(TITLES["h"], name=name, classes="gate-map", x_title="time step t",
                                     colormap="diverging", symmetric=True)
                else:
                    widget = Heatmap(TITLES.get(name, name), name=name, classes="gate-map",
                                     x_title="time step t")
                self.gate_maps[name] = widget
            self.mount_all(list(self.gate_maps.values()))
            self.gate_names = names
        for name, rows in event.traces.items():
            widget = self.gate_maps[name]
            units = event.units.get(name, len(rows[0]) if rows else 0)
            shown = len(rows[0]) if rows else 0
            unit_word = "inputs" if name == "m" else "units"
            note = f" (averaged to {shown})" if shown < units else ""
            # rows of the event are time steps; the heatmap shows units as rows, time as columns
            matrix = [list(col) for col in zip(*rows)] if rows else []
            widget.set_data(matrix, x_labels=("t=0", f"t={event.length - 1}"),
                            y_labels=(f"{unit_word[0]}0", f"{unit_word[0]}{units - 1}"),
                            title=f"{TITLES.get(name, name)} · {units} {unit_word}{note} × {event.length} steps")
        where = f"run {event.run_id}, step {event.step}" if event.run_id else "untrained model"
        self.query_one("#gate-note", Static).update(
            f"{event.cell}: held-out sample {sample} ({where}); gates in [0, 1] on a fixed scale, "
            f"h on a blue (−) / red (+) scale.  n: next sample.")
