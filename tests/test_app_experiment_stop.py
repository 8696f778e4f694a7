"""Stopping an experiment in the TUI: it answers at once, finished trials keep
their results and the statistics use them, the rows say how each point stands;
and no semaphores are left for multiprocessing's resource tracker at exit."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from rnntui.app.app import create_app
from rnntui.app import experiment_view as view
from rnntui.app.screens.experiment import ExperimentScreen
from rnntui.config import build_config
from rnntui.config.request import Request
import rnntui.engine.experiment.runner as runner_module

from conftest import wait_for

TINY = dict(task="binary-addition", cell="gru", hidden_size=4, batch_size=8, seq_len=4, steps=6,
            eval_every=3, eval_size=32, n_samples=0, lr=0.01, seed=0, log_every=1)



async def test_stop_answers_at_once_and_keeps_the_finished_trials(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ExperimentScreen, "process_workers", 0)  # in the UI's worker thread
    real_run_spec = runner_module.run_spec
    calls: list[str] = []

    def run_spec(spec, *args, **kw):  # the second run trains until it is stopped
        calls.append(spec.run_id)
        if len(calls) == 2:
            spec = dataclasses.replace(spec, config={**spec.config, "steps": 1_000_000, "eval_every": 500_000})
        return real_run_spec(spec, *args, **kw)

    monkeypatch.setattr(runner_module, "run_spec", run_spec)
    request = Request(build_config(TINY), grid={"hidden_size": [3, 6]}, trials=2)
    app = create_app(request, start=True, runs_root=tmp_path / "runs")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentScreen), 10, "the experiment screen")
        screen, session = app.screen, app.lab.experiment
        await wait_for(pilot, lambda: len(calls) == 2 and session.records[calls[1]].step > 0, 60, "the second run")
        await pilot.pause(0.6)
        first, second = calls
        # while the second run trains: its point is running, the other one queued (not "pending")
        states = {row.point.index: view.row_state(session, row) for row in session.rows()}
        point_of = {s.run_id: s.point for s in session.experiment.specs}
        assert states[point_of[second]] == "running 1/2" and states[1 - point_of[second]] == "queued"
        assert "1 finished · 1 running of 4 runs" in screen.title_text.plain

        screen.action_stop()  # the title says so before any run has noticed
        assert "stopping…" in screen.title_text.plain and session.stopping
        assert str(screen.query_one("#exp-start").label) == "Stopping…"
        await wait_for(pilot, lambda: not session.running, 60, "the stop")
        await pilot.pause(0.6)

        statuses = {rid: o.status for rid, o in session.outcomes.items()}
        assert statuses[first] == "finished" and statuses[second] == "stopped"
        assert sorted(statuses.values()) == ["cancelled", "cancelled", "finished", "stopped"]
        title = screen.title_text.plain
        assert "1 finished · 1 stopped · 2 not run of 4 runs" in title and title.rstrip().count("stopped") >= 1
        assert "· stopped" in title and "100" not in str(screen.query_one("#exp-progress").percentage)
        assert screen.query_one("#exp-progress").progress == 2  # the runs that trained

        # the finished trial's results are kept and are the point's statistics
        rows = {row.point.index: row for row in session.rows()}
        point = point_of[first]
        finished = session.outcomes[first].final
        assert rows[point].finished == 1 and rows[point].metrics["exact"].mean == finished["exact"]
        assert view.metric_cell(session, rows[point], "exact") == (rows[point].metrics["exact"].format(3), False)
        assert view.row_state(session, rows[point]) == "1 done · 1 stopped"
        other = rows[1 - point]
        assert view.row_state(session, other) == "2 not run" and view.metric_cell(session, other, "exact") == ("–", False)
        table = [str(c) for c in screen.query_one("#exp-table").get_row_at(list(rows).index(point))]
        assert "1 done · 1 stopped" in table


@pytest.mark.slow
def test_runner_leaves_no_semaphores_when_the_process_ends_with_os_exit(tmp_path: Path) -> None:
    """The TUI ends its process with os._exit (no atexit): the runner's process-shared
    flags used to stay registered with the resource tracker, which then warned about
    "leaked semaphore objects" at quit.  The tracker writes to the inherited stderr."""
    script = f"""
import os, sys
from rnntui.config import build_config
from rnntui.engine.experiment.grid import Experiment
from rnntui.engine.experiment.runner import ExperimentRunner

if __name__ == "__main__":
    exp = Experiment.create(build_config({TINY!r}), {{"hidden_size": [3]}}, 1, {str(tmp_path / "exp")!r},
                            check=False)
    runner = ExperimentRunner(exp, workers=1, quiet=True)
    print([o.status for o in runner.run()], flush=True)
    sys.stderr.flush()
    os._exit(0)
"""
    path = tmp_path / "exit_fast.py"
    path.write_text(script)
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip() == "['finished']", result.stderr
    assert "leaked" not in result.stderr and "resource_tracker" not in result.stderr, result.stderr


async def test_closing_the_app_shuts_a_running_experiment_down(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ExperimentScreen, "process_workers", 0)
    request = Request(build_config(TINY, {"steps": 1_000_000, "eval_every": 500_000}), grid={"hidden_size": [3]},
                      trials=2)
    app = create_app(request, start=True, runs_root=tmp_path / "runs")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentScreen), 10, "the experiment screen")
        session = app.lab.experiment
        await wait_for(pilot, lambda: any(r.step > 0 for r in session.records.values()), 60, "a run to start")
    # the app's unmount aborted the experiment and waited for its thread: nothing is left training
    assert session.shutdown(timeout=0) and session.runner.aborted
    assert sorted(o.status for o in session.experiment.outcomes.values()) == ["cancelled", "stopped"]
