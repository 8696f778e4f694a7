"""Headless runner and CLI: run directory, JSON events, exit codes, bad input."""

import json
import subprocess
import sys

import pytest

from rnntui.cli.main import main

FAST = ["--set", "steps=20", "--set", "eval_every=10", "--set", "eval_size=32"]


def test_headless_writes_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["--headless", "--preset", "smoke", "--out", str(out), *FAST, "--hidden-size", "6"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished"
    assert summary["steps"] == 20
    assert summary["config"]["hidden_size"] == 6
    assert summary["params"] == 3 * (2 * 6 + 6 * 6 + 2 * 6) + 7
    assert {"exact", "bit_acc", "val_loss", "exact@16"} <= set(summary["final"])
    assert summary["wall_time_s"] > 0
    assert 'task = "binary-addition"' in (out / "config.toml").read_text()
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["event"] == "eval"] == [10, 20]
    assert (out / "checkpoint.pt").stat().st_size > 0
    err = capsys.readouterr().err
    assert "finished at step 20" in err


def test_json_lines_on_stdout(tmp_path, capsys):
    code = main(["--headless", "--preset", "smoke", "--out", str(tmp_path / "r"), "--json", *FAST])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [line["event"] for line in lines]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert {"step", "eval", "samples"} <= set(kinds)
    samples = next(line for line in lines if line["event"] == "samples")
    assert " + " in samples["samples"][0]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--hidden-size", "abc"], "hidden_size: got 'abc'; allowed: an integer"),
        (["--set", "cell=elman"], "cell: got 'elman'; allowed: rnn, gru, lstm, mgru, mlstm"),
        (["--set", "nonsense"], "expected KEY=VALUE"),
        (["--set", "hiden_size=3"], "did you mean 'hidden_size'"),
        (["--preset", "does-not-exist"], "preset: got 'does-not-exist'"),
        (["--device", "cuda:0"], "CUDA is not available"),
        (["--task", "adding", "--loss", "bce"], "loss: got 'bce'"),
        (["--resume", "/nonexistent/ckpt.pt"], "does not exist"),
    ],
)
def test_bad_input_exit_2_one_line(tmp_path, capsys, argv, fragment):
    if "--preset" not in argv:
        argv = ["--preset", "smoke", *argv]
    out = tmp_path / "never"
    code = main(["--headless", "--out", str(out), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists(), "bad input must not leave a run directory"


def test_unknown_flag_exit_2(capsys):
    assert main(["--headless", "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_presets_command_lists_presets(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines]
    assert {"smoke", "adding", "binary-addition"} <= set(names)


def test_failed_run_exits_1(tmp_path, monkeypatch):
    from rnntui.tasks.binary_addition import BinaryAdditionTask

    monkeypatch.setattr(BinaryAdditionTask, "loss", lambda self, out, batch: out.sum() * float("nan"))
    out = tmp_path / "failed"
    assert main(["--headless", "--preset", "smoke", "--out", str(out), *FAST]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and "loss became nan" in summary["reason"]


def test_python_dash_m_entry_point(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rnntui", "--headless", "--preset", "smoke", "--out", str(tmp_path / "m"), *FAST],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "m" / "summary.json").read_text())["steps"] == 20


def test_resume_with_experiment_is_rejected(tmp_path, capsys):
    code = main(["--headless", "--preset", "smoke", "--set", "trials=2", "--resume", "x.pt",
                 "--out", str(tmp_path / "e")])
    assert code == 2
    assert "resume: an experiment cannot resume" in capsys.readouterr().err


def test_unwritable_out_is_bad_input(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["--headless", "--preset", "smoke", "--out", str(blocker / "run"), *FAST]) == 2
    assert main(["--headless", "--preset", "smoke", "--set", "trials=2", "--out", str(blocker / "exp"), *FAST]) == 2
    err = capsys.readouterr().err
    assert err.count("rnntui: error: out: cannot write") == 2
    assert "Traceback" not in err


def test_headless_only_flags_are_refused_in_the_tui(capsys):
    assert main(["--json"]) == 2
    assert "--json: works only with --headless" in capsys.readouterr().err


def test_reused_out_dir_and_resume_keep_one_whole_curve(tmp_path):
    first = tmp_path / "first"
    assert main(["--headless", "--preset", "smoke", "--out", str(first), *FAST]) == 0
    assert main(["--headless", "--preset", "smoke", "--out", str(first), *FAST]) == 0  # overwritten, not appended
    rows = [json.loads(line) for line in (first / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["event"] == "eval"] == [10, 20]
    resumed = tmp_path / "resumed"
    assert main(["--headless", "--preset", "smoke", "--out", str(resumed), "--resume", str(first / "checkpoint.pt"),
                 "--set", "steps=30", "--set", "eval_every=10", "--set", "eval_size=32"]) == 0
    rows = [json.loads(line) for line in (resumed / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["event"] == "eval"] == [10, 20, 30]
    assert [r["step"] for r in rows if r["event"] == "step"] == list(range(10, 31, 10))


def test_presets_listing_survives_a_blank_description(tmp_path, monkeypatch, capsys):
    import rnntui.config.presets as presets

    (tmp_path / "blank.toml").write_text('description = "   "\ntask = "adding"\n')
    monkeypatch.setattr(presets, "PRESET_DIRS", (tmp_path,))
    assert main(["presets"]) == 0
    assert capsys.readouterr().out.split() == ["blank"]
