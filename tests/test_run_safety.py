"""Nothing lost or mixed: run directories are claimed and locked, writes survive a
full disk, signals and closed pipes stop runs cleanly, resumed histories read like
uninterrupted ones, and what is read back from a run directory is checked."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnntui.cli.main import main
from rnntui.config import ConfigError, build_config
from rnntui.engine import files
from rnntui.engine.checkpoint import load_checkpoint
from rnntui.engine.control import RunControl
from rnntui.engine.dirclaim import MARKER, RESERVE
from rnntui.engine.events import StepMetrics
from rnntui.engine.launch import open_run
from rnntui.engine.record import RunRecord
from rnntui.engine.rundir import RunDirError, RunWriter

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--preset", "smoke", "--set", "steps=20", "--set", "eval_every=10", "--set", "eval_size=32"]
BASE = dict(task="adding", cell="gru", hidden_size=6, batch_size=8, seq_len=8, eval_size=16, seed=2)


def cfg(**changes):
    return build_config(BASE, changes)


# ------------------------------------------------------------ 1. one run per directory
def test_a_directory_in_use_is_refused(tmp_path) -> None:
    first = RunWriter(tmp_path / "run", cfg())
    try:
        with pytest.raises(ConfigError, match=r"out: .* is in use by another rnntui run \(pid \d+\)"):
            RunWriter(tmp_path / "run", cfg())
    finally:
        first.close()
    RunWriter(tmp_path / "run", cfg()).close()  # free again once the first run closed it


@pytest.mark.slow
def test_two_processes_with_the_same_out_one_is_refused(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "rnntui", "--headless", *FAST, "--set", "steps=200", "--out", str(tmp_path / "same")]
    procs = [subprocess.Popen(argv, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = sorted((p.wait(timeout=300), p.stderr.read()) for p in procs)
    assert [code for code, _ in results] == [0, 2], results
    assert "is in use by another rnntui run" in results[1][1]
    summary = json.loads((tmp_path / "same" / "summary.json").read_text())
    rows = [json.loads(line) for line in (tmp_path / "same" / "metrics.jsonl").read_text().splitlines()]
    assert summary["status"] == "finished" and {r["run_id"] for r in rows} == {summary["run_id"]}


def test_foreign_files_are_refused_unless_overwrite(tmp_path, capsys) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "config.toml").write_text("my own = 1\n")
    assert main(["--headless", *FAST, "--out", str(out)]) == 2
    assert "holds files rnntui did not write (config.toml)" in capsys.readouterr().err
    assert (out / "config.toml").read_text() == "my own = 1\n" and sorted(os.listdir(out)) == ["config.toml"]
    (out / "notes.txt").write_text("keep me")
    assert main(["--headless", *FAST, "--out", str(out), "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "keep me" and (out / MARKER).is_file()
    assert main(["--headless", *FAST, "--out", str(out)]) == 0  # now rnntui's: reused


def test_a_reused_directory_keeps_no_file_of_the_previous_run(tmp_path) -> None:
    out = tmp_path / "run"
    assert main(["--headless", *FAST, "--out", str(out)]) == 0
    writer = RunWriter(out, cfg())  # a second run claims it
    try:
        assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, RESERVE, "config.toml", "metrics.jsonl"])
    finally:
        writer.close()


def test_orphan_temporary_files_are_removed_on_the_next_start(tmp_path) -> None:
    out = tmp_path / "run"
    assert main(["--headless", *FAST, "--out", str(out)]) == 0
    (out / "checkpoint.pt.x1y2z3.tmp").write_bytes(b"half a checkpoint")  # a run killed mid-save
    (out / "summary.json.abc.tmp").write_bytes(b"")
    (out / "user.tmp").write_text("not ours")
    RunWriter(out, cfg()).close()
    names = set(os.listdir(out))
    assert "checkpoint.pt.x1y2z3.tmp" not in names and "summary.json.abc.tmp" not in names
    assert "user.tmp" in names


# ------------------------------------------------------------ 4. a full disk
@pytest.fixture
def disk_full_after(monkeypatch):
    """Make writes to files whose name contains ``name`` fail with ENOSPC once
    ``budget`` bytes have been written to them (the first write that crosses the
    budget writes what fits, as a real disk does)."""

    def install(name: str, budget: int) -> None:
        left = [budget]
        write, pwrite = os.write, os.pwrite

        def target(fd: int) -> bool:
            try:
                return name in os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                return False

        def limited(real, fd, data, *rest):
            if not target(fd):
                return real(fd, data, *rest)
            if left[0] <= 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            n = real(fd, bytes(data[:left[0]]), *rest)
            left[0] -= n
            return n

        monkeypatch.setattr(files.os, "write", lambda fd, data: limited(write, fd, data))
        monkeypatch.setattr(files.os, "pwrite", lambda fd, data, at: limited(pwrite, fd, data, at))

    return install


def test_metrics_filling_the_disk_keep_whole_lines_and_a_summary(tmp_path, capsys, disk_full_after) -> None:
    disk_full_after("metrics.jsonl", 1500)
    out = tmp_path / "run"
    code = main(["--headless", "--preset", "smoke", "--set", "steps=200", "--set", "log_every=1",
                 "--set", "eval_every=50", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert f"no space left on {out / 'metrics.jsonl'}" in err
    text = (out / "metrics.jsonl").read_text()
    assert text.endswith("\n") and 0 < len(text) <= 1500
    rows = [json.loads(line) for line in text.splitlines()]  # every line whole
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["reason"] == f"no space left on {out / 'metrics.jsonl'}"
    assert rows[-1]["step"] <= summary["steps"]
    assert not [p for p in os.listdir(out) if p.endswith(".tmp") or p == RESERVE]
    assert all((out / p).stat().st_size > 0 for p in os.listdir(out))


def test_a_checkpoint_that_does_not_fit_fails_the_run_cleanly(tmp_path, capsys, disk_full_after) -> None:
    disk_full_after("checkpoint.pt", 100)
    out = tmp_path / "run"
    assert main(["--headless", *FAST, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "FAILED at step 20: no space left on" in err and "Traceback" not in err
    assert json.loads((out / "summary.json").read_text())["status"] == "failed"
    assert sorted(os.listdir(out)) == [MARKER, "config.toml", "metrics.jsonl", "summary.json"]


def test_a_full_disk_before_training_leaves_nothing(tmp_path, capsys, disk_full_after) -> None:
    disk_full_after("config.toml", 0)
    assert main(["--headless", *FAST, "--out", str(tmp_path / "run")]) == 2
    assert "out: no space left on" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_summary_is_written_from_the_reserve(tmp_path, monkeypatch) -> None:
    """When the summary's own write hits a full disk, the reserve is given up and
    the summary written; only when even that fails does it stay unwritten."""
    writer = RunWriter(tmp_path / "run", cfg())
    real = files.write_atomic
    calls = []

    def full_once(path, data, **kw):
        calls.append(Path(path).name)
        if len(calls) == 1:
            raise files.NoSpace(path)
        assert not (tmp_path / "run" / RESERVE).exists()
        return real(path, data, **kw)

    monkeypatch.setattr("rnntui.engine.rundir.write_atomic", full_once)
    from rnntui.engine.events import RunFinished

    writer(RunFinished("r1", step=3, final={"mse": 0.5}, wall_time_s=1.0))
    writer.close()
    assert calls == ["summary.json", "summary.json"] and writer.failure is None
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["final"] == {"mse": 0.5}


# ------------------------------------------------------------ 7. signals and pipes
def _start(tmp_path: Path, *extra: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "rnntui", "--headless", "--preset", "smoke", "--set",
                             "steps=100000", "--set", "eval_every=50", *extra], cwd=tmp_path, env=env, text=True,
                            stderr=subprocess.PIPE, **kw)


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_run_stops_cleanly(tmp_path, signum, code) -> None:
    proc = _start(tmp_path, "--out", "run")
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until it trains
        if "step " in line:
            break
    proc.send_signal(signum)
    assert proc.wait(timeout=120) == code
    err = proc.stderr.read()
    assert "Traceback" not in err and "stopped at step" in err
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["status"] == "stopped"
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] > 0


@pytest.mark.parametrize("signum, delay", [(signal.SIGTERM, 0.3), (signal.SIGINT, 0.15), (signal.SIGINT, 0.6),
                                           (signal.SIGINT, 1.2)])
def test_a_signal_during_start_up_exits_at_once(tmp_path, signum, delay) -> None:
    """Ctrl-C in the middle of `import torch` ends with one line, never an ImportError."""
    proc = _start(tmp_path, "--out", "run")
    time.sleep(delay)  # importing, reading the preset, building the task
    proc.send_signal(signum)
    code = proc.wait(timeout=60)
    err = proc.stderr.read()
    assert "Traceback" not in err and "Error" not in err, err
    if code == -signum:  # so early that the interpreter had not started yet: its default action
        assert err == ""
        return
    assert code == {signal.SIGTERM: 143, signal.SIGINT: 130}[signum]
    word = "terminated" if signum == signal.SIGTERM else "interrupted"
    assert err.strip().splitlines()[-1] in (f"rnntui: {word}", "[rnntui] results in run")


def test_a_reader_that_leaves_stops_the_run_without_failing_it(tmp_path) -> None:
    proc = _start(tmp_path, "--out", "run", "--json", stdout=subprocess.PIPE)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # `| head -1`
    proc.stdout.close()
    assert json.loads(first)["event"] == "started"
    assert proc.wait(timeout=120) == 141
    err = proc.stderr.read()
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["status"] == "stopped"


# ------------------------------------------------------------ 9. a resumed history
def _train(path: Path, steps: int, stop_at: int | None = None, resume=None) -> None:
    control = RunControl()

    def stop(event) -> None:
        if stop_at is not None and isinstance(event, StepMetrics) and event.step == stop_at:
            control.cancel()

    config = cfg(steps=steps, eval_every=10, log_every=5)
    with open_run(config, [stop], run_dir=path, control=control, resume=resume) as trainer:
        trainer.run()


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]


def test_a_resumed_history_reads_like_an_uninterrupted_one(tmp_path) -> None:
    _train(tmp_path / "straight", 40)
    _train(tmp_path / "first", 40, stop_at=25)  # stopped between evaluations: a closing one at step 25
    assert [r["step"] for r in _rows(tmp_path / "first") if r["event"] == "eval"] == [10, 20, 25]
    _train(tmp_path / "resumed", 40, resume=load_checkpoint(tmp_path / "first" / "checkpoint.pt"))
    straight, resumed = _rows(tmp_path / "straight"), _rows(tmp_path / "resumed")
    assert [(r["event"], r["step"]) for r in resumed] == [(r["event"], r["step"]) for r in straight]
    assert [list(r) for r in resumed] == [list(r) for r in straight]  # the same fields, in the same order
    for a, b in zip(straight, resumed):
        assert a.get("loss") == b.get("loss") and a.get("metrics") == b.get("metrics")
    elapsed = [r["elapsed_s"] for r in resumed if r["event"] == "step"]
    assert elapsed == sorted(elapsed)  # time goes on across the resume


# ------------------------------------------------------------ 3. reading run directories
@pytest.mark.parametrize("summary, rows, fragment", [
    ("[]", "", "summary.json: got []; allowed: a JSON object"),
    ("[" * 5000 + "]" * 5000, "", "summary.json: nested too deeply"),
    ('{"config": "x"}', "", "field 'config': got 'x'"),
    ('{"final": {"acc": "high"}}', "", "field 'final'"),
    ('{"steps": -1}', "", "field 'steps': got -1"),
    ("{}", "[1, 2]\n", "metrics.jsonl line 1: got [1, 2]"),
    ("{}", '{"event": "eval", "step": 1}\n', "metrics.jsonl line 1: got"),
    ("{}", '{"event": "step", "step": "x", "loss": 1}\n', "metrics.jsonl line 1"),
    ("{}", "{not json\n", "metrics.jsonl line 1: not valid JSON"),
    ("not json", "", "summary.json: not valid JSON"),
])
def test_a_damaged_run_directory_is_one_clear_error(tmp_path, summary, rows, fragment) -> None:
    (tmp_path / "summary.json").write_text(summary)
    (tmp_path / "metrics.jsonl").write_text(rows)
    with pytest.raises(RunDirError) as info:
        RunRecord.from_run_dir(str(tmp_path))
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_a_run_directory_reads_back_with_a_cut_last_line(tmp_path) -> None:
    out = tmp_path / "run"
    assert main(["--headless", *FAST, "--out", str(out)]) == 0
    text = (out / "metrics.jsonl").read_text()
    (out / "metrics.jsonl").write_text(text + '{"event": "step", "st')  # killed mid-line
    record = RunRecord.from_run_dir(str(out))
    assert record.status == "finished" and [r["step"] for r in record.evals] == [10, 20]


def test_an_experiment_whose_reader_leaves_stops_cleanly(tmp_path) -> None:
    from rnntui.cli.experiment import run_experiment_headless
    from rnntui.config.request import make_request

    class OneLine:
        """stdout of `| head -1`: the second line finds the pipe closed."""

        def __init__(self) -> None:
            self.lines: list[str] = []

        def write(self, text: str) -> None:
            if self.lines:
                raise BrokenPipeError(32, "Broken pipe")
            self.lines.append(text)

        def flush(self) -> None:
            pass

    request = make_request("smoke", {}, ["steps=10", "eval_every=5", "eval_size=16", "trials=3"])
    err = io.StringIO()
    out = OneLine()
    code = run_experiment_headless(request, out_dir=tmp_path / "exp", json_lines=True, stdout=out, stderr=err,
                                   workers=0)
    assert code == 141 and json.loads(out.lines[0])["event"] == "experiment_started"
    results = json.loads((tmp_path / "exp" / "results.json").read_text())
    assert all(run["status"] in ("finished", "stopped", "cancelled") for run in results["runs"])
    assert "Traceback" not in err.getvalue()


def test_two_experiments_cannot_share_a_directory(tmp_path) -> None:
    from rnntui.config.request import make_request
    from rnntui.engine.experiment.grid import Experiment

    request = make_request("smoke", {}, ["steps=4", "trials=2"])
    first = Experiment.from_request(request, tmp_path / "exp", check=False)
    first.claim_dir()
    try:
        with pytest.raises(ConfigError, match="is in use by another rnntui run"):
            Experiment.from_request(request, tmp_path / "exp", check=False).claim_dir()
    finally:
        first.release_dir()


def test_resuming_into_the_checkpoints_own_directory_keeps_it_until_replaced(tmp_path) -> None:
    out = tmp_path / "run"
    assert main(["--headless", *FAST, "--out", str(out)]) == 0
    assert main(["--headless", *FAST, "--set", "steps=30", "--out", str(out), "--resume", str(out / "checkpoint.pt")]) == 0
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 30
    assert [r["step"] for r in _rows(out) if r["event"] == "eval"] == [10, 20, 30]
