"""The Inspect view (``i``): what the current model is and what happens inside it.

Four tabs:

1. **Parameters** — every parameter's name, shape, count and role, with
   per-layer subtotals and the total (seed 002's tables).
2. **Shapes** — input, output and state shapes for batch_first true/false,
   bidirectional, an LSTM projection and a packed/padded variable-length batch.
3. **Gradients** — ``‖∂L/∂h_t‖`` of the held-out loss for every time step ``t``,
   one column per evaluation: a heatmap (time × training step, log colour
   scale) and the latest profile as a line over ``t``.  Colours fading towards
   t = 0 are vanishing gradients; blowing up, exploding ones (seed 001's TODO).
4. **Gates** — gate activations (i, f, o / r, z), the modulation m of the
   multiplicative cells and the hidden state over time for one held-out sample.

"The current model" is the run's model when there is one (a snapshot: the
training thread keeps going), else the model the form's settings would start
with.  Gradient profiles come from the trainer's probe after every evaluation
(``RunRecord.grad_profiles``); gate traces from a probe this screen adds to the
trainer while it is open.  Heavy work runs in a thread worker.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

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


@dataclass
class Loaded:
    """What the worker computed for the screen (plain data, built off the UI thread)."""

    source: str  # "run" or "settings"
    run_id: str
    summary: str
    params: list[Any]
    total: int
    groups: list[tuple[str, int]]
    shapes: list[Any]
    shape_header: str
    gates: Any = None  # GateTrace event
    preview: tuple[int, list[float]] | None = None
    error: str = ""


def param_table(rows: list[Any], groups: list[tuple[str, int]], total: int) -> Table:
    from rnntui.engine.inspect import group_label

    table = Table(box=None, header_style="bold", padding=(0, 2, 0, 0), expand=False)
    table.add_column("name", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("role", style="dim")
    subtotal = dict(groups)
    for i, row in enumerate(rows):
        table.add_row(row.name, str(tuple(row.shape)).replace(",)", ",)"), str(row.count), row.role)
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


class InspectScreen(Screen[None]):
    """Parameters, shapes, gradient norm per time step and gate activations."""

    DEFAULT_CSS = """
    InspectScreen #inspect-summary { height: auto; padding: 0 1; color: $text-muted; }
    InspectScreen TabbedContent { height: 1fr; }
    InspectScreen TabPane { padding: 0 1; }
    InspectScreen #grad-pane { height: 1fr; }
    InspectScreen #grad-heatmap { height: 1fr; min-height: 6; }
    InspectScreen #grad-plot { height: 12; min-height: 6; }
    InspectScreen.-short #grad-plot { height: 7; }
    InspectScreen #grad-verdict { height: auto; }
    InspectScreen #gate-note { height: auto; color: $text-muted; }
    InspectScreen .gate-map { margin-bottom: 1; }
    """

    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
    BINDINGS = [
        Binding("escape,i", "close", "Back"),
        Binding("1", "show_tab('params')", "Params", show=False),
        Binding("2", "show_tab('shapes')", "Shapes", show=False),
        Binding("3", "show_tab('grads')", "Gradients", show=False),
        Binding("4", "show_tab('gates')", "Gates", show=False),
        Binding("l", "toggle_log", "Log"),
        Binding("n", "next_sample", "Sample"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, lab: Any) -> None:
        super().__init__()
        self.lab = lab
        self.run_id = ""
        self.profiles: list[tuple[int, list[float]]] = []
        self.preview: tuple[int, list[float]] | None = None
        self.sample = 0
        self.gate_names: tuple[str, ...] = ()
        self.gate_maps: dict[str, Heatmap] = {}
        self.loaded: Loaded | None = None
        self._probe: Any = None
        self._probe_trainer: Any = None
        self._generation = 0

    # ------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading the model…", id="inspect-summary")
        with TabbedContent(initial="params"):
            with TabPane("1 Parameters", id="params"):
                with VerticalScroll():
                    yield Static("", id="param-table")
            with TabPane("2 Shapes", id="shapes"):
                with VerticalScroll():
                    yield Static("", id="shape-table")
            with TabPane("3 Gradients", id="grads"):
                with Vertical(id="grad-pane"):
                    yield Static("", id="grad-verdict")
                    yield Heatmap("‖∂L/∂h_t‖ per time step t (rows) at each evaluation (columns)",
                                  id="grad-heatmap", x_title="training step", log_scale=True, max_lines=40,
                                  empty_text="gradient profiles appear at each evaluation of a run")
                    yield MetricPlot("log10 ‖∂L/∂h_t‖ over time t", id="grad-plot",
                                     placeholder="the latest gradient profile appears here")
            with TabPane("4 Gates", id="gates"):
                with VerticalScroll(id="gate-list"):
                    yield Static("", id="gate-note")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Inspect"
        self.query_one("#grad-plot", MetricPlot).allow_log = False  # it plots log10 itself: readable ticks
        self.lab.add_event_listener(self._on_events)
        self._load()

    def on_unmount(self) -> None:
        self.lab.remove_event_listener(self._on_events)
        self._detach_probe()

    # ------------------------------------------------------------- probes
    def _attach_probe(self) -> None:
        """Have the live trainer trace the gates of our sample after each evaluation."""
        trainer = getattr(self.lab, "trainer", None)
        record = getattr(self.lab, "current", None)
        if trainer is None or record is None or record.done:
            return
        if self._probe_trainer is trainer and self._probe in trainer.probes:
            return
        self._detach_probe()
        from rnntui.engine.inspect import gate_probe

        self._probe = functools.partial(gate_probe, sample=self.sample)
        self._probe_trainer = trainer
        trainer.probes.append(self._probe)  # list.append is atomic; the trainer iterates a live list

    def _detach_probe(self) -> None:
        trainer, probe = self._probe_trainer, self._probe
        if trainer is not None and probe in trainer.probes:
            trainer.probes.remove(probe)
        self._probe = self._probe_trainer = None

    # -------------------------------------------------------------- loading
    def _load(self) -> None:
        """Gather the lab's state here on the UI thread; measure in a worker."""
        self._generation += 1
        trainer = getattr(self.lab, "trainer", None)
        if trainer is not None and getattr(trainer, "model", None) is not None and getattr(trainer, "eval_sets", None):
            if trainer.run_id != self.run_id:
                self.run_id, self.profiles, self.preview = trainer.run_id, [], None
            self._load_worker(self._generation, trainer, None, self.sample)
        else:
            self._load_worker(self._generation, None, self._form_config(), self.sample)

    def _form_config(self) -> Any:
        """The form's valid Config (validating it now if it has not been yet), or None."""
        cfg = getattr(self.lab, "config", None)
        form = getattr(self.lab, "form", None)
        if cfg is None and form is not None and hasattr(form, "validate"):
            cfg = form.validate(post=False)
        return cfg

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect", description="inspect the model")
    def _load_worker(self, generation: int, trainer: Any, cfg: Any, sample: int) -> None:
        try:
            loaded = self._compute(trainer, cfg, sample)
        except Exception as exc:  # show the reason instead of crashing the lab
            loaded = Loaded("settings", "", "", [], 0, [], [], "", error=f"{type(exc).__name__}: {exc}")
        try:
            self.app.call_from_thread(self._show, loaded, generation)
        except RuntimeError:  # the app is shutting down
            pass

    @staticmethod
    def _compute(trainer: Any, cfg: Any, sample: int) -> Loaded:
        """Worker thread: snapshot the run's model (or build the form's) and measure it."""
        import torch

        from rnntui.engine import inspect as ins

        if trainer is not None:
            cfg, task, run_id, step = trainer.cfg, trainer.task, trainer.run_id, trainer.step
            model = ins.snapshot(trainer.model)  # the training thread goes on with the original
            batch = ins.take(trainer.eval_sets[None][0], ins.PROBE_SEQUENCES).to(trainer.device)
            source = "run"
        else:
            if cfg is None:
                raise ValueError("the settings in the form are not valid; fix them to inspect the model")
            from rnntui.engine.model import build_model
            from rnntui.engine.trainer import EVAL_SEED_OFFSET
            from rnntui.tasks import build_task

            with torch.random.fork_rng(devices=[]):  # the run's own initial model; the global RNG is restored
                torch.manual_seed(cfg.seed)
                task = build_task(cfg)
                model = build_model(cfg, task)
            sets = task.eval_sets(torch.Generator().manual_seed(cfg.seed + EVAL_SEED_OFFSET))
            batch = ins.take(sets[None][0], ins.PROBE_SEQUENCES)
            run_id, step, source = "", 0, "settings"
        rows = ins.parameter_table(model)
        total = ins.parameter_total(rows)
        proj = f" P={cfg.proj_size}" if cfg.proj_size else ""
        bi = " bidirectional" if cfg.bidirectional else ""
        summary = (f"{cfg.cell} ({cfg.backend}) I={task.input_size} H={cfg.hidden_size}{proj} "
                   f"L={cfg.num_layers}{bi} · {cfg.task} · {total} parameters")
        shapes = ins.shape_cases(cfg, task.input_size, cfg.batch_size, cfg.seq_len)
        header = (f"B = {cfg.batch_size} (batch_size), T = {cfg.seq_len} (seq_len), I = {task.input_size}, "
                  f"H = {cfg.hidden_size}, L = {cfg.num_layers}, D = 2 if bidirectional else 1"
                  + (f", P = {cfg.proj_size}" if cfg.proj_size else ""))
        gates = ins.gate_trace_event(model, batch, run_id, step, min(sample, batch.size - 1))
        preview = None
        if source == "settings":
            preview = (0, [float(v) for v in ins.hidden_grad_norms(model, task, batch)])
        return Loaded(source, run_id, summary, rows, total, ins.group_totals(rows), shapes, header,
                      gates=gates, preview=preview)

    def _show(self, loaded: Loaded, generation: int) -> None:
        if not self.is_mounted or generation != self._generation:  # a newer load is under way
            return
        self.loaded = loaded
        summary = self.query_one("#inspect-summary", Static)
        if loaded.error:
            summary.update(Text(f"cannot inspect: {loaded.error}", style="bold red"))
            return
        self._update_summary()
        self.query_one("#param-table", Static).update(param_table(loaded.params, loaded.groups, loaded.total))
        self.query_one("#shape-table", Static).update(shapes_renderable(loaded.shape_header, loaded.shapes))
        if loaded.run_id != self.run_id:
            self.profiles = []
        self.run_id = loaded.run_id
        record = getattr(self.lab, "current", None)
        if loaded.source == "run" and record is not None and record.run_id == loaded.run_id:
            for step, norms in record.grad_profiles:
                self._add_profile(step, norms)
        self.preview = loaded.preview
        self._draw_gradients()
        if loaded.gates is not None:
            self._draw_gates(loaded.gates)
        self._attach_probe()

    def _update_summary(self) -> None:
        loaded = self.loaded
        if loaded is None or loaded.error:
            return
        record = getattr(self.lab, "current", None)
        if loaded.source == "run" and record is not None and record.run_id == loaded.run_id:
            total = f"/{record.total_steps}" if record.total_steps else ""
            where = f"run {record.run_id} · step {record.step}{total} · {record.status}"
        else:
            where = "untrained, from the form's settings (s starts a run)"
        self.query_one("#inspect-summary", Static).update(f"{loaded.summary} · {where}")

    # --------------------------------------------------------------- events
    def _on_events(self, events: list[Any]) -> None:
        from rnntui.engine.events import GateTrace, HiddenGradients, RunStarted

        grads = gates = False
        latest_gates = None
        for event in events:
            if isinstance(event, RunStarted):
                self.run_id = event.run_id
                self.profiles, self.preview = [], None
                self._load()  # a new model: tables and first traces
            elif event.run_id != self.run_id:
                continue
            elif isinstance(event, HiddenGradients):
                grads = self._add_profile(event.step, event.norms) or grads
            elif isinstance(event, GateTrace):
                latest_gates, gates = event, True
        if grads:
            self.preview = None
            self._draw_gradients()
        if gates and latest_gates is not None:
            self._draw_gates(latest_gates)
        self._update_summary()
        self._attach_probe()

    def _add_profile(self, step: int, norms: list[float]) -> bool:
        if any(s == step for s, _ in self.profiles):
            return False
        self.profiles.append((step, list(norms)))
        self.profiles.sort(key=lambda p: p[0])
        return True

    # -------------------------------------------------------------- drawing
    def _draw_gradients(self) -> None:
        heatmap = self.query_one("#grad-heatmap", Heatmap)
        plot = self.query_one("#grad-plot", MetricPlot)
        verdict = self.query_one("#grad-verdict", Static)
        profiles = self.profiles or ([self.preview] if self.preview else [])
        if not profiles:
            heatmap.clear()
            plot.clear()
            verdict.update("")
            return
        length = max(len(n) for _, n in profiles)
        columns = [n + [math.nan] * (length - len(n)) for _, n in profiles]
        matrix = [[col[t] for col in columns] for t in range(length)]
        first_step, last_step = profiles[0][0], profiles[-1][0]
        label = "untrained model" if not self.profiles else "training step"
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

    def _draw_gates(self, event: Any) -> None:
        names = tuple(event.traces)
        if names != self.gate_names:  # another cell: new maps (removal is async, so no id reuse)
            container = self.query_one("#gate-list", VerticalScroll)
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
            container.mount_all(list(self.gate_maps.values()))
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
            f"{event.cell}: held-out sample {self.sample} ({where}); gates in [0, 1] on a fixed scale, "
            f"h on a blue (−) / red (+) scale.  n: next sample.")

    # -------------------------------------------------------------- actions
    def action_close(self) -> None:
        self.app.pop_screen()

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_toggle_log(self) -> None:
        heatmap = self.query_one("#grad-heatmap", Heatmap)
        heatmap.log_scale = not heatmap.log_scale
        self._draw_gradients()

    def action_next_sample(self) -> None:
        self.sample = (self.sample + 1) % 8
        self._detach_probe()
        self._load()

    def action_reload(self) -> None:
        self._load()
