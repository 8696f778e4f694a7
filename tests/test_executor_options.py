"""The scale-out settings (executor, ray_address, tensorboard) as config keys, and
the executor's bad-input paths that need no Ray running."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rnntui.cli.main import main
from rnntui.config import ConfigError, build_config
from rnntui.config.request import make_request

GRID = ["--headless", "--preset", "smoke", "--set", "steps=4", "--set", "eval_every=2", "--set", "eval_size=16",
        "--set", "grid.hidden_size=[4,8]"]


def test_defaults_run_locally_without_tensorboard() -> None:
    cfg = build_config({})
    assert (cfg.executor, cfg.ray_address, cfg.tensorboard) == ("local", "", False)


@pytest.mark.parametrize("address", ["", "auto", "127.0.0.1:6379", "head-node.lan:6380", "[::1]:6379"])
def test_ray_addresses_allowed(address: str) -> None:
    assert build_config({"executor": "ray", "ray_address": address}).ray_address == address


@pytest.mark.parametrize("values, message", [
    ({"executor": "dask"}, "executor: got 'dask'; allowed: local, ray"),
    ({"ray_address": "localhost"}, "ray_address: got 'localhost'; allowed: empty (start a local Ray), auto, "
                                   "or HOST:PORT such as 127.0.0.1:6379"),
    ({"ray_address": "127.0.0.1:70000"}, "ray_address: got '127.0.0.1:70000'"),
    ({"ray_address": "ray://127.0.0.1:10001"}, "ray_address: got 'ray://127.0.0.1:10001'"),
    ({"tensorboard": "maybe"}, "tensorboard: got 'maybe'; allowed: true or false"),
    ({"executor": "ray", "device": "cuda:1"}, "device: got 'cuda:1'; with executor = ray each run is given its "
                                              "GPU by Ray (allowed: cpu, cuda, auto)"),
])
def test_bad_values_name_the_key_and_what_is_allowed(values: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_config(values)
    assert str(info.value).startswith(message)


def test_a_preset_can_choose_the_executor(tmp_path: Path) -> None:
    preset = tmp_path / "grid.toml"
    preset.write_text('task = "xor"\nexecutor = "ray"\nray_address = "auto"\ntensorboard = true\n'
                      'trials = 2\n[grid]\nhidden_size = [4, 8]\n')
    request = make_request(str(preset))
    assert request.is_experiment
    assert (request.config.executor, request.config.ray_address, request.config.tensorboard) == ("ray", "auto", True)
    flags = make_request(str(preset), {"executor": "local"})  # a flag wins over the preset
    assert flags.config.executor == "local"


def test_ray_executor_without_ray_installed_is_one_line_exit_2(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an install without the extra looks like to import
    out = tmp_path / "exp"
    assert main([*GRID, "--out", str(out), "--executor", "ray"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rnntui: error: executor: got 'ray', but Ray is not installed; "
                   "install it with: pip install 'rnntui[ray]'"]
    assert not out.exists()


def test_the_import_itself_failing_is_reported_the_same_way(monkeypatch) -> None:
    """find_spec can see a package whose import then fails (a broken install)."""
    from rnntui.engine.experiment import ray_executor

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConfigError, match=r"^executor: got 'ray', but Ray is not installed; install it with: "
                                          r"pip install 'rnntui\[ray\]'$"):
        ray_executor._import_ray(private_local=False)


def test_a_cluster_that_wants_a_token_is_told_in_words() -> None:
    """What ray.init raises against a head with token authentication on: the
    AuthenticationError sits a few causes deep."""
    from rnntui.engine.experiment.ray_executor import _reason

    class AuthenticationError(Exception):
        pass

    try:
        try:
            try:
                raise AuthenticationError("RPC error: InvalidAuthToken: Authentication token is missing or incorrect")
            except AuthenticationError as inner:
                raise RuntimeError("Failed to connect to GCS. Last connection error: ...") from inner
        except RuntimeError as middle:
            raise ConnectionError("Failed to connect to Ray cluster at 127.0.0.1:6379") from middle
    except ConnectionError as exc:
        reason = _reason(exc)
    assert reason.startswith("the cluster wants its authentication token: set RAY_AUTH_MODE=token")
    assert _reason(ConnectionError("Could not find any running Ray instance.\nPlease specify one")) == \
        "ConnectionError: Could not find any running Ray instance."
