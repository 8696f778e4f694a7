"""Reaching Ray: the private local instance rnntui starts, a head started with
``ray start --head`` (by the test, on a free loopback port, and stopped by it),
and addresses where no Ray answers (exit 2 within a bounded time).  Loopback
addresses only.  No Ray instance is up in this process between tests."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import import_ray
from rnntui.cli.main import main
from rnntui.config import build_config
from rnntui.engine.experiment.grid import Experiment
from rnntui.engine.experiment.runner import ExperimentRunner

pytestmark = pytest.mark.slow  # Ray starts in seconds; the module's tests take minutes

ray = import_ray()

TINY = ["--headless", "--preset", "smoke", "--threads", "1", "--set", "steps=6", "--set", "eval_every=3",
        "--set", "eval_size=32", "--set", "eval_lengths=[]", "--set", "grid.hidden_size=[4,8]"]
LOOPBACK = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_in_subprocess(args: list[str], before: str = "") -> tuple[int, str, float]:
    """``rnntui args`` in a fresh interpreter (a connection attempt that hangs
    stays there); returns (exit code, stderr, seconds)."""
    code = f"import sys\n{before}\nfrom rnntui.cli.main import main\nsys.exit(main({args!r}))"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env)
    return done.returncode, done.stderr, time.monotonic() - start


def test_nothing_listening_at_the_address_is_exit_2_at_once(tmp_path: Path) -> None:
    port = free_port()  # bound and released: nothing listens there
    out = tmp_path / "exp"
    code, err, seconds = cli_in_subprocess([*TINY, "--executor", "ray", "--ray-address", f"127.0.0.1:{port}",
                                            "--out", str(out)])
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f"rnntui: error: ray_address: got '127.0.0.1:{port}', but no Ray head answers there (Connection refused); "
        f"start one with `ray start --head` and give its address")
    assert seconds < 60  # interpreter, torch-free CLI and ray imports; the refusal itself is immediate
    assert not out.exists()


def test_a_listener_that_is_not_ray_is_exit_2_after_the_connect_timeout(tmp_path: Path) -> None:
    with socket.socket() as server:  # accepts TCP (the probe passes) but never speaks Ray's protocol
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        code, err, seconds = cli_in_subprocess(
            [*TINY, "--executor", "ray", "--ray-address", f"127.0.0.1:{port}", "--out", str(tmp_path / "exp")],
            before="import rnntui.engine.experiment.ray_executor as r; r.CONNECT_TIMEOUT_S = 3")
    assert code == 2
    ours = [line for line in err.splitlines() if line.startswith("rnntui:")]
    assert ours == [f"rnntui: error: ray_address: got '127.0.0.1:{port}', but no Ray cluster answered there "
                    f"within 3 s (is it the head's GCS port, 6379 by default?)"]
    assert "Traceback" not in err  # (Ray's core may log its own retry warnings as the process exits)
    assert seconds < 60
    assert not (tmp_path / "exp").exists()


def test_the_private_local_ray_is_put_on_loopback_before_ray_is_imported() -> None:
    code = ("import os, sys\nos.environ.pop(%r, None)\n"
            "from rnntui.engine.experiment import ray_executor\nray_executor._import_ray(private_local=True)\n"
            "print(os.environ.get(%r), 'ray' in sys.modules)" % (LOOPBACK, LOOPBACK))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["0", "True"], done.stderr


def test_rnntui_starts_a_private_local_ray_and_shuts_it_down(tmp_path: Path) -> None:
    assert not ray.is_initialized()
    base = build_config(dict(task="xor", cell="rnn", hidden_size=4, batch_size=8, seq_len=6, steps=4,
                             eval_every=2, eval_size=16, n_samples=0, executor="ray"))
    exp = Experiment.create(base, {"hidden_size": [3, 5]}, trials=1, out_dir=tmp_path)
    runner = ExperimentRunner(exp)
    runner.connect()
    try:
        assert runner._ray.owned and runner.workers == int(ray.cluster_resources()["CPU"])
        assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}
        assert runner.where().startswith("a private local Ray (1 node, ")
        outcomes = list(runner.run())
    finally:
        if ray.is_initialized() and runner._ray.owned:
            ray.shutdown()
    assert [o.status for o in outcomes] == ["finished", "finished"]
    assert not ray.is_initialized()  # the instance it started is gone with the experiment
    assert json.loads((tmp_path / "results.json").read_text())["runs_done"] == 2


@pytest.fixture
def ray_head(tmp_path: Path):
    """A Ray head started with ``ray start --head`` on a free loopback port; its
    address, and it is stopped (its process group) afterwards."""
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="rnt", dir="/tmp"))  # short: Ray's socket paths have a length limit
    log = open(tmp_path / "head.log", "w")
    ports = [f"--port={port}", f"--ray-client-server-port={free_port()}", f"--dashboard-port={free_port()}",
             f"--dashboard-agent-listen-port={free_port()}"]
    head = subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--head", *ports, "--num-cpus=2",
                             "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}", "--block"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert head.poll() is None, (tmp_path / "head.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the head did not come up"
                time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        head.terminate()  # `ray start --block` stops the processes it started
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)  # whatever of its process group is left
        except ProcessLookupError:
            pass
        head.wait()
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def test_a_grid_on_a_head_started_with_ray_start(ray_head: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "exp"
    code = main([*TINY, "--set", "trials=2", "--executor", "ray", "--ray-address", ray_head, "--json",
                 "--out", str(out)])
    assert code == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert lines[0]["event"] == "experiment_started" and lines[0]["executor"] == "ray" and lines[0]["workers"] == 2
    assert f"on the Ray cluster at {ray_head} (1 node, 2 run slots)" in captured.err
    assert [e["event"] for e in lines].count("run_done") == 4
    assert ray.is_initialized()  # a cluster rnntui did not start is left running (and connected)
    data = json.loads((out / "results.json").read_text())
    assert data["runs_done"] == 4 and [r["finished"] for r in data["rows"]] == [2, 2]
    for run in data["runs"]:
        assert sorted(p.name for p in Path(run["path"]).iterdir()) == \
            [".rnntui", "checkpoint.pt", "config.toml", "metrics.jsonl", "summary.json"]
