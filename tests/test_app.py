"""The TUI end to end: Pilot-driven, tiny seeded runs (smoke preset, ~30 steps)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading


from rnntui.app import app as app_module
from rnntui.app.screens.confirm import ConfirmScreen
from rnntui.app.screens.help import HelpScreen
from rnntui.app.widgets.config_form import FieldRow
from rnntui.app.widgets.metric_plot import MetricPlot
from rnntui.config.request import Request
from rnntui.config import build_config
from rnntui.config.presets import load_preset

from conftest import engine_ready, form_ready, make_lab_app, wait_for

SIZE = (120, 40)


def tiny(**over) -> Request:
    values = {"steps": 30, "eval_every": 10, "eval_size": 64, "log_every": 1, "n_samples": 3}
    values.update(over)
    return Request(build_config(load_preset("smoke").values, values))


def make_app(request: Request | None = None, **kw):
    return make_lab_app(request or tiny(), **kw)


async def type_into(pilot, app, key: str, text: str) -> None:
    await form_ready(pilot, app)
    editor = app.form.editor(key)
    editor.focus()
    await pilot.pause()
    editor.value = ""
    await pilot.press(*text)
    await pilot.press("escape")  # leave the form so letter keys are commands again
    await pilot.pause()


async def finish(pilot, app) -> None:
    await app.workers.wait_for_complete()
    await wait_for(pilot, lambda: app.lab.current is not None and app.lab.current.done, 10, "the run to end")
    await pilot.pause(0.3)  # one plot redraw tick


# ----------------------------------------------------------------- training
async def test_edit_fields_train_and_show_results():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert "ready" in app.query_one("#status").plain
        await engine_ready(pilot, app)
        await type_into(pilot, app, "hidden_size", "8")
        await type_into(pilot, app, "lr", "0.02")
        assert app.config is not None and app.config.hidden_size == 8 and app.config.lr == 0.02
        await pilot.press("s")
        await finish(pilot, app)

        record = app.lab.current
        assert record.status == "finished" and record.step == 30
        assert record.config["hidden_size"] == 8
        assert app.lab.records == [record]
        loss_plot = app.query_one("#loss-plot", MetricPlot)
        labels = {line.label: len(line.ys) for line in loss_plot.lines}
        assert labels["train"] == 30  # log_every=1: one point per step
        assert labels["val"] == 3  # evaluations at 10, 20, 30
        assert loss_plot.renders >= 1
        metric_plot = app.query_one("#metric-plot", MetricPlot)
        assert metric_plot.point_count >= 3
        samples = app.query_one("#samples")
        assert len(samples.lines) == 3 and all("+" in line.plain for line in samples.lines)
        assert samples.step == 30
        status = app.query_one("#status").plain
        assert "finished" in status and "step 30/30" in status and "params" in status
        log = "\n".join(app.query_one("#log").history)
        assert "eval @ 10" in log and "finished at step 30" in log
        assert not app.form.disabled  # editable again for the next run


async def test_invalid_field_marks_row_and_blocks_start():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_into(pilot, app, "hidden_size", "-3")
        row = app.query_one("#row-hidden_size", FieldRow)
        assert row.has_class("-invalid")
        assert row.error == "got -3; allowed: an integer from 1 to 8192"
        assert app.config is None
        await pilot.press("s")
        await pilot.pause()
        assert app.lab.records == [] and app.lab.current is None
        assert any(sev == "error" and "hidden_size: got -3" in msg for sev, msg in app.notes)
        assert "fix hidden_size" in app.query_one("#status").plain

        await type_into(pilot, app, "hidden_size", "abc")
        assert row.error == "got 'abc'; allowed: an integer"
        await type_into(pilot, app, "hidden_size", "12")
        assert not row.has_class("-invalid") and app.config.hidden_size == 12


async def test_cross_field_error_names_the_field():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_into(pilot, app, "dropout", "0.5")  # needs num_layers >= 2
        assert "needs num_layers >= 2" in app.query_one("#row-dropout", FieldRow).error
        await type_into(pilot, app, "num_layers", "2")
        assert app.config is not None and app.config.num_layers == 2


async def test_task_options_follow_the_task():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await engine_ready(pilot, app)
        await form_ready(pilot, app)
        await wait_for(pilot, lambda: bool(app.form.query("#row-loss")), 5, "binary-addition's options")  # binary-addition's own option
        app.form.query_one("#f-task").value = "adding"
        await wait_for(pilot, lambda: bool(app.form.query("#row-seq_len_min")), 5, "adding's options")
        assert app.form.query_one("#row-seq_len_min").display
        assert not app.form.query_one("#row-loss").display  # binary-addition's option is hidden
        assert app.config.task == "adding"
        assert "Adding problem" in str(app.form.query_one("#options-title").render())


async def test_task_level_problem_is_rejected_on_the_field():
    app = make_app(tiny(task="adding", seq_len=1, eval_lengths=[]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: any(sev == "error" for sev, _ in app.notes), 10, "the rejection")
        await form_ready(pilot, app)
        await pilot.pause()
        assert app.lab.current is None and app.lab.records == []
        assert "at least 2 steps" in app.query_one("#row-seq_len", FieldRow).error
        assert not app.form.disabled


# ------------------------------------------------------------ run control
async def test_pause_resume_and_stop():
    app = make_app(tiny(steps=100_000, eval_every=100_000, log_every=1))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.lab.current is not None and app.lab.current.step > 0, 30, "training to begin")
        await pilot.press("p")
        await wait_for(pilot, lambda: app.lab.current.status == "paused", 2, "paused status")
        await pilot.pause(0.4)  # the buffer is flushed as the trainer blocks
        paused_at = app.lab.current.step
        await pilot.pause(0.6)
        assert app.lab.current.step == paused_at, "the step advanced while paused"
        assert "paused" in app.query_one("#status").plain
        await pilot.press("p")
        await wait_for(pilot, lambda: app.lab.current.step > paused_at, 5, "training to resume")
        assert app.lab.current.status == "running"

        await pilot.press("t")
        await finish(pilot, app)
        record = app.lab.current
        assert record.status == "stopped" and 0 < record.step < 100_000
        assert "stopped" in app.query_one("#status").plain
        assert app.query_one("#loss-plot", MetricPlot).point_count > 0  # the run stays on screen
        await pilot.press("r")
        await pilot.pause()
        assert app.lab.current is None and app.lab.records == [record]
        assert app.query_one("#loss-plot", MetricPlot).point_count == 0


async def test_quit_mid_run_stops_the_training_thread(monkeypatch):
    """Quitting mid-run cancels the run: its thread ends long before its 100,000
    steps (how fast is measured by bench/ui.py, not asserted here)."""
    ended = threading.Event()
    real = app_module.run_training

    def tracked(job):
        try:
            return real(job)
        finally:
            ended.set()

    monkeypatch.setattr(app_module, "run_training", tracked)
    app = make_app(tiny(steps=100_000, eval_every=100_000, log_every=10))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.lab.current is not None and app.lab.current.step > 0, 30, "training to begin")
        await pilot.press("q")  # a run is on: it asks first
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the question")
        assert "A run is in progress" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("y")
    assert await asyncio.to_thread(ended.wait, 60), "the training thread did not end"
    assert app.lab.control.cancelled
    assert app.lab.current.step < 100_000


async def test_worker_error_shows_a_notice(monkeypatch):
    def boom(job):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(app_module, "run_training", boom)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        # (not workers.wait_for_complete(): it raises WorkerFailed for a worker that raised, as this one does)
        await wait_for(pilot, lambda: app.lab.current is not None and app.lab.current.status == "failed", 10,
                       "the failure")
        assert any(sev == "error" and "simulated crash" in msg for sev, msg in app.notes)
        assert "failed" in app.query_one("#status").plain
        assert not app.form.disabled


async def test_an_earlier_runs_worker_does_not_touch_the_new_run(monkeypatch):
    """A new Start cancels the previous worker (exclusive) while its thread may still be
    ending: its state changes (cancelled, then maybe an error) belong to the old run."""
    release = [threading.Event(), threading.Event()]
    calls = []

    def fake(job):
        index = len(calls)
        calls.append(job.run_id)
        release[index].wait(10)
        raise RuntimeError(f"late failure of {job.run_id}")

    monkeypatch.setattr(app_module, "run_training", fake)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await form_ready(pilot, app)
        await pilot.pause(0.2)
        await pilot.press("s")
        await wait_for(pilot, lambda: len(calls) == 1, 5, "the first worker")
        first = app.lab.current
        first.status = "stopped"  # as if its RunFinished had arrived; its thread is still ending
        await pilot.press("s")
        await wait_for(pilot, lambda: len(calls) == 2, 5, "the second worker")
        second = app.lab.current
        assert second is not first
        await pilot.pause(0.3)  # the first worker's CANCELLED has been handled by now
        assert app.form.disabled and second.status == "ready"
        release[0].set()  # the first thread ends with an error
        await pilot.pause(0.5)
        assert app.form.disabled and second.status == "ready" and not second.reason
        assert not any("late failure" in msg for sev, msg in app.notes if sev == "error")
        release[1].set()  # the current run's worker fails: that one is reported
        await wait_for(pilot, lambda: second.status == "failed", 5, "the second run's failure")
        assert calls[1] in second.reason and not app.form.disabled


# ------------------------------------------------------------- navigation
async def test_listeners_palette_and_plot_toggles():
    app = make_app()
    batches: list[list] = []
    app.lab.add_event_listener(batches.append)
    async with app.run_test(size=SIZE) as pilot:
        await engine_ready(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Start run")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await finish(pilot, app)
        kinds = [type(e).__name__ for batch in batches for e in batch]
        assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished"
        assert len(batches) < kinds.count("StepMetrics")  # batched, not one message per step
        plot = app.query_one("#loss-plot", MetricPlot)
        await pilot.press("l", "m")
        assert plot.log_y and plot.smooth and "log" in plot.border_subtitle
        metric = app.query_one("#metric-plot", MetricPlot)
        first = metric.title
        await pilot.press("n")
        await pilot.pause()
        assert first.startswith("exact") and metric.title.startswith("bit accuracy")
        assert [ref.y for ref in metric.refs] == [0.5]  # bit_acc's trivial baseline is drawn
        assert metric.point_count >= 3


async def test_help_screen_and_missing_screens():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        assert app._push_optional("rnntui.app.screens.no_such_screen", "Nope", "Nope") is None
        assert any(sev == "warning" and "Nope is not available" in msg for sev, msg in app.notes)


async def test_small_terminal_and_resize():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.has_class("-narrow")
        for wid in ("#left", "#loss-plot", "#samples", "#log", "#status"):
            region = app.query_one(wid).region
            assert region.width > 0 and region.height > 0, wid
            assert region.right <= 80 and region.bottom <= 24, wid
        assert app.query_one("#metric-plot").region.width == 0  # one plot at a time
        await pilot.press("g")
        await pilot.pause()
        assert app.query_one("#metric-plot").region.width > 0
        await pilot.resize_terminal(130, 40)
        await pilot.pause()
        assert screen.has_class("-wide")
        assert app.query_one("#loss-plot").region.width > 0 and app.query_one("#metric-plot").region.width > 0


def test_app_module_imports_without_torch():
    code = "import sys, rnntui.app.app; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
