"""Bad input of every kind ends with exit code 2 and one line naming the key or file.

The cases a hostile fuzz found (issue 13): values that pass the key checks but
break the task or the model, values too big to parse or to echo, paths that are
not files, flags that disagree with ``--set``, malformed grids, inspect's own
options, and the memory estimate that refuses runs no machine could hold.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rnntui.cli.main import main
from rnntui.config import ConfigError, build_config
from rnntui.config.keys import MAX_MESSAGE, show
from rnntui.engine.budget import check_memory, training_bytes
from rnntui.tasks import build_task


def exit_2_one_line(capsys, argv: list[str], tmp_path: Path) -> str:
    """Run ``argv`` headless into ``tmp_path/out``; assert exit 2, one line, nothing written."""
    code = main(["--headless", "--out", str(tmp_path / "out"), *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnntui: error:"), err
    assert "Traceback" not in err and len(lines[0]) < MAX_MESSAGE + 100
    assert not (tmp_path / "out").exists()
    return lines[0]


@pytest.mark.parametrize("argv, fragment", [
    # errors that used to surface while building the task or the model
    (["--set", "eval_lengths=[100000000000]"], "eval_lengths: got [100000000000]; allowed: a list of at most 16 "
                                               "integers from 1 to 100000"),
    (["--set", "task=digits", "--set", "dataset=digits-8x8", "--set", "val_fraction=0.9999999"],
     "val_fraction: got 0.9999999; allowed: a number in (0.0, 0.9]"),
    (["--cell", "mlstm", "--hidden-size", "8192", "--num-layers", "16"], "hidden_size: got 8192: this run would need"),
    (["--batch-size", "65536", "--seq-len", "100000"], "batch_size: got 65536: this run would need"),
    (["--set", "cell=lstm", "--set", "init=chrono", "--set", "bias=false"], "bias: got false; init 'chrono'"),
    # too big to parse or to echo
    (["--set", "eval_lengths=" + "1," * 15000], "eval_lengths: got '1,1,1"),
    (["--set", "trials=" + "9" * 5000], "trials: got '999"),
    (["--set", "eval_lengths=" + "[" * 15000], "eval_lengths:"),
    # paths
    (["--preset", "a" * 300], "preset: got 'aaaa"),
    (["--preset", "/" + "a/" * 3000 + "x.toml"], "preset: got '/a/a/"),
    (["--preset", "~nosuchuser/x.toml"], "there is no user 'nosuchuser'"),
    (["--preset", ""], "preset: got ''"),
    (["--resume", ""], "resume: got ''"),
    (["--set", "task=digits", "--set", "dataset=mnist", "--set", "eval_lengths=[]", "--set", "data_dir=/etc/hostname"], "is not a folder"),
    (["--set", "task=digits", "--set", "dataset=mnist", "--set", "eval_lengths=[]", "--set", "data_dir=" + "d" * 300], "data_dir: got 'ddd"),
    (["--set", "task=digits", "--set", "dataset=mnist", "--set", "eval_lengths=[]", "--set", "data_dir=/proc/nonexistent/x"],
     "data_dir: MNIST files not found"),
    # flags and --set, grids
    (["--hidden-size", "0", "--set", "hidden_size=5"], "hidden_size: got 0"),
    (["--hidden-size", "6", "--set", "hidden_size=5"], "--hidden-size '6' and --set hidden_size='5' disagree"),
    (["--set", "lr=-1", "--set", "lr=0.2"], "lr: got -1.0"),  # the later wins, the earlier is still checked
    (["--set", "grid.cell=[gru"], "grid.cell: got '[gru' (unbalanced brackets)"),
    (["--set", "grid.cell=[[[gru]]]"], "grid.cell: got '[[[gru]]]' (nested brackets)"),
    (["--set", "grid.cell=gru,,lstm"], "grid.cell: got 'gru,,lstm' (an empty item)"),
    (["--set", "trials=0"], "trials: got 0; allowed: an integer from 1 to 100"),
    (["--bidirectional=--"], "argument --bidirectional: got '--'"),  # argparse would drop it: true
])
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, monkeypatch, argv, fragment) -> None:
    monkeypatch.setenv("RNNTUI_OFFLINE", "1")
    line = exit_2_one_line(capsys, ["--preset", "smoke", *argv] if "--preset" not in argv else argv, tmp_path)
    assert fragment in line, line


def test_a_flag_and_set_that_agree_are_fine(tmp_path, monkeypatch) -> None:
    import rnntui.cli.run as run

    got = []
    monkeypatch.setattr(run, "run_single", lambda cfg, **kw: got.append(cfg.hidden_size) or 0)
    assert main(["--headless", "--preset", "smoke", "--hidden-size", "6", "--set", "hidden_size=06"]) == 0
    assert got == [6]


def test_echoed_values_are_short_and_escaped() -> None:
    with pytest.raises(ConfigError) as info:
        build_config({"cell": "\x1b[31mred" + "x" * 10_000_000})
    text = str(info.value)
    assert "\x1b" not in text and "\\x1b[31mred" in text
    assert "(10,000,008 characters)" in text and len(text) < MAX_MESSAGE + 50
    assert show(10**5000) == "<an integer of about 5,000 digits>"


def test_a_fifo_preset_is_refused_without_reading_it(tmp_path, capsys) -> None:
    fifo = tmp_path / "p.toml"
    os.mkfifo(fifo)  # reading it would block forever
    line = exit_2_one_line(capsys, ["--preset", str(fifo)], tmp_path)
    assert "is a FIFO" in line


@pytest.mark.parametrize("argv, fragment", [
    (["--batch", "99999999999999999999"], "batch: got 99999999999999999999; allowed: an integer from 1 to 65536"),
    (["--batch", "4294967296"], "batch: got 4294967296"),
    (["--input-size", "4294967296"], "input_size: got 4294967296; allowed: an integer from 1 to 1000000"),
    (["--input-size", "1000000", "--batch", "65536"], "input_size: got 1000000: this table would need"),
    (["--batch", "x"], "batch: got 'x'; allowed: an integer"),
])
def test_inspect_options_are_bounded(capsys, argv, fragment) -> None:
    assert main(["inspect", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and fragment in err, err


def test_the_memory_estimate_counts_weights_exactly_and_refuses_by_the_largest_part() -> None:
    cfg = build_config({"task": "adding", "cell": "lstm", "hidden_size": 32, "batch_size": 16, "seq_len": 50,
                        "eval_size": 100})
    task = build_task(cfg)
    parts = training_bytes(cfg, task)
    weights = 4 * 32 * (2 + 32) + 2 * 4 * 32 + 32 + 1  # W_ih, W_hh, two biases, head
    assert parts["hidden_size"] == weights * 4 * 4  # float32 × (weights, grads, Adam's two moments)
    assert parts["batch_size"] == 16 * 50 * (1 * 1 * 32 * (4 + 3) * 2 + 2) * 4
    check_memory(cfg, task, free=sum(parts.values()))  # fits exactly
    with pytest.raises(ConfigError) as info:
        check_memory(cfg, task, free=sum(parts.values()) - 1)
    assert info.value.key == max(parts, key=parts.get)


def test_bad_input_creates_no_cache_directories(tmp_path, capsys, monkeypatch) -> None:
    """A refused MNIST folder (offline) leaves no empty cache folder behind."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("RNNTUI_DATA", raising=False)
    monkeypatch.setattr("rnntui.data.mnist_idx.MIRRORS", ["http://127.0.0.1:9/"])
    line = exit_2_one_line(capsys, ["--preset", "smoke", "--set", "task=digits", "--set", "dataset=mnist",
                                    "--set", "eval_lengths=[]"], tmp_path)
    assert "data_dir: MNIST files not found" in line
    assert list(home.iterdir()) == []
