"""Checkpoints: resume continues the same curve; bad files give clear errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnntui.cli.main import main as cli_main
from rnntui.config import ConfigError, build_config
from rnntui.engine.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rnntui.engine.control import RunControl
from rnntui.engine.events import Log
from rnntui.engine.trainer import Trainer, check_resume

ROOT = Path(__file__).resolve().parents[1]

BASE = dict(task="adding", cell="lstm", hidden_size=8, batch_size=16, seq_len=12, eval_size=64,
            lr=0.01, seed=3, device="cpu")


def cfg(**changes):
    return build_config(BASE, changes)


def test_resume_equals_uninterrupted(tmp_path: Path) -> None:
    """20 steps straight == 10 steps, save, resume for 10 more (same seed, CPU)."""
    straight = Trainer(cfg(steps=20, eval_every=5, log_every=1)).run()
    first = Trainer(cfg(steps=10, eval_every=5, log_every=1), checkpoint_path=tmp_path / "c.pt").run()
    assert first.status == "finished" and (tmp_path / "c.pt").is_file()
    resumed = Trainer(cfg(steps=20, eval_every=5, log_every=1), resume=load_checkpoint(tmp_path / "c.pt")).run()

    assert resumed.status == "finished" and resumed.step == 20
    assert [r["step"] for r in resumed.steps] == list(range(1, 21))
    assert resumed.steps == straight.steps  # every loss and gradient norm, bit for bit
    assert resumed.evals == straight.evals
    assert resumed.final == straight.final
    assert [e["step"] for e in resumed.evals] == [5, 10, 15, 20]


def test_resume_from_a_mid_run_checkpoint_keeps_the_log_rows(tmp_path: Path) -> None:
    """A checkpoint taken between two logged rows (log_every=3, saved at step 10)
    resumes to the same rows: the partial loss window is part of the checkpoint."""
    path = tmp_path / "c.pt"

    def keep_step_10(event) -> None:
        if isinstance(event, Log) and "at step 10:" in event.message:
            shutil.copy(path, tmp_path / "c10.pt")

    config = cfg(steps=20, eval_every=4, log_every=3, checkpoint_every=10)
    straight = Trainer(config, keep_step_10, checkpoint_path=path).run()
    ckpt = load_checkpoint(tmp_path / "c10.pt")
    assert ckpt["step"] == 10 and ckpt["window_n"] == 1
    resumed = Trainer(config, resume=ckpt).run()
    assert [r["step"] for r in straight.steps] == [3, 6, 9, 12, 15, 18, 20]
    assert resumed.steps == straight.steps
    assert resumed.evals == straight.evals


def test_checkpoint_on_demand_is_written_at_the_requested_step(tmp_path: Path) -> None:
    control = RunControl()
    saved: list[int] = []

    def on_event(event) -> None:
        if isinstance(event, Log) and "checkpoint saved" in event.message:
            saved.append(load_checkpoint(tmp_path / "c.pt")["step"])
        if getattr(event, "step", None) == 4 and event.kind == "step":
            control.request_checkpoint()

    result = Trainer(cfg(steps=8, eval_every=8, log_every=2), on_event, control,
                     checkpoint_path=tmp_path / "c.pt").run()
    assert result.status == "finished"
    assert saved == [4, 8]  # on demand (the same step: the request is checked after logging), then at the end
    assert not list(tmp_path.glob("*.tmp"))  # atomic: no temporary file left behind


def test_save_is_atomic_and_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"step": 1})
    with pytest.raises(Exception):
        save_checkpoint(path, {"step": 2, "bad": lambda: None})  # cannot be pickled
    assert load_checkpoint(path)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


# ------------------------------------------------------------- bad files
def test_garbage_bytes(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pt"
    path.write_bytes(os.urandom(256))
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_checkpoint(path)


def test_a_foreign_torch_file(tmp_path: Path) -> None:
    path = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "epoch": 3}, path)
    with pytest.raises(CheckpointError, match="not an rnntui checkpoint"):
        load_checkpoint(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch " + str(_Evil.marker),))


def test_loading_never_runs_pickled_code(tmp_path: Path) -> None:
    """weights_only=True: an object whose unpickling would run a command is refused."""
    _Evil.marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "rnntui-checkpoint", "version": 1, "x": _Evil()}, path)
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_checkpoint(path)
    assert not _Evil.marker.exists()


def test_a_checkpoint_of_another_model_is_a_config_error(tmp_path: Path) -> None:
    Trainer(cfg(steps=2, eval_every=2), checkpoint_path=tmp_path / "c.pt").run()
    with pytest.raises(ConfigError, match="made with hidden_size=.*this run has hidden_size=16"):
        Trainer(cfg(steps=4, hidden_size=16), resume=load_checkpoint(tmp_path / "c.pt")).run()


def test_a_damaged_checkpoint_is_a_config_error_not_a_crash(tmp_path: Path) -> None:
    Trainer(cfg(steps=2, eval_every=2), checkpoint_path=tmp_path / "c.pt").run()
    payload = load_checkpoint(tmp_path / "c.pt")
    del payload["data_rng"]
    with pytest.raises(ConfigError, match="resume: the checkpoint does not fit this run"):
        check_resume(cfg(steps=4), payload)
    payload = load_checkpoint(tmp_path / "c.pt")
    payload["model"] = {k: v[:1] for k, v in payload["model"].items()}
    with pytest.raises(ConfigError, match="does not fit this run"):
        check_resume(cfg(steps=4), payload)


@pytest.mark.parametrize("kind", ["garbage", "foreign", "missing", "other-model"])
def test_cli_resume_with_a_bad_checkpoint_exits_2(tmp_path: Path, capsys, kind: str) -> None:
    path = tmp_path / "c.pt"
    if kind == "garbage":
        path.write_bytes(b"\x00not a checkpoint\xff" * 10)
    elif kind == "foreign":
        torch.save({"weights": torch.ones(3)}, path)
    elif kind == "other-model":
        Trainer(cfg(steps=2, eval_every=2, hidden_size=4), checkpoint_path=path).run()
    code = cli_main(["--headless", "--preset", "smoke", "--steps", "4", "--eval-every", "4",
                     "--out", str(tmp_path / "run"), "--resume", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("rnntui: error:") and ("resume" in last or "checkpoint" in last)
    assert not (tmp_path / "run").exists(), "a bad checkpoint must not leave a run directory"


def test_cli_bad_checkpoint_in_a_subprocess_has_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"PK\x03\x04 this is not a zip")
    proc = subprocess.run(
        [sys.executable, "-m", "rnntui", "--headless", "--preset", "smoke", "--out", str(tmp_path / "run"),
         "--resume", str(path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "garbage.pt" in proc.stderr and "cannot be read" in proc.stderr


def test_cli_resume_continues_the_run(tmp_path: Path, capsys) -> None:
    """`--resume` picks up at the saved step and ends at `steps`."""
    first = tmp_path / "first"
    assert cli_main(["--headless", "--preset", "smoke", "--steps", "6", "--eval-every", "3",
                     "--out", str(first)]) == 0
    assert cli_main(["--headless", "--preset", "smoke", "--steps", "12", "--eval-every", "3",
                     "--out", str(tmp_path / "second"), "--resume", str(first / "checkpoint.pt")]) == 0
    ckpt = load_checkpoint(tmp_path / "second" / "checkpoint.pt")
    assert ckpt["step"] == 12
    assert [e["step"] for e in ckpt["evals"]] == [3, 6, 9, 12]


def test_resume_mid_epoch_on_a_dataset_task(tmp_path: Path) -> None:
    """digits (finite data): the epoch's permutation travels in the checkpoint, so a
    run resumed mid-epoch reads the same batches as an uninterrupted one."""
    base = {"task": "digits", "dataset": "digits-8x8", "cell": "gru", "hidden_size": 8, "batch_size": 64,
            "eval_size": 64, "log_every": 1, "eval_every": 6}
    straight = Trainer(build_config(base, {"steps": 12})).run()
    Trainer(build_config(base, {"steps": 7}), checkpoint_path=tmp_path / "d.pt").run()
    ckpt = load_checkpoint(tmp_path / "d.pt")
    assert ckpt["task_state"]["perm_epoch"] == 0  # 7 steps of 64 is inside the first epoch
    resumed = Trainer(build_config(base, {"steps": 12}), resume=ckpt).run()
    assert resumed.steps == straight.steps
    assert resumed.final == straight.final


# ------------------------------------------------------------- resume settings
def test_resume_applies_the_new_optimiser_settings(tmp_path: Path) -> None:
    """`--set weight_decay=0.5` on resume trains with 0.5 (torch's load_state_dict
    would bring the saved 0.0 back), and the checkpoint says so."""
    Trainer(cfg(steps=4, eval_every=4), checkpoint_path=tmp_path / "c.pt").run()
    resumed = Trainer(cfg(steps=6, eval_every=6, weight_decay=0.5, lr=0.02), checkpoint_path=tmp_path / "d.pt",
                      resume=load_checkpoint(tmp_path / "c.pt"))
    resumed.setup()
    group = resumed.optimizer.param_groups[0]
    assert (group["weight_decay"], group["lr"]) == (0.5, 0.02)
    assert len(resumed.optimizer.state) > 0  # Adam's moments carried over
    resumed.run()
    assert load_checkpoint(tmp_path / "d.pt")["optimizer"]["param_groups"][0]["weight_decay"] == 0.5


def test_resume_with_another_optimiser_starts_its_state_fresh(tmp_path: Path) -> None:
    from rnntui.engine.events import Log

    Trainer(cfg(steps=4, eval_every=4), checkpoint_path=tmp_path / "c.pt").run()
    logs: list[str] = []
    result = Trainer(cfg(steps=50, eval_every=25, optimizer="sgd", momentum=0.9),
                     lambda e: logs.append(e.message) if isinstance(e, Log) else None,
                     resume=load_checkpoint(tmp_path / "c.pt")).run()
    assert result.status == "finished" and result.step == 50  # adam -> sgd used to fail with KeyError 'momentum'
    assert "optimizer changed from adam to sgd: its state starts fresh" in logs


def test_a_resume_mismatch_names_the_keys(tmp_path: Path) -> None:
    Trainer(cfg(steps=2, eval_every=2), checkpoint_path=tmp_path / "c.pt").run()
    with pytest.raises(ConfigError, match=r"differing: cell, hidden_size\)"):
        check_resume(cfg(steps=4, cell="gru", hidden_size=16), load_checkpoint(tmp_path / "c.pt"))


@pytest.mark.parametrize("field, value, fragment", [
    ("step", -5, "field 'step': got -5; allowed: an integer from 0 to 1000000000"),
    ("step", 10**18, "field 'step': got 1000000000000000000"),
    ("step", float("inf"), "field 'step': got inf"),
    ("step", "3", "field 'step': got '3'"),
    ("steps", "abc", "field 'steps': got 'abc'"),
    ("steps", [1, 2], "field 'steps': got [1, 2]"),
    ("evals", [3, 4], "field 'evals': got [3, 4]"),
    ("evals", [{"step": 1, "epoch": 0}], "field 'evals'"),
    ("window_loss", float("nan"), "field 'window_loss'"),
    ("data_rng", torch.zeros(3), "field 'data_rng'"),
])
def test_malformed_checkpoint_fields_are_refused(tmp_path: Path, field, value, fragment) -> None:
    Trainer(cfg(steps=2, eval_every=2), checkpoint_path=tmp_path / "c.pt").run()
    payload = {k: v for k, v in load_checkpoint(tmp_path / "c.pt").items() if k not in ("format", "version")}
    payload[field] = value
    save_checkpoint(tmp_path / "bad.pt", payload)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path / "bad.pt")
    assert fragment in str(info.value)


def test_a_flipped_byte_anywhere_is_refused(tmp_path: Path) -> None:
    Trainer(cfg(steps=2, eval_every=2), checkpoint_path=tmp_path / "c.pt").run()
    raw = (tmp_path / "c.pt").read_bytes()
    assert torch.load(tmp_path / "c.pt", weights_only=True)["step"] == 2  # still a plain torch file
    refused = 0
    for at in range(0, len(raw), max(1, len(raw) // 200)):
        damaged = bytearray(raw)
        damaged[at] ^= 0x04
        (tmp_path / "d.pt").write_bytes(bytes(damaged))
        with pytest.raises(CheckpointError):
            load_checkpoint(tmp_path / "d.pt")
        refused += 1
    assert refused >= 200


def test_the_refusal_of_a_pickled_object_does_not_suggest_weights_only_false(tmp_path: Path) -> None:
    _Evil.marker = tmp_path / "pwned"
    torch.save({"format": "rnntui-checkpoint", "version": 2, "x": _Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path / "evil.pt")
    assert "weights_only" not in str(info.value) and "refuses to load" in str(info.value)
