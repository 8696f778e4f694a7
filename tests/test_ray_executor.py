"""executor = "ray": the same experiment as Ray tasks, on one local Ray instance
shared by this module's tests (see conftest.local_ray)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from conftest import import_ray
from rnntui.cli.experiment import run_experiment_headless
from rnntui.config import build_config
from rnntui.engine.experiment.grid import Experiment
from rnntui.engine.experiment.runner import ExperimentRunner
from rnntui.engine.rundir import unpack_run_dir

import_ray()
from rnntui.engine.experiment import ray_worker  # noqa: E402 - needs ray

pytestmark = pytest.mark.slow  # Ray starts in seconds; the module's tests take minutes

TINY = dict(task="binary-addition", cell="gru", hidden_size=4, batch_size=8, seq_len=4, steps=6,
            eval_every=3, eval_size=32, n_samples=0, lr=0.01, seed=10, log_every=2)
VARIES = ("wall_time_s", "elapsed_s", "steps_per_s", "path", "run_id", "id", "executor")
"""What may differ between two executions of the same experiment: times, where, ids."""


def same_numbers(data):
    """``data`` less the fields in VARIES (recursively)."""
    if isinstance(data, dict):
        return {k: same_numbers(v) for k, v in data.items() if k not in VARIES}
    if isinstance(data, list):
        return [same_numbers(v) for v in data]
    return data


def run(out: Path, executor: str) -> tuple[Experiment, list, list]:
    base = build_config(TINY, {"executor": executor, "tensorboard": True})
    exp = Experiment.create(base, {"hidden_size": [3, 5]}, trials=2, out_dir=out)
    timeline: list[tuple[str, str, str]] = []
    runner = ExperimentRunner(exp, on_event=lambda e: timeline.append(("event", e.run_id, e.kind)), workers=0)
    outcomes = []
    for outcome in runner.run():
        timeline.append(("outcome", outcome.run_id, outcome.status))
        outcomes.append(outcome)
    return exp, outcomes, timeline


def test_ray_gives_the_local_numbers_bit_for_bit_and_the_files_come_back(local_ray, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    local, _, _ = run(tmp_path / "local", "local")
    remote, outcomes, timeline = run(tmp_path / "ray", "ray")
    assert sorted(o.status for o in outcomes) == ["finished"] * 4

    a = json.loads((local.out_dir / "results.json").read_text())
    b = json.loads((remote.out_dir / "results.json").read_text())
    assert b["base_config"]["executor"] == "ray" and b["runs_done"] == 4
    assert same_numbers(a) == same_numbers(b)  # exact equality of every float
    assert b["rows"][0]["metrics"]["bit_acc"]["n"] == 2

    for s_local, s_ray in zip(local.specs, remote.specs):
        d_local, d_ray = Path(s_local.out_dir), Path(s_ray.out_dir)
        assert sorted(p.name.split(".")[0] for p in d_ray.iterdir()) == \
            ["", "checkpoint", "config", "events", "metrics", "summary"]  # "": the .rnntui marker
        for name in ("checkpoint.pt", "config.toml", "metrics.jsonl", "summary.json"):  # as local runs leave them
            assert (d_ray / name).stat().st_mode == (d_local / name).stat().st_mode
        rows = [[same_numbers(json.loads(line)) for line in (d / "metrics.jsonl").read_text().splitlines()]
                for d in (d_local, d_ray)]
        assert rows[0] == rows[1] and len(rows[1]) == 5  # steps 2, 4, 6; evals 3, 6
        summaries = [same_numbers(json.loads((d / "summary.json").read_text())) for d in (d_local, d_ray)]
        assert summaries[0] == summaries[1]
        states = [torch.load(d / "checkpoint.pt", weights_only=True)["model"] for d in (d_local, d_ray)]
        assert states[0].keys() == states[1].keys()
        assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
        boards = []
        for d in (d_local, d_ray):
            acc = EventAccumulator(str(d))
            acc.Reload()
            boards.append({t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]})
        assert boards[0] == boards[1] and len(boards[1]["eval/bit_acc"]) == 2

    for spec in remote.specs:  # live: each run's events arrive while it trains, before its outcome
        kinds = [kind for what, rid, kind in timeline if rid == spec.run_id]
        assert kinds[0] == "started" and "eval" in kinds and kinds[-2:] == ["finished", "finished"]


def test_a_ray_task_writes_nothing_where_the_driver_keeps_the_run(tmp_path: Path) -> None:
    """The task trains in a scratch directory on its node and ships the files back
    with the outcome; only the driver writes into the experiment directory."""
    exp = Experiment.create(build_config(TINY), {}, trials=1, out_dir=tmp_path / "exp")
    spec = exp.specs[0]
    items = list(ray_worker.train_in_ray(spec))  # called directly: the same generator Ray runs
    *events, last = items
    assert all(set(item) == {"events"} for item in events)
    kinds = [e["event"] for item in events for e in item["events"]]
    assert kinds[0] == "started" and kinds[-1] == "finished" and "samples" not in kinds
    assert not Path(spec.out_dir).exists()
    assert last["outcome"].status == "finished" and last["outcome"].path == spec.out_dir
    assert sorted(last["files"]) == [".rnntui", "checkpoint.pt", "config.toml", "metrics.jsonl", "summary.json"]
    unpack_run_dir(last["files"], spec.out_dir)
    payload = torch.load(Path(spec.out_dir) / "checkpoint.pt", weights_only=True)
    assert payload["step"] == 6
    summary = json.loads((Path(spec.out_dir) / "summary.json").read_text())
    assert summary["final"] == last["outcome"].final
    with pytest.raises(ValueError, match="outside"):
        unpack_run_dir({"../escape.txt": (0o644, b"x")}, tmp_path / "exp" / "r")


@pytest.mark.parametrize("how", ["cancel", "abort"])
def test_stop_reaches_the_remote_runs(local_ray, tmp_path: Path, how: str) -> None:
    """Stop: running runs end at their next step (closing evaluation and checkpoint
    unless aborted); queued runs never start."""
    base = build_config(TINY, {"executor": "ray", "steps": 100000, "eval_every": 50000, "log_every": 1})
    exp = Experiment.create(base, {"hidden_size": [3, 4, 5, 6, 7]}, trials=1, out_dir=tmp_path)
    runner = ExperimentRunner(exp)
    runner.on_event = lambda e: getattr(runner, how)() if e.kind == "step" else None
    outcomes = list(runner.run())
    statuses = sorted(o.status for o in outcomes)
    assert runner.cancelled and runner.aborted == (how == "abort")
    assert len(outcomes) == 5 and "finished" not in statuses
    stopped = [o for o in outcomes if o.status == "stopped"]
    assert 1 <= len(stopped) <= 2  # 2 CPUs: at most two runs were training
    assert statuses.count("cancelled") == 5 - len(stopped)
    for o in stopped:
        assert 0 < o.step < 100000
        if how == "cancel":
            assert o.evals[-1]["step"] == o.step and o.final and (Path(o.path) / "checkpoint.pt").is_file()
        else:
            assert not o.evals and not o.final and not (Path(o.path) / "checkpoint.pt").exists()
        assert json.loads((Path(o.path) / "summary.json").read_text())["status"] == "stopped"
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["runs_done"] == 5


def test_a_lost_worker_is_retried_once_then_the_run_fails(local_ray, tmp_path: Path, monkeypatch, capsys) -> None:
    """Grid point 0's worker dies on its first try only: retried, it finishes.
    Point 1's dies every time: failed after one retry, with the reason; exit 1."""
    real = ray_worker.train_in_ray

    def dies(spec, flags=None, attempt=0):  # pickled by value into the Ray workers
        if attempt == 0 or spec.point == 1:
            os._exit(1)
        yield from real(spec, flags, attempt)

    monkeypatch.setattr(ray_worker, "train_in_ray", dies)
    base = build_config(TINY, {"executor": "ray"})
    request = SimpleNamespace(config=base, preset=None, grid={"hidden_size": [3, 5]}, trials=1)
    assert run_experiment_headless(request, out_dir=tmp_path, json_lines=True) == 1
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["event"] == "experiment_started" and lines[0]["executor"] == "ray" and lines[0]["workers"] == 2
    retried = [e for e in lines if e["event"] == "log" and e["level"] == "warning"]
    assert sorted(e["point"] for e in retried) == [0, 1]  # one retry each, no more
    assert all("worker lost (WorkerCrashedError" in e["message"] for e in retried)
    assert "trying the run again" in err

    data = json.loads((tmp_path / "results.json").read_text())
    good, bad = data["runs"]
    assert good["status"] == "finished" and good["final"]["bit_acc"] >= 0
    assert bad["status"] == "failed" and bad["reason"].startswith("worker lost on 2 tries: WorkerCrashedError")
    assert data["rows"][1]["reasons"] == [f"trial 0: {bad['reason']}"]
    summary = json.loads((Path(bad["path"]) / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["reason"] == bad["reason"]
    assert (Path(good["path"]) / "checkpoint.pt").is_file()
