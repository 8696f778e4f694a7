"""Compare and Experiment views, driven by the Pilot (tiny runs, in-process)."""

from __future__ import annotations

import csv
import importlib.util
import json
import threading
from pathlib import Path

import pytest


from textual.widgets import DataTable, Input

from rnntui.app.app import create_app
from rnntui.app.screens.compare import CompareScreen, config_diff
from rnntui.app.screens.experiment import ExperimentScreen, parse_grid
from rnntui.app.screens.run_browser import RunBrowser
from rnntui.app.widgets.metric_plot import MetricPlot
from rnntui.config.request import Request
from rnntui.config import ConfigError, build_config
from rnntui.engine.events import EvalMetrics, RunFinished, RunStarted, StepMetrics
from rnntui.engine.experiment.runner import available_cores
from rnntui.engine.record import RunRecord
from rnntui.engine.rundir import RunWriter

from conftest import wait_for

SIZE = (120, 36)
TINY = dict(task="binary-addition", cell="gru", hidden_size=4, batch_size=8, seq_len=4, steps=6,
            eval_every=3, eval_size=32, n_samples=0, lr=0.01, seed=0, log_every=1)


def fake_record(run_id: str, cell: str, hidden: int, acc: list[float], **config) -> RunRecord:
    cfg = build_config(TINY, {"cell": cell, "hidden_size": hidden, **config}).to_dict()
    record = RunRecord(run_id, cfg, status="finished", params=10 * hidden, total_steps=30, step=30,
                       baseline={"bit_acc": 0.5})
    record.steps = [{"step": s, "epoch": 0, "loss": 1.0 / s, "grad_norm": 1.0} for s in range(1, 31)]
    record.evals = [{"step": 10 * (i + 1), "epoch": 0, "metrics": {"val_loss": 1 - a, "bit_acc": a}}
                    for i, a in enumerate(acc)]
    record.final = dict(record.evals[-1]["metrics"])
    return record


def write_run_dir(path: Path, cell: str = "lstm", acc: float = 0.75) -> Path:
    """A run directory as a headless run leaves it (written through RunWriter)."""
    cfg = build_config(TINY, {"cell": cell})
    writer = RunWriter(path, cfg)
    writer(RunStarted("disk1", config=cfg.to_dict(), params=123, device="cpu", input_size=2, output_size=1,
                      total_steps=6))
    for step in range(1, 7):
        writer(StepMetrics("disk1", step=step, epoch=0, loss=0.7 / step, grad_norm=1.0, lr=0.01, elapsed_s=0.1,
                           steps_per_s=50.0))
    writer(EvalMetrics("disk1", step=6, epoch=0, metrics={"val_loss": 0.3, "bit_acc": acc}))
    writer(RunFinished("disk1", step=6, final={"val_loss": 0.3, "bit_acc": acc}, wall_time_s=0.5))
    writer.close()
    return path


def make_app(tmp_path: Path, request: Request | None = None, **kw):
    return create_app(request or Request(build_config(TINY)), runs_root=tmp_path / "runs", **kw)



def plot_lines(screen, selector: str):
    return screen.query_one(selector, MetricPlot).lines


# ------------------------------------------------------------------ compare
async def test_compare_overlays_selected_runs_with_stable_colours_and_a_config_diff(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    a = fake_record("run-a", "gru", 4, [0.6, 0.7, 0.8])
    b = fake_record("run-b", "lstm", 8, [0.5, 0.9, 0.95])
    c = fake_record("run-c", "gru", 4, [0.4, 0.45, 0.5], lr=0.05)
    async with app.run_test(size=SIZE) as pilot:
        app.lab.records.extend([a, b, c])
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        table = screen.query_one("#cmp-runs", DataTable)
        assert table.row_count == 3
        assert not plot_lines(screen, "#cmp-plot")

        await pilot.press("space")          # run-a
        await pilot.press("down", "space")  # run-b
        await pilot.pause()
        lines = plot_lines(screen, "#cmp-plot")
        # the legend names what sets each run apart, not its id
        assert [line.label for line in lines] == ["cell=gru hidden_size=4", "cell=lstm hidden_size=8"]
        colour_a, colour_b = lines[0].color, lines[1].color
        assert colour_a != colour_b
        assert lines[0].ys == [1.0 / s for s in range(1, 31)]  # training loss first

        # the diff names exactly the settings that differ
        assert config_diff([a, b]) == ["cell", "hidden_size"]
        diff_text = _plain(screen.diff_view)
        assert "cell" in diff_text and "hidden_size" in diff_text and "lstm" in diff_text and "lr" not in diff_text

        await pilot.press("n")  # next series: the task's metric, from the evaluations
        await pilot.pause()
        lines = plot_lines(screen, "#cmp-plot")
        assert screen.query_one("#cmp-plot", MetricPlot).title.startswith("bit_acc")
        assert lines[1].ys == [0.5, 0.9, 0.95] and lines[1].xs == [10, 20, 30]

        # deselect a, select c: b keeps its colour, c gets a new one
        await pilot.press("up", "space", "down", "down", "space")
        await pilot.pause()
        lines = plot_lines(screen, "#cmp-plot")
        assert [line.label for line in lines] == ["cell=lstm hidden_size=8 lr=0.01", "cell=gru hidden_size=4 lr=0.05"]
        assert lines[0].color == colour_b and lines[1].color not in (colour_b,)
        assert config_diff([b, c]) == ["cell", "hidden_size", "lr"]

        await pilot.press("e")
        await pilot.pause()
        csv_path, json_path = screen.last_export
        rows = list(csv.DictReader(csv_path.open()))
        assert [r["run_id"] for r in rows] == ["run-b", "run-c"]
        assert rows[0]["cell"] == "lstm" and float(rows[1]["lr"]) == 0.05
        assert float(rows[0]["bit_acc"]) == pytest.approx(0.95)
        data = json.loads(json_path.read_text())
        assert [r["run_id"] for r in data["runs"]] == ["run-b", "run-c"]
        assert data["runs"][0]["evals"][-1]["metrics"]["bit_acc"] == 0.95

        # the selection and the colours outlive the screen
        await pilot.press("escape")
        await pilot.press("c")
        await pilot.pause()
        lines = plot_lines(app.screen, "#cmp-plot")
        assert [line.label.split()[0] for line in lines] == ["cell=lstm", "cell=gru"] and lines[0].color == colour_b


async def test_compare_loads_run_directories_from_disk(tmp_path: Path) -> None:
    run_dir = write_run_dir(tmp_path / "saved-run")
    exp_dir = tmp_path / "exp"
    write_run_dir(exp_dir / "p00-t0", "rnn", 0.6)
    write_run_dir(exp_dir / "p00-t1", "rnn", 0.7)
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.lab.records.append(fake_record("run-a", "gru", 4, [0.6]))
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        await pilot.press("o")  # the chooser: nothing saved under runs/ yet, so the path field has the focus
        await pilot.pause()
        assert isinstance(app.screen, RunBrowser) and isinstance(app.focused, Input)
        await pilot.press(*str(run_dir), "enter")
        await pilot.pause()
        assert app.screen is screen
        table = screen.query_one("#cmp-runs", DataTable)
        assert table.row_count == 2
        loaded = app.lab.compare.loaded
        assert [r.path for r in loaded] == [str(run_dir)]
        lines = plot_lines(screen, "#cmp-plot")
        assert [line.label for line in lines] == ["disk1"]  # a loaded run is selected at once
        assert lines[0].ys == pytest.approx([0.7 / s for s in range(1, 7)])

        screen.load(str(run_dir))  # already listed: not twice
        screen.load(str(exp_dir))  # an experiment directory: all its runs
        screen.load(str(tmp_path / "nowhere"))
        await pilot.pause()
        assert table.row_count == 4
        assert [r.config["cell"] for r in app.lab.compare.loaded] == ["lstm", "rnn", "rnn"]
        assert any("does not exist" in n.message for n in app._notifications)


# --------------------------------------------------------------- experiment
def test_grid_text_parses_and_rejects_bad_input() -> None:
    assert parse_grid("cell=rnn,lstm hidden_size=[8,16]") == {"cell": ["rnn", "lstm"], "hidden_size": [8, 16]}
    assert parse_grid("bidirectional=false,true; lr=0.01") == {"bidirectional": [False, True], "lr": [0.01]}
    with pytest.raises(ConfigError, match="grid"):
        parse_grid("cell")
    with pytest.raises(ConfigError, match="hidden_size"):
        parse_grid("hidden_size=8,big")
    with pytest.raises(ConfigError, match="unknown setting"):
        parse_grid("hiden_size=8")


async def test_experiment_view_fills_the_table_live_and_shows_each_point(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ExperimentScreen, "process_workers", 0)  # runs in the UI's worker thread: no process start-up
    request = Request(build_config(TINY), grid={"hidden_size": [3, 6]}, trials=2)
    app = make_app(tmp_path, request, start=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentScreen), 10, "the experiment screen")
        screen = app.screen
        session = app.lab.experiment
        await wait_for(pilot, lambda: session.experiment is not None and not session.running, 60, "the experiment")
        await pilot.pause(0.6)  # one refresh tick
        assert screen.query_one("#exp-grid", Input).value == "hidden_size=3,6"
        table = screen.query_one("#exp-table", DataTable)
        assert table.row_count == 2
        first = [str(c) for c in table.get_row_at(0)]
        assert first[0] == "3" and "2/2" in first and "done" in first
        assert any("±" in c for c in first)  # mean ± stderr cells
        assert "4 finished of 4 runs" in screen.title_text.plain and "done" in screen.title_text.plain

        rows = list(csv.DictReader((session.experiment.out_dir / "results.csv").open()))
        assert [r["hidden_size"] for r in rows] == ["3", "6"] and rows[1]["finished"] == "2"
        means = session.rows()[1].metrics["bit_acc"]
        assert float(rows[1]["bit_acc_mean"]) == pytest.approx(means.mean)

        # the runs joined the session's records, with their full curves
        runs = [r for r in app.lab.records if r.run_id in session.records]
        assert len(runs) == 4 and all(r.status == "finished" and len(r.steps) == 6 for r in runs)

        # every grid point at once: its trials' mean with a ± standard-error band, one colour each
        lines = plot_lines(screen, "#exp-plot")
        assert [line.label for line in lines] == ["hidden_size=3 (n=2)", "hidden_size=6 (n=2)"]
        assert lines[0].color != lines[1].color and lines[0].band is not None
        series = screen.query_one("#exp-plot", MetricPlot).title.split(" · ")[0]
        (xs0, ys0), (xs1, ys1) = (r.series(series) for r in session.point_records(1))
        assert xs0 == xs1 and lines[1].xs == xs0
        assert lines[1].ys == pytest.approx([(a + b) / 2 for a, b in zip(ys0, ys1)])
        # the band is mean ± s/sqrt(n), s with n - 1 = 1: |a - b| / 2 either side
        assert lines[1].band[1] == pytest.approx([(a + b) / 2 + abs(a - b) / 2 for a, b in zip(ys0, ys1)])

        # a: the highlighted point's trials; moving the cursor changes the point
        table.focus()
        await pilot.press("a", "down")
        await pilot.pause()
        lines = plot_lines(screen, "#exp-plot")
        assert [line.label for line in lines] == ["trial 0 (seed 0)", "trial 1 (seed 1)"]
        assert "hidden_size=6" in screen.query_one("#exp-plot", MetricPlot).title
        series = screen.query_one("#exp-plot", MetricPlot).title.split(" · ")[0]
        assert lines[1].ys == session.point_records(1)[1].series(series)[1] and lines[1].ys

        if importlib.util.find_spec("matplotlib"):  # w: the experiment's figure, in its directory
            await pilot.press("w")
            await wait_for(pilot, lambda: screen.last_figure is not None, 60, "the figure")
            assert screen.last_figure.parent == session.experiment.out_dir and screen.last_figure.is_file()

        await pilot.press("enter")  # the point's runs in Compare
        await pilot.pause()
        assert isinstance(app.screen, CompareScreen)
        # two trials of one setting: one mean ± se band; b draws them one by one, named by their seed
        lines = plot_lines(app.screen, "#cmp-plot")
        assert [line.label for line in lines] == ["2 seeds"] and lines[0].band is not None
        await pilot.press("b")
        await pilot.pause()
        assert [line.label for line in plot_lines(app.screen, "#cmp-plot")] == ["seed=0", "seed=1"]
        assert app.lab.compare.grouped is False


@pytest.mark.slow
async def test_experiment_from_the_form_with_a_typed_grid_and_stop(tmp_path: Path) -> None:
    """In worker processes, as a user gets it (under Textual, whose stderr has no file
    descriptor: spawning used to fail there)."""
    app = make_app(tmp_path, Request(build_config(TINY, {"steps": 100_000, "eval_every": 50_000})))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ExperimentScreen)
        session = app.lab.experiment
        grid = screen.query_one("#exp-grid", Input)
        grid.value = "hidden_size=3,5 cell=rnn,gru"
        screen.query_one("#exp-trials", Input).value = "1"
        grid.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: session.running, 10, "the start")
        assert session.experiment.total == 4 and session.experiment.name == "binary-addition-grid"
        assert session.runner.workers == min(available_cores(), 4)
        await wait_for(pilot, lambda: any(r.step > 0 for r in session.records.values()), 60, "a run to start")
        await pilot.press("t")
        await wait_for(pilot, lambda: not session.running, 30, "the stop")
        await pilot.pause(0.6)
        statuses = sorted(o.status for o in session.outcomes.values())
        assert len(statuses) == 4 and "stopped" in statuses and "cancelled" in statuses
        assert all(r.status == "stopped" for r in session.records.values())
        assert "stopped" in screen.title_text.plain

        screen.query_one("#exp-grid", Input).value = "hidden_size=3,x"
        screen.action_start()  # a bad grid: a notice, nothing starts
        await pilot.pause()
        assert not session.running and session.experiment.total == 4


async def test_experiment_task_level_problem_is_rejected_after_the_start(tmp_path: Path, monkeypatch) -> None:
    """Building each point's task (torch, data) runs in the session's worker, not on the
    UI thread; a point it refuses rejects the experiment with a notice, nothing written."""
    import rnntui.engine.trainer as trainer_module

    monkeypatch.setattr(ExperimentScreen, "process_workers", 0)
    checked, real_check = [], trainer_module.check_runnable

    def check(cfg):
        checked.append(threading.current_thread() is threading.main_thread())
        real_check(cfg)

    monkeypatch.setattr(trainer_module, "check_runnable", check)
    app = make_app(tmp_path, Request(build_config(TINY, {"task": "adding", "eval_lengths": []})))
    notes: list[tuple[str, str]] = []
    notify = app.notify

    def record_notice(message, **kw):
        notes.append((kw.get("severity", "information"), str(message)))
        notify(message, **kw)

    app.notify = record_notice  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ExperimentScreen)
        session = app.lab.experiment
        screen.query_one("#exp-grid", Input).value = "seq_len=4,1"
        screen.query_one("#exp-trials", Input).value = "1"
        screen.action_start()
        await wait_for(pilot, lambda: bool(session.rejected), 30, "the rejection")
        await pilot.pause(0.6)  # one refresh tick
        assert "at least 2 steps" in session.rejected and session.rejected.startswith("seq_len")
        assert checked and not any(checked)  # checked in the worker thread only
        assert any(sev == "error" and "at least 2 steps" in msg for sev, msg in notes)
        assert not session.running and session.experiment is None and session.records == {}
        assert app.lab.records == []
        assert "cannot start the experiment" in screen.title_text.plain
        assert screen.query_one("#exp-grid", Input).has_class("-invalid")
        assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def _plain(renderable) -> str:
    from rich.console import Console

    console = Console(width=100, record=True)
    console.print(renderable)
    return console.export_text()
