"""The rnntui lab: configure a run, start it, watch it learn.

``create_app`` is the factory used by the CLI (through :func:`run_app`) and by
the tests.  The app is the layout and the drawing; what it knows about its runs
and the rules that change them live in its :class:`~rnntui.app.session.LabSession`
(``app.lab``), which the other screens (compare, experiment, inspect) receive.
The session trains each run in a thread worker of the app (``worker.run_training``,
passed as this module's name ``run_training``); its events arrive batched a few
times a second as :class:`EventBatch` messages.

The keys are declared once, as the app's ``BINDINGS`` (and ``PALETTE_ONLY`` for
commands without a key) in :mod:`rnntui.app.commands`: the footer, the help
screen, the command palette and the README's key table come from them.
"""

from __future__ import annotations

import importlib
import os
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal, Vertical
from textual.lazy import Lazy
from textual.screen import Screen
from textual.widgets import Button, Header
from textual.worker import Worker, WorkerState

from rnntui.app import run_view
from rnntui.app.commands import LAB_BINDINGS, LAB_PALETTE_ONLY, TEXTUAL_KEYS, help_rows, palette_commands
from rnntui.app.messages import EngineReady, EventBatch, FormChanged, RunRejected
from rnntui.app.preset_commands import PresetCommands
from rnntui.app.screens.confirm import ConfirmScreen
from rnntui.app.session import LabSession
from rnntui.app.worker import plan_steps, preload_in_thread, run_training
from rnntui.app.widgets.config_form import ConfigForm
from rnntui.app.widgets.metric_plot import MetricPlot
from rnntui.app.widgets.preset_picker import PresetField, PresetPickerScreen, summary
from rnntui.app.widgets.run_log import RunLog
from rnntui.app.widgets.run_plots import RunPlots
from rnntui.app.widgets.samples import SamplesPanel
from rnntui.app.widgets.screen_footer import ScreenFooter
from rnntui.app.widgets.status import StatusBar
from rnntui.config import Config, ConfigError
from rnntui.config.schema import tasks
from rnntui.engine.events import Samples
from rnntui.engine.record import RunRecord

if TYPE_CHECKING:
    from rnntui.config.request import Request

TASKS = tasks()
BELL_AFTER_S = 30.0
"""A run that took at least this long rings the terminal bell when it ends."""
STOP_TIMEOUT_S = 120.0
"""How long an app closing on an error waits for a running experiment's runs to
stop cleanly (a single run's thread is waited for until it ends, as on quit)."""
UI_SWITCH_INTERVAL_S = 0.001
"""The GIL switch interval while the app runs.  Python's default (5 ms) lets the
training thread keep the GIL for 5 ms each time the event loop wakes up; with
several wake-ups per UI event that made timer ticks ~50 ms late (bench/ui.py)."""


class RnnTuiApp(App[int]):
    """The terminal lab: layout, start-up, drawing, and the actions on the keys below."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses may live anywhere
    TITLE = "rnntui"
    SUB_TITLE = "recurrent neural network lab"
    AUTO_FOCUS = "#loss-plot"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
    BINDINGS = LAB_BINDINGS  # the one list of keys: see rnntui.app.commands
    PALETTE_ONLY = LAB_PALETTE_ONLY
    COMMANDS = App.COMMANDS | {PresetCommands}

    def __init__(self, request: "Request | Config | None" = None, *, start: bool = False,
                 resume: str | None = None, runs_root: str | Path | None = "runs") -> None:
        super().__init__()
        if request is None or isinstance(request, Config):
            from rnntui.config.request import Request, make_request

            request = Request(request) if request is not None else make_request(task_defaults=True)
        self.lab = LabSession(self, request, self.settings, start=start, resume=resume,
                              runs_root=Path(runs_root) if runs_root is not None else None)
        self._initial_values = request.config.to_dict()
        self._preload_started = False
        self._pending_reject: tuple[str, str] | None = None
        self.last_figure: Path | None = None

    # ------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left") as left:
                left.border_title = "configuration"
                with Horizontal(id="controls"):
                    yield Button("Start", id="btn-start", action="app.start", compact=True, variant="success")
                    yield Button("Pause", id="btn-pause", action="app.pause", compact=True)
                    yield Button("Stop", id="btn-stop", action="app.stop", compact=True, variant="error")
                    yield Button("Reset", id="btn-reset", action="app.reset", compact=True)
                # mounted right after the first frame: ~80 form widgets would double the time to it
                yield Lazy(ConfigForm(self._initial_values, preset=self.lab.request.preset, id="form"))
            with Vertical(id="right"):
                yield RunPlots(id="plots")
                with Horizontal(id="bottom"):
                    yield SamplesPanel(id="samples")
                    yield RunLog(id="log")
        yield StatusBar(id="status")
        yield ScreenFooter(compact=True)

    def on_mount(self) -> None:
        self._saved_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
        self._update_hints()
        self._refresh_status()
        preset = self.lab.request.preset
        self.log_line(f"ready: {f'the {preset.name} preset' if preset else 'the default settings'}; press s to start, "
                      "o for presets, ? for help")
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        # torch is imported once the form is up (see on_form_changed): importing competes
        # for the GIL, and the form should not wait for it
        self.set_timer(1.0, self._start_preload)
        if self.lab.request.is_experiment and self._push_optional(
                "rnntui.app.screens.experiment", "ExperimentScreen", "Experiments") is not None:
            return  # the experiment screen reads lab.request and lab.start_at_once itself
        if self.lab.start_at_once:
            self.action_start()

    @property
    def form(self) -> ConfigForm | None:
        """The configuration form, or None in the instant before it is mounted."""
        forms = self.query("#form").results(ConfigForm)
        return next(forms, None)

    @property
    def config(self) -> Config | None:
        """The form's valid Config (the request's before the form is mounted), or None."""
        return self.settings()

    def settings(self, validate: bool = False) -> Config | None:
        """:attr:`config`; with ``validate``, a form not checked yet is checked now."""
        form = self.form
        if form is None:
            return self.lab.request.config
        if form.config is None and validate:
            return form.validate(post=False)
        return form.config

    def _in_form(self) -> bool:
        form, focused = self.form, self.focused
        return form is not None and focused is not None and (focused is form or form in focused.ancestors)

    # ------------------------------------------- engine loading, the worker
    def _start_preload(self) -> None:
        """Import torch and the tasks in a daemon thread (once)."""
        if not self._preload_started:
            self._preload_started = True
            preload_in_thread(lambda infos, error: self.post_message(EngineReady(infos, error=error)))

    def on_engine_ready(self, message: EngineReady) -> None:
        if message.error:
            self.lab.engine_error = message.error
            self.log_line(f"engine not available: {message.error}", "error")
            self.notify(f"The training engine failed to load: {message.error}", severity="error", timeout=10)
            return
        self.lab.task_infos = dict(message.tasks)
        if self.form is not None:
            self.form.set_task_infos(self.lab.task_infos)
        if self.lab.current is not None:
            self._update_plots(self.lab.current)
        self._plan_steps()

    def on_form_changed(self, message: FormChanged) -> None:
        self.call_after_refresh(self._start_preload)
        form = self.form
        if form is not None:  # the first message comes as the (lazy) form mounts: bring it up to date
            if self.lab.task_infos and not form.task_infos:
                form.set_task_infos(self.lab.task_infos)
            form.disabled = self.lab.active
            if self._pending_reject is not None:
                key, text = self._pending_reject
                self._pending_reject = None
                form.reject(key, text)
        if message.task_changed:
            self.plots.metric_index = 0
            if form is not None and form.preset is not None:
                self.log_line(f"task {form.task}: its preset loaded ({summary(form.preset)})", "dim")
        if self.lab.current is None:
            self._refresh_status()
        self._plan_steps()

    def _plan_steps(self) -> None:
        """A dataset task in epochs: have the form show the steps that will really run."""
        form = self.form
        cfg = form.config if form is not None else None
        if cfg is None or form.plan is not None or not self.lab.task_infos or not cfg.epochs:
            return  # (the engine is loaded once task_infos is set: the data loader is imported)
        info = self.lab.task_infos.get(cfg.task)
        if info is None or not info.finite:
            return
        self.run_worker(partial(_plan_for, cfg), thread=True, exclusive=True, exit_on_error=False, group="plan",
                        description="count the steps of a dataset task")

    def _planned(self, worker: Worker[Any]) -> None:
        form = self.form
        cfg, plan = worker.result
        if form is not None and plan is not None and form.config == cfg:
            form.show_plan(*plan)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "plan" and event.state == WorkerState.SUCCESS:
            self._planned(worker)
        if worker.group != "train" or not self.is_running:
            return
        if worker is not self.lab.train_worker:
            # an earlier run's worker, still ending after a new Start cancelled it: not ours to report
            if event.state == WorkerState.ERROR:
                self.log_line(f"an earlier run's worker failed: {type(worker.error).__name__}: {worker.error}",
                              "error")
            return
        if event.state == WorkerState.ERROR:
            reason = f"{type(worker.error).__name__}: {worker.error}"
            self.notify(f"Training crashed: {reason}", title="run failed", severity="error", timeout=10)
            self.log_line(f"worker error: {reason}", "error")
            self.lab.worker_failed(reason)
        if event.state in (WorkerState.ERROR, WorkerState.SUCCESS, WorkerState.CANCELLED):
            if self.form is not None:
                self.form.disabled = False
            self._refresh_status()
            self.refresh_bindings()

    def on_event_batch(self, message: EventBatch) -> None:
        record = self.lab.fold(message.run_id, message.events)
        if record is None or not self.is_running:  # closing: the record is folded, the widgets are going
            return
        for event in message.events:
            line = run_view.event_log_line(event)
            if line is not None:
                self.log_line(*line)
        if record is self.lab.current:
            samples = next((e for e in reversed(message.events) if isinstance(e, Samples)), None)
            if samples is not None:
                self.query_one("#samples", SamplesPanel).show(record.samples, samples.step)
            self._update_plots(record)
            self._refresh_status()
        if record.done:
            self._announce_end(record)
        for failure in self.lab.notify_listeners(message.events):
            self.log_line(failure, "error")

    def _announce_end(self, record: RunRecord) -> None:
        notice = run_view.end_notice(record, self.lab.task_info(record))
        if notice is not None:
            for line in notice.log:
                self.log_line(*line)
            self.notify(notice.message, title=notice.title, severity=notice.severity,
                        timeout=8 if notice.severity == "information" else 12)
            if record.wall_time_s >= BELL_AFTER_S:
                self.bell()  # a long run: the learner may be looking elsewhere
        if record.path:
            self.log_line(f"saved in {record.path}", "dim")

    def on_run_rejected(self, message: RunRejected) -> None:
        self.lab.reject(message.run_id)
        self.query_one("#main").remove_class("-form-hidden")
        if self.form is not None:
            self.form.disabled = False
            self.form.reject(message.key, message.message)
        else:  # the form is about to mount: mark the field then
            self._pending_reject = (message.key, message.message)
        self.notify(f"{message.key}: {message.message}", title="cannot start", severity="error", timeout=8)
        self.log_line(f"cannot start: {message.key}: {message.message}", "error")
        self._refresh_status()

    # -------------------------------------------------------------- drawing
    @property
    def plots(self) -> RunPlots:
        return self.query_one("#plots", RunPlots)

    def _update_plots(self, record: RunRecord) -> None:
        self.plots.show(record, self.lab.task_info(record))

    def _refresh_status(self) -> None:
        if not self.is_running:  # closing: the widgets are going
            return
        bar = self.query_one("#status", StatusBar)
        record = self.lab.current
        if record is None:
            errors = self.form.errors if self.form is not None else {}
            hint = (f"fix {next(iter(errors))} to start" if errors else "press s to start, ? for help")
            bar.show(None, hint)
        else:
            bar.show(record)
        label = "Resume" if self.lab.control.paused and self.lab.active else "Pause"
        button = self.query_one("#btn-pause", Button)
        if str(button.label) != label:  # a label change relayouts the screen: only when it changes
            button.label = label

    def log_line(self, message: str, level: str = "info") -> None:
        self.query_one("#log", RunLog).add(message, level)

    # ---------------------------------------------------------- run actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reset":
            return None if self.lab.active else True
        if action in ("pause", "stop"):
            return True if self.lab.active else None
        return True  # start during a run says that one is in progress

    def action_start(self) -> None:
        if self.lab.active:
            self.notify("A run is in progress: stop it (t) before starting another.", severity="warning")
            return
        form = self.form
        cfg = form.validate(post=False) if form is not None else self.lab.request.config
        if cfg is None:
            errors = form.errors if form is not None else {}
            text = "; ".join(f"{k}: {v}" for k, v in errors.items()) or "the settings are not valid"
            self.notify(text, title="cannot start", severity="error", timeout=8)
            self.log_line(f"cannot start: {text}", "error")
            self._refresh_status()
            return
        self.lab.start(cfg, run_training)  # looked up now: tests and bench/ui.py replace it
        self.query_one("#samples", SamplesPanel).clear()
        if self.lab.current is not None:
            self._update_plots(self.lab.current)
        if form is not None:
            form.disabled = True
        if self.size.width < 120:  # narrow: the plots get the width while the form is locked
            self.query_one("#main").add_class("-form-hidden")
        if self.focused is None or self._in_form():
            self._focus_plot()
        # no run id yet: the run may still be refused (it is named once it has started)
        self.log_line(f"starting: {cfg.task} / {cfg.cell} ({cfg.backend}) hidden {cfg.hidden_size}"
                      f" × {cfg.num_layers}, {self._length_text(cfg)}, lr {cfg.lr:g}")
        self._refresh_status()
        self.refresh_bindings()

    def _length_text(self, cfg: Config) -> str:
        if cfg.epochs and TASKS[cfg.task].finite:
            plan = self.form.plan if self.form is not None else None
            return f"{cfg.epochs} epochs" + (f" = {plan[0]} steps" if plan else "")
        return f"{cfg.steps} steps"

    def action_pause(self) -> None:
        if not self.lab.active:
            self.notify("No run is in progress.", severity="warning")
            return
        paused = self.lab.toggle_pause()
        self.log_line("paused (p resumes, t stops)" if paused else "resumed")
        self._refresh_status()
        self.refresh_bindings()

    def action_stop(self) -> None:
        if not self.lab.active:
            self.notify("No run is in progress.", severity="warning")
            return
        self.lab.control.cancel()
        self.log_line("stopping…")

    def action_checkpoint(self) -> None:
        if self.lab.active:
            self.lab.control.request_checkpoint()
            self.log_line("checkpoint requested")

    def action_reset(self) -> None:
        if self.lab.active:
            self.notify("Stop the run (t) before resetting.", severity="warning")
            return
        self.lab.clear()
        self.query_one("#samples", SamplesPanel).clear()
        self.plots.clear()
        if self.form is not None:
            self.form.disabled = False
        self.query_one("#main").remove_class("-form-hidden")
        self.log_line("reset: ready for a new run")
        self._refresh_status()
        self.refresh_bindings()

    def action_reset_form(self) -> None:
        if self.lab.active:
            self.notify("Stop the run before changing the settings.", severity="warning")
            return
        form = self.form
        if form is None:
            return
        if form.preset is not None and not form.preset.is_experiment:
            form.load_preset(form.preset)
            self.log_line(f"form reset to the {form.preset.name} preset")
        else:
            form.load(self._initial_values, self.lab.request.preset)
            self.log_line("form reset to the starting values")

    # ------------------------------------------------------------- presets
    def action_presets(self) -> None:
        """The preset picker (every preset, with its description)."""
        form = self.form
        current = form.preset.name if form is not None and form.preset is not None else None
        self.push_screen(PresetPickerScreen("all", current), self._preset_picked)

    def _preset_picked(self, name: str | None) -> None:
        if name:
            self.apply_preset(name)

    def on_preset_field_chosen(self, message: PresetField.Chosen) -> None:
        message.stop()
        if message.name:
            self.apply_preset(message.name)

    def apply_preset(self, name: str) -> None:
        """Load preset ``name``: a single run into the form, an experiment into the
        Experiment view (ready to start)."""
        from rnntui.config.presets import load_preset

        try:
            preset = load_preset(name)
        except ConfigError as exc:
            self.notify(str(exc), title="preset", severity="error", timeout=10)
            return
        if preset.is_experiment:
            screen = self._push_optional("rnntui.app.screens.experiment", "ExperimentScreen", "Experiments")
            if screen is not None:
                screen.choose_preset(preset.name)  # type: ignore[attr-defined]
            return
        if self.lab.active:
            self.notify("A run is in progress: stop it (t) before loading a preset.", severity="warning")
            return
        if self.form is None:
            return
        self.form.load_preset(preset)
        self.query_one("#main").remove_class("-form-hidden")
        self.log_line(f"preset {preset.name} loaded: {summary(preset)}")
        self.notify(summary(preset), title=f"preset {preset.name}")

    def action_edit_form(self) -> None:
        """Jump to the form (shown first if it was hidden)."""
        self.query_one("#main").remove_class("-form-hidden")
        if self.form is not None:
            self.form.focus_first()

    # ---------------------------------------------------------------- view
    def action_toggle_log(self) -> None:
        for plot in self.query(MetricPlot):
            plot.log_y = not plot.log_y

    def action_toggle_smooth(self) -> None:
        for plot in self.query(MetricPlot):
            plot.smooth = not plot.smooth

    def action_next_metric(self) -> None:
        self.plots.metric_index += 1
        if self.lab.current is not None:
            self._update_plots(self.lab.current)

    def action_swap_plots(self) -> None:
        self.plots.swap()

    def action_save_figure(self) -> None:
        """The current (else the latest) run's figure, as ``rnntui plot`` draws it, in its run directory."""
        from rnntui.app.figure_saving import save_records_figure

        record = self.lab.current or (self.lab.records[-1] if self.lab.records else None)
        if record is None or not (record.steps or record.evals):
            self.notify("No run with curves to draw yet: start one (s).", severity="warning")
            return
        folder = Path(record.path) if record.path and Path(record.path).is_dir() else None
        folder = folder or self.lab.runs_root or Path("runs")
        self.log_line(f"figure: {save_records_figure(self, [record], folder, 'figure')}", "dim")

    def action_toggle_form(self) -> None:
        main = self.query_one("#main")
        main.toggle_class("-form-hidden")
        if main.has_class("-form-hidden") and self._in_form():
            self._focus_plot()

    def on_resize(self) -> None:
        self._update_hints()

    def _update_hints(self) -> None:
        self.plots.set_hints(self.size.width < 120)

    def action_leave_form(self) -> None:
        if self._in_form():
            self._focus_plot()

    def _focus_plot(self) -> None:
        self.plots.focus_plot(self.size.width < 120)

    # ------------------------------------------------------------- screens
    def action_help(self) -> None:
        from rnntui.app.screens.help import HelpScreen
        from rnntui.app.screens.inspect import InspectScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(help_rows(self.BINDINGS, TEXTUAL_KEYS), help_rows(InspectScreen.BINDINGS)))

    def action_compare(self) -> None:
        self._push_optional("rnntui.app.screens.compare", "CompareScreen", "Compare")

    def action_experiment(self) -> None:
        self._push_optional("rnntui.app.screens.experiment", "ExperimentScreen", "Experiments")

    def action_inspect(self) -> None:
        self._push_optional("rnntui.app.screens.inspect", "InspectScreen", "Inspect")

    def _push_optional(self, module: str, name: str, title: str) -> Screen[Any] | None:
        """A screen taking the lab session, imported lazily and shown (the one on top
        if it is of that kind); a notice and None when it is missing."""
        try:
            screen_cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            self.notify(f"{title} is not available in this build ({exc}).", severity="warning")
            return None
        if type(self.screen) is screen_cls:
            return self.screen
        screen = screen_cls(self.lab)
        self.push_screen(screen)
        return screen

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette: the lab's commands (from the bindings), then Textual's."""
        for command in palette_commands(self.BINDINGS, self.PALETTE_ONLY):
            yield SystemCommand(command.title, command.help, partial(self.run_action, command.action))
        yield from super().get_system_commands(screen)

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """Save an SVG of the screen in the first folder that can be written (see
        :mod:`rnntui.app.screenshot`) and say where, or why nowhere."""
        if self.is_web:
            return super().deliver_screenshot(filename, path, time_format)
        from platformdirs import user_downloads_path

        from rnntui.app.screenshot import candidate_dirs, save_text, screenshot_name

        saved, refused = save_text(self.export_screenshot(), filename or screenshot_name(),
                                   candidate_dirs(path, user_downloads_path()))
        if saved is None:
            self.notify("Could not save the screenshot: " + "; ".join(refused), title="screenshot",
                        severity="error", timeout=12)
        else:
            also = f" ({'; '.join(refused)})" if refused else ""
            self.notify(f"Saved to {saved}{also}", title="screenshot", timeout=10)
            self.log_line(f"screenshot saved: {saved}", "dim")
        return None

    def action_conv(self) -> None:
        """The Conv screen: seed 004's convolution primitives (needs nothing from the run)."""
        from rnntui.app.screens.conv import ConvScreen

        if not isinstance(self.screen, ConvScreen):
            self.push_screen(ConvScreen())

    async def action_quit(self) -> None:
        busy = [what for what, on in (("a run", self.lab.active), ("an experiment", self.lab.experiment.running))
                if on]
        if busy and not isinstance(self.screen, ConfirmScreen):
            what = " and ".join(busy)
            question = (f"{what[0].upper()}{what[1:]} {'is' if len(busy) == 1 else 'are'} in progress. "
                        "Quit and stop it? What it has written so far stays under runs/.")
            self.push_screen(ConfirmScreen(question, "Quit", "Keep running"), self._quit_answered)
            return
        self._quit_now()

    def _quit_answered(self, yes: bool | None) -> None:
        if yes:
            self._quit_now()

    def _quit_now(self) -> None:
        self.lab.control.abort()  # checked every step; skips the closing eval and checkpoint
        self.exit(0)

    def on_unmount(self) -> None:
        if self.return_code:
            # an error closes the app (Textual ends it on any unhandled exception): the
            # run and the experiment stop as t stops them, with their closing evaluation,
            # checkpoint and summary, so that nothing is lost and they can be resumed
            self.lab.control.cancel()
            self.lab.experiment.shutdown(timeout=STOP_TIMEOUT_S, graceful=True)
        else:  # quitting: at once (what is on disk stays)
            self.lab.control.abort()
            self.lab.experiment.shutdown()  # its process pool, before run_app's os._exit
        sys.setswitchinterval(getattr(self, "_saved_switch_interval", 0.005))


def _plan_for(cfg: Config) -> tuple[Config, tuple[int, int] | None]:
    return cfg, plan_steps(cfg)


def create_app(request: "Request | Config | None" = None, *, start: bool = False, resume: str | None = None,
               runs_root: str | Path | None = "runs") -> RnnTuiApp:
    """The app factory (CLI and tests)."""
    return RnnTuiApp(request, start=start, resume=resume, runs_root=runs_root)


def run_app(request: "Request | None" = None, start: bool = False, resume: str | None = None,
            fast_exit: bool = True) -> int:
    """Run the TUI until the user quits; returns the process exit code.

    With ``fast_exit`` the process ends right after the app has shut down (the
    training thread has finished and its run directory is closed by then),
    skipping the interpreter's finalisation: tearing torch down takes ~0.4 s,
    which users feel as a slow quit.
    """
    app = create_app(request, start=start, resume=resume)
    result = app.run()
    code = app.return_code if app.return_code not in (None, 0) else int(result or 0)
    if fast_exit:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    return code
