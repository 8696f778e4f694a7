"""The worker glue without a UI: batching, ordering, pause flush."""

from __future__ import annotations

import threading

from rnntui.app.worker import EventBuffer, UIRunControl
from rnntui.engine.events import Log, RunFinished, RunStarted, StepMetrics


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def step(i: int) -> StepMetrics:
    return StepMetrics("r", step=i, epoch=0, loss=1.0 / i, grad_norm=1.0, lr=0.1, elapsed_s=i * 0.01, steps_per_s=100.0)


def test_buffer_posts_a_few_batches_a_second_in_order():
    clock, batches = FakeClock(), []
    buffer = EventBuffer(batches.append, interval_s=0.25, clock=clock)
    buffer(RunStarted("r", config={}, params=1, device="cpu", input_size=1, output_size=1, total_steps=100))
    assert len(batches) == 1  # a new run shows at once
    for i in range(1, 101):  # 100 steps over one second
        clock.t = i * 0.01
        buffer(step(i))
    buffer(RunFinished("r", step=100, final={}, wall_time_s=1.0))
    assert 4 <= len(batches) <= 7  # ~4 a second plus start and end, never one per step
    flat = [e for batch in batches for e in batch]
    assert [e.step for e in flat if isinstance(e, StepMetrics)] == list(range(1, 101))
    assert isinstance(flat[-1], RunFinished)


def test_buffer_flushes_before_an_evaluation():
    clock, batches = FakeClock(), []
    buffer = EventBuffer(batches.append, interval_s=10.0, clock=clock)
    buffer.eval_every = 5
    for i in range(1, 5):
        buffer(step(i))
    assert batches == []
    buffer(step(5))  # an evaluation (a stall) follows step 5
    assert [e.step for e in batches[0]] == [1, 2, 3, 4, 5]


def test_control_flushes_before_blocking_and_cancel_releases_pause():
    flushed = []
    control = UIRunControl()
    control.before_block = lambda: flushed.append(True)
    control.pause()
    waiter = threading.Thread(target=control.wait_while_paused)
    waiter.start()
    control.cancel()
    waiter.join(timeout=1.0)
    assert not waiter.is_alive() and flushed == [True]


def test_flush_from_two_threads_keeps_every_event_once():
    batches = []
    buffer = EventBuffer(batches.append, interval_s=0.0)
    threads = [threading.Thread(target=lambda k=k: [buffer(Log("r", f"{k}-{i}")) for i in range(500)])
               for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    buffer.flush()
    messages = [e.message for b in batches for e in b]
    assert sorted(messages) == sorted(f"{k}-{i}" for k in range(2) for i in range(500))


def test_control_runs_calls_between_steps_and_while_paused():
    control, seen = UIRunControl(), []
    control.call_between_steps(lambda: seen.append(threading.current_thread().name))
    control.run_calls()  # the trainer's per-step safe point
    assert seen == ["MainThread"]
    control.pause()
    waiter = threading.Thread(target=control.wait_while_paused, name="trainer")
    waiter.start()
    control.call_between_steps(lambda: seen.append(threading.current_thread().name))
    for _ in range(100):
        if len(seen) == 2:
            break
        threading.Event().wait(0.02)
    assert seen == ["MainThread", "trainer"] and waiter.is_alive()  # served while still paused
    control.resume()
    waiter.join(timeout=1.0)
    assert not waiter.is_alive()


def test_a_checkpoint_that_does_not_fit_is_rejected_before_the_run_directory(tmp_path):
    import pytest

    from rnntui.app.worker import TrainJob, run_training
    from rnntui.config import ConfigError, build_config
    from rnntui.engine.checkpoint import save_checkpoint
    from rnntui.engine.trainer import Trainer
    from rnntui.config.presets import load_preset

    values = {**load_preset("smoke").values, "steps": 2, "eval_every": 2, "eval_size": 16, "n_samples": 0}
    trainer = Trainer(build_config(values))
    trainer.setup()
    path = save_checkpoint(tmp_path / "ckpt.pt", trainer.checkpoint_payload())
    cfg = build_config(values, {"hidden_size": trainer.cfg.hidden_size + 3})
    run_dir = tmp_path / "run"
    with pytest.raises(ConfigError) as info:
        run_training(TrainJob(cfg, "r", UIRunControl(), lambda events: None, run_dir, str(path)))
    assert info.value.key == "resume" or "hidden_size" in str(info.value)
    assert not run_dir.exists()
