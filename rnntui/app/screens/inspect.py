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

"The current model" is the run's model when there is one (a
:class:`~rnntui.engine.inspect.snapshot.RunSnapshot`, copied by the training
thread between two steps, or by this screen's worker once no training thread
runs), else the model the form's settings would start with.  What the tabs show
comes from one engine function, :func:`rnntui.engine.inspect.describe.describe`
(the one ``rnntui inspect`` prints); it also builds the untrained model, seeded
the way a run seeds it, without disturbing a run that starts meanwhile.  Gradient
profiles of a run come from the trainer's probe after every evaluation
(``RunRecord.grad_profiles``); gate traces from a probe this screen adds to the
trainer while it is open.  Heavy work runs in a thread worker.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from rnntui.app.widgets.heatmap import Heatmap
from rnntui.app.widgets.inspect_panes import GatePane, GradientPane, param_table, shapes_renderable
from rnntui.app.widgets.screen_footer import ScreenFooter

if TYPE_CHECKING:
    from rnntui.app.session import LabSession
    from rnntui.config import Config
    from rnntui.engine.events import Event, GateTrace
    from rnntui.engine.inspect.describe import ModelDescription
    from rnntui.engine.inspect.snapshot import RunSnapshot
    from rnntui.engine.trainer import Probe, Trainer


TABS = "tabs: parameters, shapes, gradients, gates"
SAMPLES = 8
"""Held-out sequences whose gate traces ``n`` cycles through."""


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
        Binding("1", "show_tab('params')", "Params", show=False, tooltip=TABS),
        Binding("2", "show_tab('shapes')", "Shapes", show=False, tooltip=TABS),
        Binding("3", "show_tab('grads')", "Gradients", show=False, tooltip=TABS),
        Binding("4", "show_tab('gates')", "Gates", show=False, tooltip=TABS),
        Binding("l", "toggle_log", "Log", tooltip="log / linear scale of the gradient heatmap and profile"),
        Binding("n", "next_sample", "Sample", tooltip="gate traces of the next held-out sample (of 8)"),
        Binding("r", "reload", "Reload", tooltip="reload: measure the current model again"),
        Binding("escape,i", "close", "Back", tooltip="close the Inspect view"),
    ]

    def __init__(self, lab: "LabSession") -> None:
        super().__init__()
        self.lab = lab
        self.run_id = ""
        self.profiles: list[tuple[int, list[float]]] = []
        self.preview: tuple[int, list[float]] | None = None
        self.sample = 0
        self.loaded: "ModelDescription | None" = None
        self.error = ""  # why the last load failed
        self._probe: "Probe | None" = None
        self._probe_trainer: "Trainer | None" = None
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
        yield ScreenFooter()

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
        trainer, record = self.lab.trainer, self.lab.current
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
        if trainer is not None and probe is not None:
            trainer.remove_probe(probe)
        self._probe = self._probe_trainer = None

    # -------------------------------------------------------------- loading
    def _load(self) -> None:
        """Gather the lab's state here on the UI thread; measure in a worker."""
        from rnntui.engine.inspect.snapshot import RunSnapshot

        self._generation += 1
        trainer, record = self.lab.trainer, self.lab.current
        if trainer is not None and trainer.model is not None and trainer.eval_sets:
            if trainer.run_id != self.run_id:
                self.run_id, self.profiles, self.preview = trainer.run_id, [], None
            snap = RunSnapshot(trainer)
            if record is not None and record.run_id == trainer.run_id and not record.done:
                self.lab.control.call_between_steps(snap.take)  # the training thread copies it at its next safe point
                # once it has ended (or was rejected) no training thread uses the model
                ended: Callable[[], bool] = lambda: record.done or self.lab.current is not record  # noqa: E731
            else:
                ended = lambda: True  # noqa: E731 - no training thread: the worker copies it
            self._load_worker(self._generation, None, self.sample, snap, ended)
        else:
            self._load_worker(self._generation, self.lab.settings(validate=True), self.sample, None,
                              self._run_is_live)

    def _run_is_live(self) -> bool:
        """Whether a run has built its model and may still be training (plain reads: any thread)."""
        trainer, record = self.lab.trainer, self.lab.current
        return trainer is not None and trainer.model is not None and record is not None and not record.done

    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect", description="inspect the model")
    def _load_worker(self, generation: int, cfg: "Config | None", sample: int, snap: "RunSnapshot | None",
                     flag: Callable[[], bool]) -> None:
        """Describe the run's model (``snap``; ``flag()``: its run has ended) or the
        untrained one of ``cfg`` (``flag()``: a run is training on the global generator)."""
        from rnntui.engine.inspect.describe import describe

        worker = get_current_worker()
        loaded, error = None, ""
        try:
            if snap is not None:
                run = snap.wait(ended=flag, cancelled=lambda: worker.is_cancelled)
                if run is None:  # cancelled: a newer load or the app's exit
                    return
                loaded = describe(run.cfg, sample=sample, run=run)
            elif cfg is None:
                error = "the settings in the form are not valid; fix them to inspect the model"
            else:
                loaded = describe(cfg, sample=sample, run_started=flag)
        except Exception as exc:  # show the reason instead of crashing the lab
            error = f"{type(exc).__name__}: {exc}"
        try:
            self.app.call_from_thread(self._show, loaded, error, generation)
        except RuntimeError:  # the app is shutting down
            pass

    def _show(self, loaded: "ModelDescription | None", error: str, generation: int) -> None:
        if not self.is_mounted or generation != self._generation:  # a newer load is under way
            return
        self.loaded, self.error = loaded, error
        if loaded is None:
            self.query_one("#inspect-summary", Static).update(Text(f"cannot inspect: {error}", style="bold red"))
            return
        self._update_summary()
        self.query_one("#param-table", Static).update(param_table(loaded.params, loaded.groups, loaded.model_total))
        self.query_one("#shape-table", Static).update(shapes_renderable(loaded.shape_header, loaded.shapes))
        if loaded.run_id != self.run_id:
            self.profiles = []
        self.run_id = loaded.run_id
        record = self.lab.current
        if loaded.source == "run" and record is not None and record.run_id == loaded.run_id:
            for step, norms in record.grad_profiles:
                self._add_profile(step, norms)
        self.preview = (0, loaded.grad_profile) if loaded.grad_profile is not None else None
        self._draw_gradients()
        if loaded.gates is not None:
            self._draw_gates(loaded.gates)
        self._attach_probe()

    def _update_summary(self) -> None:
        loaded = self.loaded
        if loaded is None:
            return
        record = self.lab.current
        if loaded.source == "run" and record is not None and record.run_id == loaded.run_id:
            total = f"/{record.total_steps}" if record.total_steps else ""
            where = f"run {record.run_id} · step {record.step}{total} · {record.status}"
        else:
            where = "untrained, from the form's settings (s starts a run)"
        self.query_one("#inspect-summary", Static).update(f"{loaded.summary} · {where}")

    # --------------------------------------------------------------- events
    def _on_events(self, events: list["Event"]) -> None:
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

    def _draw_gates(self, event: "GateTrace") -> None:
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
        self.sample = (self.sample + 1) % SAMPLES
        self._detach_probe()
        self._load()

    def action_reload(self) -> None:
        self._load()
