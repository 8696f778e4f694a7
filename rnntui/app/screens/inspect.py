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

"The current model" is the run's model when there is one (a snapshot, copied
in the training thread between two steps, or here once no training thread runs),
else the model the form's settings would start with (built under the engine's
``BUILD_LOCK`` with the global generator forked, so a run starting meanwhile
keeps its own initial weights and random stream).  Gradient profiles come from
the trainer's probe after every evaluation
(``RunRecord.grad_profiles``); gate traces from a probe this screen adds to the
trainer while it is open.  Heavy work runs in a thread worker.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from rnntui.app.widgets.heatmap import Heatmap
from rnntui.app.widgets.inspect_panes import GatePane, GradientPane, param_table, shapes_renderable


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


class _Snapshot:
    """A copy of a live run's model, taken by whichever thread gets there first:
    the training thread between two steps, or the Inspect worker once the run has
    ended (no training thread touches the model any more)."""

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        self.done = threading.Event()
        self.model: Any = None
        self.step = 0
        self.error: Exception | None = None
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            if self.done.is_set():
                return
            try:
                from rnntui.engine.inspect.probes import snapshot

                self.model, self.step = snapshot(self.trainer.model), self.trainer.step
            except Exception as exc:  # never fail the run for a view; the worker reports it
                self.error = exc
            finally:
                self.done.set()


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
                yield GradientPane(id="grad-pane")
            with TabPane("4 Gates", id="gates"):
                yield GatePane(id="gate-list")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Inspect"
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
        from rnntui.engine.inspect.probes import gate_probe

        self._probe = functools.partial(gate_probe, sample=self.sample)
        self._probe_trainer = trainer
        trainer.add_probe(self._probe)

    def _detach_probe(self) -> None:
        trainer, probe = self._probe_trainer, self._probe
        if trainer is not None:
            trainer.remove_probe(probe)
        self._probe = self._probe_trainer = None

    # -------------------------------------------------------------- loading
    def _load(self) -> None:
        """Gather the lab's state here on the UI thread; measure in a worker."""
        self._generation += 1
        trainer = getattr(self.lab, "trainer", None)
        if trainer is not None and getattr(trainer, "model", None) is not None and getattr(trainer, "eval_sets", None):
            if trainer.run_id != self.run_id:
                self.run_id, self.profiles, self.preview = trainer.run_id, [], None
            snap, record = _Snapshot(trainer), getattr(self.lab, "current", None)
            between_steps = getattr(getattr(self.lab, "control", None), "call_between_steps", None)
            if record is not None and record.run_id == trainer.run_id and not record.done and between_steps:
                between_steps(snap.take)  # the training thread copies it at its next safe point
                # once it has ended (or was rejected) no training thread uses the model
                ended = lambda: record.done or getattr(self.lab, "current", None) is not record  # noqa: E731
            else:
                ended = lambda: True  # noqa: E731 - no training thread: copy it in the worker
            self._load_worker(self._generation, trainer, None, self.sample, snap, ended)
        else:
            self._load_worker(self._generation, None, self._form_config(), self.sample, None, self._run_is_live)

    def _run_is_live(self) -> bool:
        """Whether a run has built its model and may still be training (plain reads: any thread)."""
        trainer, record = getattr(self.lab, "trainer", None), getattr(self.lab, "current", None)
        return getattr(trainer, "model", None) is not None and record is not None and not record.done

    def _form_config(self) -> Any:
        """The form's valid Config (validating it now if it has not been yet), or None."""
        cfg = getattr(self.lab, "config", None)
        form = getattr(self.lab, "form", None)
        if cfg is None and form is not None and hasattr(form, "validate"):
            cfg = form.validate(post=False)
        return cfg

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect", description="inspect the model")
    def _load_worker(self, generation: int, trainer: Any, cfg: Any, sample: int, snap: "_Snapshot | None",
                     flag: Any) -> None:
        try:
            loaded = self._compute(trainer, cfg, sample, snap, flag)
            if loaded is None:  # cancelled: a newer load or the app's exit
                return
        except Exception as exc:  # show the reason instead of crashing the lab
            loaded = Loaded("settings", "", "", [], 0, [], [], "", error=f"{type(exc).__name__}: {exc}")
        try:
            self.app.call_from_thread(self._show, loaded, generation)
        except RuntimeError:  # the app is shutting down
            pass

    @staticmethod
    def _compute(trainer: Any, cfg: Any, sample: int, snap: "_Snapshot | None" = None,
                 flag: Any = None) -> Loaded | None:
        """Worker thread: snapshot the run's model (or build the form's) and measure it.

        With a ``trainer``, ``snap`` is the copy requested from the training thread
        and ``flag()`` tells when the run has ended (copy it here then).  Without,
        ``flag()`` tells whether a run's training thread has its model by now."""
        import torch
        from textual.worker import NoActiveWorker, get_current_worker

        from rnntui.engine.inspect.tables import group_totals, parameter_table, parameter_total, shape_cases
        from rnntui.engine.inspect.probes import (PROBE_SEQUENCES, gate_trace_event, hidden_grad_norms, probe_batch, snapshot,
                                          take)

        try:
            worker: Any = get_current_worker()
        except NoActiveWorker:  # called directly (tests)
            worker = None
        if trainer is not None:
            cfg, task, run_id = trainer.cfg, trainer.task, trainer.run_id
            if snap is None:
                model, step = snapshot(trainer.model), trainer.step
            else:
                while not snap.done.is_set():  # the training thread copies it between two steps
                    if worker is not None and worker.is_cancelled:
                        snap.done.set()  # the training thread need not copy it now
                        return None
                    if flag is None or flag():  # no training thread uses the model (any more)
                        snap.take()
                    else:
                        snap.done.wait(0.05)
                if snap.error is not None:
                    raise snap.error
                model, step = snap.model, snap.step
            batch = probe_batch(trainer)
            source = "run"
        else:
            if cfg is None:
                raise ValueError("the settings in the form are not valid; fix them to inspect the model")
            from rnntui.engine.model import BUILD_LOCK, build_model
            from rnntui.engine.trainer import EVAL_SEED_OFFSET
            from rnntui.tasks import build_task

            with BUILD_LOCK:  # a starting run seeds and builds under it too: neither disturbs the other
                if flag is not None and flag():
                    # a run got past building its model and trains on the global generator now:
                    # forking it could rewind the run's draws.  Its RunStarted reloads this view.
                    raise RuntimeError("a run has just started; r reloads")
                with torch.random.fork_rng(devices=[]):  # the run's own initial model; the global RNG is restored
                    torch.manual_seed(cfg.seed)
                    task = build_task(cfg)
                    model = build_model(cfg, task)
            sets = task.eval_sets(torch.Generator().manual_seed(cfg.seed + EVAL_SEED_OFFSET))
            batch = take(sets[None][0], PROBE_SEQUENCES)
            run_id, step, source = "", 0, "settings"
        rows = parameter_table(model)
        total = parameter_total(rows)
        proj = f" P={cfg.proj_size}" if cfg.proj_size else ""
        bi = " bidirectional" if cfg.bidirectional else ""
        summary = (f"{cfg.cell} ({cfg.backend}) I={task.input_size} H={cfg.hidden_size}{proj} "
                   f"L={cfg.num_layers}{bi} · {cfg.task} · {total} parameters")
        shapes = shape_cases(cfg, task.input_size, cfg.batch_size, cfg.seq_len)
        header = (f"B = {cfg.batch_size} (batch_size), T = {cfg.seq_len} (seq_len), I = {task.input_size}, "
                  f"H = {cfg.hidden_size}, L = {cfg.num_layers}, D = 2 if bidirectional else 1"
                  + (f", P = {cfg.proj_size}" if cfg.proj_size else ""))
        gates = gate_trace_event(model, batch, run_id, step, min(sample, batch.size - 1))
        preview = None
        if source == "settings":
            preview = (0, [float(v) for v in hidden_grad_norms(model, task, batch)])
        return Loaded(source, run_id, summary, rows, total, group_totals(rows), shapes, header,
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
        profiles = self.profiles or ([self.preview] if self.preview else [])
        self.query_one(GradientPane).show(profiles, trained=bool(self.profiles))

    def _draw_gates(self, event: Any) -> None:
        self.query_one(GatePane).show(event, self.sample)

    @property
    def gate_names(self) -> tuple[str, ...]:
        """The traces the Gates tab shows, in order."""
        return self.query_one(GatePane).gate_names

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
