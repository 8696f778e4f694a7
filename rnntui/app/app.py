"""The rnntui lab: configure a run, start it, watch it learn.

``create_app`` is the factory used by the CLI (through :func:`run_app`) and by
the tests.  The app holds the session's runs as :class:`RunRecord` objects; the
training runs in a Textual thread worker (``worker.run_training``) whose
events arrive batched a few times a second as :class:`EventBatch` messages.

For the screens other modules add (compare, experiment, inspect) the app
exposes: ``records`` (this session's runs, newest last), ``current`` (the run on
screen or None), ``trainer`` (the current run's Trainer, kept after it ends so
the model can be inspected; None before a run and after reset), ``config``
(the form's valid Config or None), ``control`` (the current run's RunControl)
and ``add_event_listener(fn)`` / ``remove_event_listener(fn)``: ``fn(events)``
runs on the UI thread with every batch.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.lazy import Lazy
from textual.widgets import Button, Footer, Header

from rnntui.app import run_view
from rnntui.app.commands import LabCommands
from rnntui.app.messages import EngineReady, FormChanged, RunRejected
from rnntui.app.run_control import EventListener, RunControlMixin
from rnntui.app.screen_actions import ScreenActionsMixin
from rnntui.app.worker import TaskInfo, TrainJob, UIRunControl, preload_engine, run_training
from rnntui.app.widgets.config_form import ConfigForm
from rnntui.app.widgets.metric_plot import MetricPlot
from rnntui.app.widgets.run_log import RunLog
from rnntui.app.widgets.samples import SamplesPanel
from rnntui.app.widgets.status import StatusBar
from rnntui.config import Config, ConfigError, build_config
from rnntui.engine.record import RunRecord

if TYPE_CHECKING:
    from rnntui.config.request import Request

UI_SWITCH_INTERVAL_S = 0.001
"""The GIL switch interval while the app runs.  Python's default (5 ms) lets the
training thread keep the GIL for 5 ms each time the event loop wakes up; with
several wake-ups per UI event that made timer ticks ~50 ms late (bench/ui.py)."""


class RnnTuiApp(RunControlMixin, ScreenActionsMixin, App[int]):
    """The terminal lab: layout, start-up, drawing and the plot actions; running
    runs is :class:`RunControlMixin`, opening screens :class:`ScreenActionsMixin`."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses may live anywhere
    TITLE = "rnntui"
    SUB_TITLE = "recurrent neural network lab"
    COMMANDS = App.COMMANDS | {LabCommands}
    AUTO_FOCUS = "#loss-plot"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
    BINDINGS = [
        Binding("s,f5", "start", "Start"),
        Binding("p,f6", "pause", "Pause"),
        Binding("t,f7", "stop", "Stop"),
        Binding("r,f8", "reset", "Reset"),
        Binding("l", "toggle_log", "Log"),
        Binding("m", "toggle_smooth", "EMA"),
        Binding("n", "next_metric", "Metric", show=False),
        Binding("g", "swap_plots", "Swap plot", show=False),
        Binding("f", "toggle_form", "Form", show=False),
        Binding("c", "compare", "Compare"),
        Binding("x", "experiment", "Exper.", show=False),
        Binding("i", "inspect", "Inspect", show=False),
        Binding("v", "conv", "Conv", show=False),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("escape", "leave_form", show=False),
    ]

    def __init__(self, request: "Request | Config | None" = None, *, start: bool = False,
                 resume: str | None = None, runs_root: str | Path | None = "runs") -> None:
        super().__init__()
        if request is None or isinstance(request, Config):
            from rnntui.config.request import Request

            request = Request(request if request is not None else build_config())
        self.request = request
        self.start_at_once = start
        self.resume_path = resume
        self.runs_root = Path(runs_root) if runs_root is not None else None
        self.records: list[RunRecord] = []
        self.current: RunRecord | None = None
        self.trainer: Any = None
        self.control: UIRunControl = UIRunControl()
        self.task_infos: dict[str, TaskInfo] = {}
        self.engine_error = ""
        self._listeners: list[EventListener] = []
        self._metric_index = 0
        self._initial_values = request.config.to_dict()
        self._preload_started = False
        self._pending_reject: tuple[str, str] | None = None
        self._train_worker: Any = None  # the Worker of the current run (see on_worker_state_changed)

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
                yield Lazy(ConfigForm(self._initial_values, id="form"))
            with Vertical(id="right"):
                with Horizontal(id="plots"):
                    yield MetricPlot("loss", id="loss-plot", placeholder="loss curves appear here once training starts")
                    yield MetricPlot("metric", id="metric-plot", placeholder="the task's metric appears at the first evaluation")
                with Horizontal(id="bottom"):
                    yield SamplesPanel(id="samples")
                    yield RunLog(id="log")
        yield StatusBar(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._saved_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
        self.query_one("#loss-plot", MetricPlot).can_focus = True
        self.query_one("#metric-plot", MetricPlot).can_focus = True
        self._update_hints()
        self._refresh_status()
        preset = self.request.preset
        self.log_line(f"ready: {preset.name if preset else 'default'} settings; press s to start, ? for help")
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        # torch is imported once the form is up (see on_form_changed): importing competes
        # for the GIL, and the form should not wait for it
        self.set_timer(1.0, self._start_preload)
        if self.request.is_experiment and self._push_optional(
                "rnntui.app.screens.experiment", "ExperimentScreen", "Experiments"):
            return  # the experiment screen reads app.request and app.start_at_once itself
        if self.start_at_once:
            self.action_start()

    @property
    def config(self) -> Config | None:
        form = self.form
        return form.config if form is not None else self.request.config

    @property
    def form(self) -> ConfigForm | None:
        """The configuration form, or None in the instant before it is mounted."""
        forms = self.query("#form").results(ConfigForm)
        return next(forms, None)

    def _in_form(self) -> bool:
        form, focused = self.form, self.focused
        return form is not None and focused is not None and (focused is form or form in focused.ancestors)

    # ------------------------------------------- engine loading, the worker
    def _preload(self) -> None:
        """Import torch and the tasks in a daemon thread.

        Not a Textual worker: those run in asyncio's default executor, which the
        process joins at exit, so quitting during the import (~1.5-3 s) would wait
        for it.  A daemon thread is simply dropped.
        """

        def load() -> None:
            try:
                infos = preload_engine()
            except Exception as exc:  # the UI still opens; starting a run will report it
                self.post_message(EngineReady({}, error=f"{type(exc).__name__}: {exc}"))
                return
            self.post_message(EngineReady(infos))

        threading.Thread(target=load, name="rnntui-preload", daemon=True).start()

    @work(thread=True, exclusive=True, exit_on_error=False, group="train", description="training run")
    def _train(self, job: TrainJob) -> str:
        from rnntui.engine.checkpoint import CheckpointError  # imports torch: here, in the worker thread

        try:
            return run_training(job)
        except ConfigError as exc:
            self.post_message(RunRejected(job.run_id, exc.key, exc.message))
            return "rejected"
        except CheckpointError as exc:  # a bad --resume file, before the run
            self.post_message(RunRejected(job.run_id, "resume", str(exc)))
            return "rejected"

    def on_engine_ready(self, message: EngineReady) -> None:
        if message.error:
            self.engine_error = message.error
            self.log_line(f"engine not available: {message.error}", "error")
            self.notify(f"The training engine failed to load: {message.error}", severity="error", timeout=10)
            return
        self.task_infos = dict(message.tasks)
        if self.form is not None:
            self.form.set_task_infos(self.task_infos)
        if self.current is not None:
            self._update_plots(self.current)

    def _start_preload(self) -> None:
        if not self._preload_started:
            self._preload_started = True
            self._preload()

    def on_form_changed(self, message: FormChanged) -> None:
        self.call_after_refresh(self._start_preload)
        form = self.form
        if form is not None:  # the first message comes as the (lazy) form mounts: bring it up to date
            if self.task_infos and not form.task_infos:
                form.set_task_infos(self.task_infos)
            form.disabled = self._active()
            if self._pending_reject is not None:
                key, text = self._pending_reject
                self._pending_reject = None
                form.reject(key, text)
        if message.task_changed:
            self._metric_index = 0
        if self.current is None:
            self._refresh_status()

    # -------------------------------------------------------------- drawing
    def _update_plots(self, record: RunRecord) -> None:
        loss = run_view.loss_plot(record)
        self.query_one("#loss-plot", MetricPlot).set_lines(loss.lines, loss.refs, title=loss.title)
        metric_plot = self.query_one("#metric-plot", MetricPlot)
        info = self.task_infos.get(record.config.get("task", ""))
        data = run_view.metric_plot(record, info, self._metric_index)
        if data is None:
            metric_plot.set_lines([], title="metric")
            return
        metric_plot.allow_log = data.allow_log
        metric_plot.set_lines(data.lines, data.refs, title=data.title)

    def _refresh_status(self) -> None:
        bar = self.query_one("#status", StatusBar)
        record = self.current
        if record is None:
            errors = self.form.errors if self.form is not None else {}
            hint = (f"fix {next(iter(errors))} to start" if errors else "press s to start, ? for help")
            bar.show(None, hint)
        else:
            bar.show(record)
        label = "Resume" if self.control.paused and self._active() else "Pause"
        button = self.query_one("#btn-pause", Button)
        if str(button.label) != label:  # a label change relayouts the screen: only when it changes
            button.label = label

    def log_line(self, message: str, level: str = "info") -> None:
        self.query_one("#log", RunLog).add(message, level)

    # ---------------------------------------------------------------- view
    def action_toggle_log(self) -> None:
        for plot in self.query(MetricPlot):
            plot.log_y = not plot.log_y

    def action_toggle_smooth(self) -> None:
        for plot in self.query(MetricPlot):
            plot.smooth = not plot.smooth

    def action_next_metric(self) -> None:
        self._metric_index += 1
        if self.current is not None:
            self._update_plots(self.current)

    def action_swap_plots(self) -> None:
        self.query_one("#plots").toggle_class("-swap")

    def action_toggle_form(self) -> None:
        main = self.query_one("#main")
        main.toggle_class("-form-hidden")
        if main.has_class("-form-hidden") and self._in_form():
            self._focus_plot()

    def on_resize(self) -> None:
        self._update_hints()

    def _update_hints(self) -> None:
        narrow = self.size.width < 120
        self.query_one("#loss-plot", MetricPlot).set_hint("g: metric" if narrow else "")
        self.query_one("#metric-plot", MetricPlot).set_hint("n: next" + (" · g: loss" if narrow else ""))

    def action_leave_form(self) -> None:
        if self._in_form():
            self._focus_plot()

    def _focus_plot(self) -> None:
        swapped = self.query_one("#plots").has_class("-swap") and self.size.width < 120
        self.query_one("#metric-plot" if swapped else "#loss-plot", MetricPlot).focus()

    def action_conv(self) -> None:
        """The Conv screen: seed 004's convolution primitives (needs nothing from the run)."""
        from rnntui.app.screens.conv import ConvScreen

        if not isinstance(self.screen, ConvScreen):
            self.push_screen(ConvScreen())

    async def action_quit(self) -> None:
        self.control.abort()  # checked every step; skips the closing eval and checkpoint
        self.exit(0)

    def on_unmount(self) -> None:
        self.control.abort()
        sys.setswitchinterval(getattr(self, "_saved_switch_interval", 0.005))


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
