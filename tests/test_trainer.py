"""Trainer: determinism, held-out metrics, events, pause/cancel, NaN handling."""

import math
import threading

import pytest
import torch

from rnntui.config import build_config
from rnntui.engine.control import RunControl
from rnntui.engine.events import EvalMetrics, RunFailed, RunFinished, RunStarted, Samples, StepMetrics
from rnntui.engine.trainer import Trainer

TINY = {"task": "binary-addition", "cell": "gru", "hidden_size": 8, "batch_size": 16, "lr": 0.01,
        "steps": 30, "seq_len": 4, "eval_every": 10, "eval_size": 64, "log_every": 5}


def run(overrides=None, control=None):
    events = []
    cfg = build_config(TINY, overrides or {})
    result = Trainer(cfg, events.append, control).run()
    return result, events


def test_event_sequence_and_counts():
    result, events = run()
    assert isinstance(events[0], RunStarted)
    assert events[0].params == 3 * (2 * 8 + 8 * 8 + 2 * 8) + 9
    steps = [e for e in events if isinstance(e, StepMetrics)]
    evals = [e for e in events if isinstance(e, EvalMetrics)]
    assert [e.step for e in steps] == [5, 10, 15, 20, 25, 30]
    assert [e.step for e in evals] == [10, 20, 30]
    assert isinstance(events[-1], RunFinished) and events[-1].step == 30
    assert result.status == "finished"
    assert set(result.final) >= {"val_loss", "exact", "bit_acc"}
    assert any(isinstance(e, Samples) and len(e.samples) == 4 for e in events)
    # every event serialises with its kind
    assert all(e.to_json()["event"] == e.kind for e in events)


def test_params_reported_match_model():
    trainer = Trainer(build_config(TINY))
    trainer.setup()
    # GRU: 3*(I*H + H*H + 2H) + head (H*1 + 1), I=2, H=8
    expected = 3 * (2 * 8 + 8 * 8 + 2 * 8) + (8 + 1)
    assert sum(p.numel() for p in trainer.model.parameters()) == expected


def test_same_seed_same_numbers_different_seed_differs():
    a, _ = run()
    b, _ = run()
    c, _ = run({"seed": 1})
    assert a.final == b.final
    assert [r["loss"] for r in a.steps] == [r["loss"] for r in b.steps]
    assert a.final != c.final


def test_eval_lengths_reported_per_length():
    result, _ = run({"eval_lengths": [8, 12]})
    assert {"exact@8", "exact@12", "bit_acc@12", "val_loss@8"} <= set(result.final)


def test_metrics_are_held_out_not_training_batches():
    trainer = Trainer(build_config(TINY))
    trainer.setup()
    held_out = torch.cat([b.x for b in trainer.eval_sets[None]])
    train = torch.cat([trainer.task.train_batch(i, trainer.data_gen).x for i in range(4)])
    # disjoint generators: the first held-out sequences differ from the training stream
    assert not torch.equal(held_out[:16], train[:16])
    assert held_out.shape[0] == 64


def test_learns_binary_addition_beyond_baseline():
    result, _ = run({"steps": 400, "hidden_size": 16, "batch_size": 64, "eval_every": 400})
    assert result.final["bit_acc"] > 0.95


def test_nan_loss_fails_cleanly_with_history(monkeypatch):
    from rnntui.tasks.binary_addition import BinaryAdditionTask

    original = BinaryAdditionTask.train_batch

    def train_batch(self, step, gen):
        batch = original(self, step, gen)
        if step == 16:  # the 17th optimisation step sees a NaN input
            batch.x[0, 0, 0] = float("nan")
        return batch

    monkeypatch.setattr(BinaryAdditionTask, "train_batch", train_batch)
    result, events = run()
    assert result.status == "failed"
    assert isinstance(events[-1], RunFailed)
    assert events[-1].reason == "loss became nan at step 17"
    assert [e["step"] for e in result.evals] == [10]  # history up to the failure is kept
    assert len(result.steps) == 3


def test_cancel_stops_and_keeps_run():
    control = RunControl()
    events = []

    def callback(event):
        events.append(event)
        if isinstance(event, StepMetrics) and event.step >= 10:
            control.cancel()

    cfg = build_config(TINY, {"steps": 10_000})
    result = Trainer(cfg, callback, control).run()
    assert result.status == "stopped"
    assert 10 <= result.step < 20
    assert isinstance(events[-1], RunFinished) and events[-1].stopped
    assert "exact" in result.final  # a final eval ran on the stopped model


def test_pause_blocks_steps_until_resume():
    control = RunControl()
    seen = []
    paused_at = threading.Event()

    def callback(event):
        if isinstance(event, StepMetrics):
            seen.append(event.step)
            if event.step == 10 and not paused_at.is_set():
                control.pause()
                paused_at.set()

    cfg = build_config(TINY, {"steps": 40})
    thread = threading.Thread(target=lambda: Trainer(cfg, callback, control).run())
    thread.start()
    assert paused_at.wait(20)
    count = len(seen)
    thread.join(0.5)
    assert thread.is_alive() and len(seen) == count  # no progress while paused
    control.resume()
    thread.join(30)
    assert not thread.is_alive() and seen[-1] == 40


def test_abort_skips_closing_eval_and_checkpoint(tmp_path):
    control = RunControl()
    events = []

    def callback(event):
        events.append(event)
        if isinstance(event, StepMetrics) and event.step >= 5:
            control.abort()

    ckpt = tmp_path / "c.pt"
    result = Trainer(build_config(TINY, {"steps": 10_000}), callback, control, checkpoint_path=ckpt).run()
    assert result.status == "stopped" and result.step == 5
    assert not any(isinstance(e, EvalMetrics) for e in events)
    assert not ckpt.exists()


def test_calls_between_steps_run_in_the_training_thread_after_a_step():
    control = RunControl()
    ran = []
    trainer = Trainer(build_config(TINY), None, control)

    def callback(event):
        if isinstance(event, StepMetrics) and event.step == 10:
            control.call_between_steps(lambda: ran.append((threading.current_thread().name, trainer.step)))

    trainer.callback = callback
    thread = threading.Thread(target=trainer.run, name="training")
    thread.start()
    thread.join(30)
    assert ran == [("training", 10)]  # queued during step 10's logging, served at that step's safe point


# ------------------------------------------------------------- lr schedule
def test_cosine_lr_follows_the_formula_at_every_step():
    """The update made at 0-based step s uses lr·½(1+cos(π·s/steps)); StepMetrics
    after step k reports the lr of that step's update (s = k - 1)."""
    from rnntui.engine.trainer import scheduled_lr

    result, events = run({"lr_schedule": "cosine", "log_every": 1, "steps": 20})
    assert result.status == "finished"
    lrs = {e.step: e.lr for e in events if isinstance(e, StepMetrics)}
    assert sorted(lrs) == list(range(1, 21))
    for k, lr in lrs.items():
        assert lr == pytest.approx(0.01 * 0.5 * (1 + math.cos(math.pi * (k - 1) / 20)), rel=1e-12)
    assert lrs[1] == pytest.approx(0.01)  # full lr at the first update
    assert lrs[11] == pytest.approx(0.005)  # half way
    assert scheduled_lr(0.01, "cosine", 20, 20) == pytest.approx(0.0, abs=1e-18)
    assert scheduled_lr(0.01, "constant", 7, 20) == 0.01


def test_constant_lr_schedule_is_the_default_and_keeps_lr():
    result, events = run({"log_every": 1, "steps": 10})
    assert build_config(TINY).lr_schedule == "constant"
    assert {e.lr for e in events if isinstance(e, StepMetrics)} == {0.01}


def test_cosine_resume_equals_uninterrupted(tmp_path):
    """Cosine lr is a pure function of the step: 20 steps straight == 10, save, resume."""
    from rnntui.engine.checkpoint import load_checkpoint

    base = dict(TINY, lr_schedule="cosine", steps=20, eval_every=5, log_every=1)
    lrs_straight, lrs_resumed = [], []
    straight = Trainer(build_config(base), lambda e: isinstance(e, StepMetrics) and lrs_straight.append(e.lr)).run()
    control = RunControl()

    def stop_at_10(event):
        if isinstance(event, StepMetrics) and event.step == 10:
            control.cancel()

    first = Trainer(build_config(base), stop_at_10, control, checkpoint_path=tmp_path / "c.pt").run()
    assert first.status == "stopped" and first.step == 10
    resumed = Trainer(build_config(base), lambda e: isinstance(e, StepMetrics) and lrs_resumed.append(e.lr),
                      resume=load_checkpoint(tmp_path / "c.pt")).run()
    assert resumed.status == "finished" and resumed.step == 20
    assert resumed.steps == straight.steps  # every loss and gradient norm, bit for bit
    assert resumed.evals == straight.evals
    assert lrs_resumed == lrs_straight[10:]


def test_bad_lr_schedule_is_a_config_error():
    from rnntui.config import ConfigError

    with pytest.raises(ConfigError) as info:
        build_config(TINY, {"lr_schedule": "linear"})
    assert info.value.key == "lr_schedule"
    assert "constant" in str(info.value) and "cosine" in str(info.value)
