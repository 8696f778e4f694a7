"""TensorBoard event files: written by every kind of run, read back with TensorBoard's own reader."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from rnntui.cli.main import main

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

FAST = ["--set", "steps=20", "--set", "eval_every=10", "--set", "eval_size=32", "--set", "log_every=5",
        "--threads", "1"]


def read_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar curve in ``run_dir``'s event files, as TensorBoard itself reads them."""
    acc = event_accumulator.EventAccumulator(str(run_dir), size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def f32(x: float) -> float:
    """TensorBoard keeps a scalar as a float32 (simple_value): the value read back
    is exactly the float32 nearest the one written, so the checks are exact."""
    return float(np.float32(x))


def test_a_headless_run_writes_every_curve_tensorboard_reads_back(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["--headless", "--preset", "smoke", "--out", str(out), "--tensorboard", *FAST,
                 "--lr-schedule", "cosine"]) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if r["event"] == "step"]
    evals = [r for r in rows if r["event"] == "eval"]
    assert [r["step"] for r in steps] == [5, 10, 15, 20] and [r["step"] for r in evals] == [10, 20]
    scalars = read_scalars(out)
    assert len(list(out.glob("events.out.tfevents.*"))) == 1
    assert scalars["train/loss"] == [(r["step"], f32(r["loss"])) for r in steps]
    assert scalars["train/grad_norm"] == [(r["step"], f32(r["grad_norm"])) for r in steps]
    assert scalars["train/lr"] == [(r["step"], f32(r["lr"])) for r in steps]
    # the cosine schedule at 20 steps: lr·½(1+cos(π·s/20)) for the step s that row's last update used
    assert [v for _, v in scalars["train/lr"]] == [f32(0.01 * 0.5 * (1 + np.cos(np.pi * s / 20)))
                                                  for s in (4, 9, 14, 19)]
    names = list(evals[0]["metrics"])
    assert {"val_loss", "exact", "bit_acc", "val_loss@16", "bit_acc@16"} <= set(names)
    for name in names:  # every evaluation metric, at every evaluation
        assert scalars[f"eval/{name}"] == [(r["step"], f32(r["metrics"][name])) for r in evals]
    assert set(scalars) == {"train/loss", "train/grad_norm", "train/lr"} | {f"eval/{n}" for n in names}


def test_without_the_flag_no_event_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["--headless", "--preset", "smoke", "--out", str(out), *FAST]) == 0
    assert not list(out.glob("events.out.tfevents.*")) and (out / "summary.json").is_file()


def test_a_missing_writer_is_bad_input_with_the_install_command(tmp_path: Path, monkeypatch, capsys) -> None:
    for name in ("tensorboard", "torch.utils.tensorboard"):  # as if the extra were not installed
        monkeypatch.setitem(sys.modules, name, None)
    out = tmp_path / "run"
    assert main(["--headless", "--preset", "smoke", "--out", str(out), "--tensorboard", *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rnntui: error: tensorboard: got true, but the TensorBoard writer is not installed; "
                   "install it with: pip install 'rnntui[tensorboard]'"]
    assert not out.exists()  # refused before anything was written
    # an experiment is refused up front too, not run to fail in every worker
    code = main(["--headless", "--preset", "smoke", "--out", str(tmp_path / "exp"), "--tensorboard", *FAST,
                 "--set", "trials=2"])
    assert code == 2 and "pip install 'rnntui[tensorboard]'" in capsys.readouterr().err
    assert not (tmp_path / "exp").exists()


def test_a_resumed_run_carries_its_history_into_tensorboard(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["--headless", "--preset", "smoke", "--out", str(first), *FAST, "--set", "steps=10"]) == 0
    assert main(["--headless", "--preset", "smoke", "--out", str(second), "--tensorboard", *FAST,
                 "--resume", str(first / "checkpoint.pt")]) == 0
    rows = [json.loads(line) for line in (second / "metrics.jsonl").read_text().splitlines()]
    losses = [(r["step"], f32(r["loss"])) for r in rows if r["event"] == "step"]
    scalars = read_scalars(second)
    assert [s for s, _ in losses] == [5, 10, 15, 20]
    assert scalars["train/loss"] == losses  # inherited rows (5, 10) and new ones (15, 20)
    assert [s for s, _ in scalars["train/lr"]] == [15, 20]  # the checkpoint's rows keep no learning rate
