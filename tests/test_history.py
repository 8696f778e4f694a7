"""Bounded histories: a long run's memory stays flat, the curve keeps its shape."""

from __future__ import annotations

import pytest

from rnntui.config import build_config
from rnntui.engine.events import EvalMetrics, HiddenGradients, Log, StepMetrics
from rnntui.engine.history import EVAL_ROWS, Recent, Thinned, stride_for
from rnntui.engine.record import RunRecord
from rnntui.engine.trainer import Trainer


@pytest.mark.parametrize("cap", [3, 4, 7, 64])
def test_thinned_keeps_an_even_grid_and_the_newest_row(cap) -> None:
    rows = Thinned(cap=cap)
    for i in range(1000):
        rows.append(i)
        stride = stride_for(i + 1, cap)
        assert rows.stride == stride
        grid = list(range(0, i + 1, stride))
        assert list(rows) == grid + ([i] if i % stride else [])  # positions 0, s, 2s... and the newest
        assert len(rows) <= cap
    assert rows.seen == 1000 and rows[0] == 0 and rows[-1] == 999


def test_thinned_restored_from_its_rows_and_count_continues_identically() -> None:
    straight = Thinned(cap=10)
    straight.extend(range(500))
    half = Thinned(cap=10)
    half.extend(range(237))
    resumed = Thinned(list(half), cap=10, seen=half.seen)  # what a checkpoint carries
    resumed.extend(range(237, 500))
    assert list(resumed) == list(straight) and resumed.seen == straight.seen


def test_thinned_and_recent_pickle_as_plain_lists() -> None:
    import pickle

    assert type(pickle.loads(pickle.dumps(Thinned([1, 2, 3], cap=5)))) is list
    logs = Recent(range(10), cap=3)
    assert logs == [7, 8, 9] and type(pickle.loads(pickle.dumps(logs))) is list


def test_a_run_record_stays_bounded() -> None:
    record = RunRecord("r", {})
    for step in range(1, 20_001):
        record.apply(StepMetrics("r", step=step, epoch=0, loss=1.0 / step, grad_norm=1.0, lr=0.1, elapsed_s=0.0,
                                 steps_per_s=1.0))
        if step % 5 == 0:
            record.apply(EvalMetrics("r", step=step, epoch=0, metrics={"acc": step / 20_000}))
            record.apply(HiddenGradients("r", step=step, norms=[1.0] * 8))
            record.apply(Log("r", f"line {step}"))
    xs, ys = record.series("loss")
    assert len(xs) <= 4096 and xs[0] == 1 and xs[-1] == 20_000  # the whole span, thinned
    assert all(b - a == xs[1] - xs[0] for a, b in zip(xs, xs[1:-1]))  # evenly
    assert len(record.evals) <= EVAL_ROWS and record.evals[-1]["step"] == 20_000 and record.final == {"acc": 1.0}
    assert len(record.grad_profiles) <= 256 and len(record.logs) == 1000 and record.logs[-1] == "line 20000"


def test_the_trainer_history_is_thinned_and_survives_a_resume(tmp_path, monkeypatch) -> None:
    import rnntui.engine.trainer as trainer_module

    monkeypatch.setattr(trainer_module, "STEP_ROWS", 8)
    base = dict(task="adding", cell="rnn", hidden_size=4, batch_size=4, seq_len=5, eval_size=8, log_every=1,
                eval_every=50, seed=4)
    straight = Trainer(build_config(base, {"steps": 60})).run()
    Trainer(build_config(base, {"steps": 23}), checkpoint_path=tmp_path / "c.pt").run()
    from rnntui.engine.checkpoint import load_checkpoint

    resumed = Trainer(build_config(base, {"steps": 60}), resume=load_checkpoint(tmp_path / "c.pt")).run()
    assert len(straight.steps) <= 8 and straight.steps[-1]["step"] == 60
    assert resumed.steps == straight.steps
