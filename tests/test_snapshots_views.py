"""Snapshots of the Compare view (two saved runs) and of a finished experiment,
at 80×24 and 120×40 (pytest-textual-snapshot; ``--snapshot-update`` accepts new
pictures after a deliberate change).

Deterministic: the runs are directories written here with fixed values, nothing
trains, the engine is not loaded, and nothing shown depends on the temporary
paths or the clock."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("pytest_textual_snapshot")

from rnntui.app.app import RnnTuiApp
from rnntui.app.screens.compare import CompareScreen
from rnntui.app.screens.experiment import ExperimentScreen
from rnntui.app.widgets.metric_plot import MetricPlot
from rnntui.config import build_config
from rnntui.config.request import Request
from rnntui.engine.experiment.grid import Experiment
from rnntui.engine.experiment.results import RunOutcome
from rnntui.engine.saved_runs import load_runs
from rnntui.tasks.spec import task_specs

from conftest import SAVED_CONFIG, write_saved_run

SIZES = [(80, 24), (120, 40)]


class SnapshotApp(RnnTuiApp):
    """The lab without its background engine import (nothing here needs torch)."""

    def _start_preload(self) -> None:
        self.lab.task_infos = task_specs()


def make_app(tmp_path: Path) -> SnapshotApp:
    app = SnapshotApp(Request(build_config(SAVED_CONFIG)), runs_root=tmp_path / "runs")
    app.lab.task_infos = task_specs()
    return app


async def settle(pilot, selector: str) -> None:
    """Wait until the plot shows the frame for its current data (built off the UI thread)."""
    plot = pilot.app.screen.query_one(selector, MetricPlot)
    deadline = time.monotonic() + 30
    while not (plot.settled and plot.renders):
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector} never settled")
        await pilot.pause(0.05)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_two_saved_runs(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    gru = write_saved_run(tmp_path / "gru", "5f3a9c21", rate=2.0, cell="gru")
    lstm = write_saved_run(tmp_path / "lstm", "b7e04d18", rate=1.0, cell="lstm")
    app = make_app(tmp_path)

    async def run_before(pilot) -> None:
        state = app.lab.compare
        state.loaded.extend(load_runs(gru) + load_runs(lstm))
        for record in state.loaded:
            state.selected.append(id(record))
            state.colour(record)
        app.push_screen(CompareScreen(app.lab))
        await pilot.pause()
        assert isinstance(app.screen, CompareScreen)
        await settle(pilot, "#cmp-plot")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def finished_experiment(app: SnapshotApp, tmp_path: Path) -> None:
    """Put a finished 2-point × 2-trial experiment (cell rnn/gru) into the lab session."""
    session = app.lab.experiment
    exp = Experiment.create(build_config(SAVED_CONFIG), {"cell": ["rnn", "gru"]}, 2, Path("runs/cells-demo"),
                            "cells-demo", check=False)
    for spec in exp.specs:
        rate = (1.0 if spec.config["cell"] == "rnn" else 2.0) * (1 + 0.1 * spec.trial)
        path = write_saved_run(tmp_path / spec.run_id, spec.run_id, rate=rate, cell=spec.config["cell"],
                               seed=spec.seed)
        (record,) = load_runs(path)
        session.records[spec.run_id] = record
        session.outcomes[spec.run_id] = RunOutcome(
            spec.run_id, spec.point, spec.trial, spec.seed, "finished", final=dict(record.final),
            wall_time_s=1.5 + 0.5 * spec.point, params=record.params, step=record.step, path=str(path))
    session.experiment = exp
    session.started_at, session.ended_at = 100.0, 182.0
    app.lab.records.extend(session.records.values())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_experiment_done(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    app = make_app(tmp_path)

    async def run_before(pilot) -> None:
        finished_experiment(app, tmp_path)
        app.push_screen(ExperimentScreen(app.lab))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ExperimentScreen)
        assert "4 finished of 4 runs" in screen.title_text.plain and "done" in screen.title_text.plain
        await settle(pilot, "#exp-plot")

    assert snap_compare(app, terminal_size=size, run_before=run_before)
