"""Tasks: targets on hand-made examples, baselines, determinism, option checks.

None of these tests trains a model except the two Trainer determinism checks,
which run a few steps of a tiny one.
"""

from __future__ import annotations

import math

import pytest
import torch

from rnntui.config import ConfigError, build_config
from rnntui.tasks import build_task
from rnntui.tasks.base import Batch
from rnntui.tasks.spec import task_specs

ALL_TASKS = tuple(task_specs())

# small settings per task, valid for every task
SMALL = {
    "adding": {"seq_len": 20},
    "binary-addition": {"seq_len": 8},
    "copy": {"seq_len": 6, "copy_len": 3, "n_symbols": 4},
    "copy-memory": {"seq_len": 12, "mem_dim": 3},
    "digits": {"dataset": "digits-8x8"},
    "echo": {"seq_len": 12, "lag": 3, "n_symbols": 5},
    "recall": {"seq_len": 9, "seq_len_min": 3, "recall_index": 1},
    "xor": {"seq_len": 16},
}


def test_every_registered_task_has_small_settings():
    assert set(SMALL) == set(ALL_TASKS)  # a new task adds its small settings here


def task_for(name: str, **changes):
    return build_task(build_config({"task": name, **SMALL[name], **changes}))


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def output_shape(task, batch: Batch) -> tuple[int, ...]:
    if task.per_step:
        return (batch.size, batch.length, task.output_size)
    return (batch.size, task.output_size)


# ------------------------------------------------------------------ generic
@pytest.mark.parametrize("name", ALL_TASKS)
def test_every_task_builds_batches_of_the_declared_shapes(name):
    task = task_for(name)
    assert task.name == name
    batch = task.train_batch(0, gen())
    assert batch.x.dtype == torch.float32
    assert batch.x.shape[0] == task.cfg.batch_size
    assert batch.x.shape[2] == task.input_size
    out = torch.zeros(output_shape(task, batch))
    loss = task.loss(out, batch)
    assert loss.dim() == 0 and math.isfinite(float(loss))
    metrics = task.metrics(out, batch)
    assert {m.name for m in task.metric_infos} <= set(metrics)
    rows = task.render(out, batch, 3)
    assert len(rows) == 3 and all(isinstance(ok, bool) for _, ok in rows)
    assert all(str(text) for text, _ in rows)


@pytest.mark.parametrize("name", [n for n in ALL_TASKS if n != "digits"])
def test_same_seed_gives_the_same_batch_and_another_seed_does_not(name):
    task = task_for(name)
    a, b, c = (task.make_batch(16, task.cfg.seq_len, gen(s)) for s in (5, 5, 6))
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert (a.mask is None and b.mask is None) or torch.equal(a.mask, b.mask)
    assert not torch.equal(a.x, c.x)


def test_digits_epoch_order_is_seeded():
    task = task_for("digits")
    first = [task.train_batch(s, gen(3)).y for s in range(2)]
    again = task_for("digits")
    g = gen(3)
    second = [again.train_batch(s, g).y for s in range(2)]
    assert torch.equal(first[0], second[0])


@pytest.mark.parametrize("name", ["adding", "copy", "copy-memory", "echo", "recall", "xor", "binary-addition"])
def test_eval_lengths_give_extra_held_out_sets_of_that_length(name):
    task = task_for(name, eval_lengths=[30], eval_size=40)
    sets = task.eval_sets(gen(1))
    assert set(sets) == {None, 30}
    assert sum(b.size for b in sets[30]) == 40
    extra = sets[30][0]
    expected = {"copy": 30 + 2 * 3, "binary-addition": 31}.get(name, 30)
    assert extra.length == expected


@pytest.mark.parametrize("name,loss", [("copy", "mse"), ("echo", "bce"), ("xor", "ce"), ("recall", "mse"),
                                       ("copy-memory", "ce"), ("digits", "bce"), ("adding", "ce")])
def test_a_loss_the_task_cannot_use_is_a_config_error_naming_loss(name, loss):
    with pytest.raises(ConfigError) as err:
        task_for(name, loss=loss)
    assert err.value.key == "loss"


# ------------------------------------------------------------------- adding
def test_adding_target_is_the_sum_of_exactly_the_two_marked_values():
    task = task_for("adding")
    batch = task.make_batch(200, 20, gen())
    values, marks = batch.x[..., 0], batch.x[..., 1]
    assert torch.equal(marks.sum(1), torch.full((200,), 2.0))
    first = marks[:, :10].argmax(1)
    second = 10 + marks[:, 10:].argmax(1)
    expected = values[torch.arange(200), first] + values[torch.arange(200), second]
    assert torch.allclose(batch.y[:, 0], expected)
    assert marks[:, :10].sum(1).eq(1).all()  # fixed length: one mark per half


def test_adding_variable_length_marks_two_distinct_steps():
    task = task_for("adding", seq_len=9, seq_len_min=3)
    lengths = {task.train_length(g) for g in [gen(0)] for _ in range(200)}
    assert lengths == set(range(3, 10))
    batch = task.make_batch(500, 3, gen())
    assert batch.x[..., 1].sum(1).eq(2).all()
    assert torch.allclose(batch.y[:, 0], (batch.x[..., 0] * batch.x[..., 1]).sum(1))


def test_adding_predict_one_baseline_is_one_sixth():
    task = task_for("adding", seq_len=50)
    batch = task.make_batch(100_000, 50, gen())
    mse = task.metrics(torch.ones(100_000, 1), batch)["mse"]
    assert mse == pytest.approx(1 / 6, abs=0.003)
    assert task.baseline()["mse"] == pytest.approx(0.1667, abs=1e-4)


# ---------------------------------------------------------- binary addition
def test_binary_addition_of_5_and_3_gives_the_bits_of_8():
    from rnntui.tasks.binary_addition import add_bits, bits_to_int

    five = torch.tensor([[1, 0, 1, 0]])  # LSB first
    three = torch.tensor([[1, 1, 0, 0]])
    total = add_bits(five, three)
    assert total.tolist() == [[0, 0, 0, 1, 0]]
    assert bits_to_int(total[0]) == 8


def test_binary_addition_targets_are_the_sums_of_the_input_numbers():
    from rnntui.tasks.binary_addition import bits_to_int

    task = task_for("binary-addition", seq_len=12)
    batch = task.make_batch(50, 12, gen())
    assert batch.x.shape == (50, 13, 2) and batch.y.shape == (50, 13)
    for i in range(50):
        a = bits_to_int(batch.x[i, :, 0].long())
        b = bits_to_int(batch.x[i, :, 1].long())
        assert bits_to_int(batch.y[i].long()) == a + b


@pytest.mark.parametrize("loss,outputs", [("bce", 1), ("mse", 1), ("ce", 2)])
def test_binary_addition_perfect_logits_score_exact_one_for_every_loss(loss, outputs):
    task = task_for("binary-addition", loss=loss)
    assert task.output_size == outputs
    batch = task.make_batch(64, 8, gen())
    if outputs == 1:
        out = (batch.y * 2 - 1).unsqueeze(-1) * 10
    else:
        out = torch.stack([-(batch.y * 2 - 1), batch.y * 2 - 1], -1) * 10
    assert task.metrics(out, batch) == {"exact": 1.0, "bit_acc": 1.0}
    assert float(task.loss(out, batch)) < 1e-3
    flipped = out.clone()
    flipped[0, 3] = -flipped[0, 3]
    metrics = task.metrics(flipped, batch)
    assert metrics["exact"] == pytest.approx(63 / 64)
    assert metrics["bit_acc"] == pytest.approx(1 - 1 / (64 * 9))


def test_binary_addition_rejects_variable_length():
    with pytest.raises(ConfigError) as err:
        task_for("binary-addition", seq_len_min=4)
    assert err.value.key == "seq_len_min"


# --------------------------------------------------------------------- copy
def test_copy_layout_payload_delay_delimiter_then_answer():
    task = task_for("copy")  # T = 6, K = 3, A = 4
    batch = task.make_batch(8, 6, gen())
    assert batch.x.shape == (8, 12, 6) and batch.y.shape == (8, 12)
    assert task.input_size == 6 and task.output_size == 5
    tokens = batch.x.argmax(-1)
    assert torch.equal(batch.x.sum(-1), torch.ones(8, 12))  # one-hot
    payload = tokens[:, :3]
    assert ((payload >= 1) & (payload <= 4)).all()
    assert (tokens[:, 3:8] == 0).all()  # T-1 = 5 blanks
    assert (tokens[:, 8] == 5).all()  # the delimiter, A+1
    assert (tokens[:, 9:] == 0).all()  # blanks while answering
    assert (batch.y[:, :9] == 0).all()
    assert torch.equal(batch.y[:, 9:], payload)  # the payload comes after the delimiter


def test_copy_memoryless_baseline_through_the_tasks_own_loss():
    """Blank for the first T+K steps, uniform over the A symbols on the K
    answer steps: CE = K·ln(A)/(T+2K), averaged over every step."""
    for delay, k, a in [(6, 3, 4), (100, 10, 8)]:
        task = task_for("copy", seq_len=delay, copy_len=k, n_symbols=a)
        batch = task.make_batch(64, delay, gen())
        out = torch.full((64, delay + 2 * k, a + 1), -1e4)
        out[:, : delay + k, 0] = 0.0  # certain blank
        out[:, delay + k :, 1:] = 0.0  # uniform over the symbols
        expected = k * math.log(a) / (delay + 2 * k)
        assert float(task.loss(out, batch)) == pytest.approx(expected, rel=1e-5)
        assert task.baseline()["ce"] == pytest.approx(expected, rel=1e-9)
        assert task.metrics(out, batch)["ce"] == pytest.approx(expected, rel=1e-5)


def test_copy_metrics_count_the_answer_steps():
    task = task_for("copy")
    batch = task.make_batch(4, 6, gen())
    perfect = torch.nn.functional.one_hot(batch.y, 5).float() * 20
    metrics = task.metrics(perfect, batch)
    assert metrics["acc"] == 1.0 and metrics["exact"] == 1.0 and metrics["ce"] < 1e-6
    wrong = perfect.clone()
    wrong[0, -1] = wrong[0, -1].roll(1)  # one symbol of one sequence wrong
    metrics = task.metrics(wrong, batch)
    assert metrics["acc"] == pytest.approx(11 / 12)
    assert metrics["exact"] == pytest.approx(3 / 4)
    rows = task.render(wrong, batch, 2)
    assert [ok for _, ok in rows] == [False, True]
    assert any("red" in str(span.style) for span in rows[0][0].spans)


def test_copy_eval_lengths_are_delays():
    task = task_for("copy", eval_lengths=[20], eval_size=10)
    batch = task.eval_sets(gen())[20][0]
    assert batch.length == 20 + 6
    assert (batch.x.argmax(-1)[:, 3 + 20 - 1] == 5).all()


# --------------------------------------------------------------------- echo
def test_echo_targets_are_the_digits_lag_steps_back():
    task = task_for("echo")  # lag 3, A = 5
    batch = task.make_batch(10, 12, gen())
    digits = batch.x.argmax(-1)
    assert torch.equal(batch.y[:, 3:], digits[:, :-3])
    assert batch.mask[:, :3].eq(False).all() and batch.mask[:, 3:].all()
    assert task.streaming and task.per_step


def test_echo_hand_made_stream_and_accuracy():
    task = task_for("echo", lag=1)
    digits = torch.tensor([[2, 4, 1, 0, 3]])
    x = torch.nn.functional.one_hot(digits, 5).float()
    y = torch.tensor([[0, 2, 4, 1, 0]])
    mask = torch.tensor([[False, True, True, True, True]])
    batch = Batch(x, y, mask, meta={"digits": digits})
    echo_out = torch.nn.functional.one_hot(torch.tensor([[0, 2, 4, 1, 0]]), 5).float()
    assert task.metrics(echo_out, batch)["acc"] == 1.0
    copy_out = x  # a memoryless net repeating the current digit
    assert task.metrics(copy_out, batch)["acc"] == 0.0
    assert task.baseline()["acc"] == pytest.approx(0.2)


def test_echo_lag_must_be_shorter_than_the_training_sequences():
    with pytest.raises(ConfigError) as err:
        task_for("echo", lag=12)
    assert err.value.key == "lag"
    with pytest.raises(ConfigError) as err:
        task_for("echo", lag=3, eval_lengths=[100, 3])
    assert err.value.key == "eval_lengths"


def test_xor_needs_two_steps_everywhere():
    with pytest.raises(ConfigError) as err:
        task_for("xor", eval_lengths=[1])
    assert err.value.key == "eval_lengths"


# -------------------------------------------------------------- copy-memory
def test_copy_memory_target_is_the_first_vector_then_noise():
    task = task_for("copy-memory")
    batch = task.make_batch(32, 12, gen())
    assert batch.x.shape == (32, 12, 3) and batch.y.shape == (32, 3)
    assert torch.equal(batch.y, batch.x[:, 0])
    noise = batch.x[:, 1:]
    assert noise.min() >= 0 and noise.max() <= 0.1


def test_copy_memory_predict_the_mean_baseline_is_one_twelfth():
    task = task_for("copy-memory", mem_dim=10)
    batch = task.make_batch(50_000, 2, gen())
    metrics = task.metrics(torch.full((50_000, 10), 0.5), batch)
    assert metrics["mse"] == pytest.approx(1 / 12, abs=0.001)
    assert task.baseline()["mse"] == pytest.approx(1 / 12)
    assert task.metrics(batch.y.clone(), batch) == {"mse": 0.0, "acc": 1.0}


# ---------------------------------------------------------------------- xor
def test_xor_hand_made_targets():
    task = task_for("xor")
    bits = torch.tensor([1, 0, 0, 1, 1, 0])
    expected = [1, 0, 1, 0, 1]  # x_t XOR x_{t-1}, t >= 1
    batch = task.make_batch(300, 6, gen())
    rows = (batch.x[..., 0].long() == bits).all(1).nonzero()
    assert len(rows), "the 300 random rows should contain this 6-bit pattern"
    i = int(rows[0])
    assert batch.y[i, 1:].long().tolist() == expected
    assert not batch.mask[i, 0] and batch.mask[i, 1:].all()


def test_xor_targets_and_the_memoryless_half():
    task = task_for("xor", seq_len=40)
    batch = task.make_batch(2000, 40, gen())
    bits = batch.x[..., 0].long()
    assert torch.equal(batch.y[:, 1:].long(), bits[:, 1:] ^ bits[:, :-1])
    right = (batch.y * 2 - 1).unsqueeze(-1) * 5
    assert task.metrics(right, batch)["acc"] == 1.0
    current = (batch.x * 2 - 1) * 5  # predict the current bit: no memory
    assert task.metrics(current, batch)["acc"] == pytest.approx(0.5, abs=0.01)


# ------------------------------------------------------------------- recall
def test_recall_target_is_the_digit_at_index_k():
    for k in (0, 2):
        task = task_for("recall", recall_index=k)
        batch = task.make_batch(500, 5, gen())
        digits = batch.x.argmax(-1)
        assert torch.equal(batch.y, digits[:, k])
        assert set(digits.unique().tolist()) == set(range(10))  # the seed never drew a 9


def test_recall_hand_made_accuracy():
    task = task_for("recall", recall_index=1)
    digits = torch.tensor([[3, 9, 4], [7, 0, 0]])
    batch = Batch(torch.nn.functional.one_hot(digits, 10).float(), torch.tensor([9, 0]), meta={"digits": digits})
    out = torch.nn.functional.one_hot(torch.tensor([9, 7]), 10).float()
    assert task.metrics(out, batch)["acc"] == 0.5
    assert [ok for _, ok in task.render(out, batch, 2)] == [True, False]


def test_recall_index_must_be_below_the_shortest_length():
    with pytest.raises(ConfigError) as err:
        task_for("recall", recall_index=3)  # seq_len_min = 3
    assert err.value.key == "recall_index"
    with pytest.raises(ConfigError) as err:
        task_for("recall", recall_index=5, seq_len_min=0, seq_len=5)
    assert err.value.key == "recall_index"
    with pytest.raises(ConfigError) as err:
        task_for("recall", recall_index=2, eval_lengths=[2, 20])
    assert err.value.key == "eval_lengths"


def test_recall_held_out_set_covers_every_length():
    task = task_for("recall", eval_size=700)
    lengths = {b.length for b in task.eval_sets(gen())[None]}
    assert lengths == set(range(3, 10))


# ------------------------------------------------------------------- digits
def test_digits_8x8_rows_are_time_steps_and_pixels_in_unit_range():
    task = task_for("digits")
    assert task.input_size == 8 and task.output_size == 10 and task.finite
    batch = task.train_batch(0, gen())
    assert batch.x.shape == (32, 8, 8)
    assert 0.0 <= float(batch.x.min()) and float(batch.x.max()) <= 1.0
    assert batch.y.dtype == torch.long and 0 <= int(batch.y.min()) and int(batch.y.max()) <= 9


def test_digits_split_is_disjoint_and_every_epoch_covers_the_training_set_once():
    task = task_for("digits", batch_size=100)
    n_train, n_held = task.train_y.shape[0], task.held_y.shape[0]
    assert n_train + n_held == 1797 and n_held == round(1797 * 0.2)
    assert task.steps_per_epoch == math.ceil(n_train / 100)
    g = gen()
    epoch = [task.train_batch(s, g) for s in range(task.steps_per_epoch)]
    assert sum(b.size for b in epoch) == n_train
    assert torch.equal(torch.cat([b.y for b in epoch]).bincount(minlength=10),
                       task.train_y.bincount(minlength=10))
    seen = torch.cat([b.x for b in epoch]).flatten(1)
    assert torch.allclose(seen.sum(0), task.train_x.flatten(1).sum(0), atol=1e-3)
    next_epoch = task.train_batch(task.steps_per_epoch, g)
    assert not torch.equal(next_epoch.y, epoch[0].y)
    held = task.eval_sets(gen())
    assert list(held) == [None] and sum(b.size for b in held[None]) == n_held
    train_rows = {tuple(r) for r in task.train_x.flatten(1).mul(16).round().int().tolist()}
    held_rows = [tuple(r) for r in task.held_x.flatten(1).mul(16).round().int().tolist()]
    assert sum(r in train_rows for r in held_rows) < 0.05 * n_held  # a few duplicate images only


def test_mnist_5k_is_shuffled_before_the_held_out_split():
    task = task_for("digits", dataset="mnist-5k")
    assert task.input_size == 28 and task.rows == 28
    assert task.held_y.shape[0] == 1000
    counts = task.held_y.bincount(minlength=10)
    assert int(counts.min()) >= 60, f"held-out labels should be mixed, got {counts.tolist()}"
    again = task_for("digits", dataset="mnist-5k", seed=7)
    assert torch.equal(again.held_y, task.held_y)  # the split does not depend on the run's seed


def test_digits_confusion_and_render():
    from rnntui.tasks.digits import confusion

    task = task_for("digits")
    batch = task.eval_sets(gen())[None][0]
    out = torch.nn.functional.one_hot(batch.y, 10).float()
    out[0] = torch.nn.functional.one_hot((batch.y[0] + 1) % 10, 10).float()
    matrix = confusion(out, batch)
    assert matrix.shape == (10, 10) and int(matrix.sum()) == batch.size
    assert int(matrix.trace()) == batch.size - 1
    assert int(matrix[batch.y[0], (batch.y[0] + 1) % 10]) == 1
    assert task.metrics(out, batch)["acc"] == pytest.approx(1 - 1 / batch.size)
    (text, ok), (text2, ok2) = task.render(out, batch, 2)
    assert not ok and ok2
    assert f"true {int(batch.y[0])} → predicted {(int(batch.y[0]) + 1) % 10}" in str(text)
    assert any(ch in str(text) for ch in "▀▄█")
    assert len(str(text).splitlines()) == 8 + 1  # 16 doubled rows as 8 half-block lines + label


def test_digits_rejects_eval_lengths():
    with pytest.raises(ConfigError) as err:
        task_for("digits", eval_lengths=[16])
    assert err.value.key == "eval_lengths"


def test_digits_mnist_missing_files_offline_is_a_config_error_naming_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNTUI_OFFLINE", "1")
    with pytest.raises(ConfigError) as err:
        task_for("digits", dataset="mnist", data_dir=str(tmp_path))
    assert err.value.key == "data_dir"
    assert "train-images-idx3-ubyte" in str(err.value) and str(tmp_path) in str(err.value)


# ----------------------------------------------------------- trainer checks
@pytest.mark.parametrize("name,changes", [
    ("copy", {"hidden_size": 8, "steps": 6}),
    ("echo", {"hidden_size": 8, "steps": 6, "eval_lengths": [30]}),
    ("digits", {"hidden_size": 8, "steps": 6}),
])
def test_two_trainer_runs_with_the_same_seed_give_identical_metrics(name, changes):
    from rnntui.engine.trainer import Trainer

    cfg = build_config({"task": name, **SMALL[name], "batch_size": 16, "eval_every": 3,
                        "eval_size": 64, "cell": "gru", **changes})
    first, second = Trainer(cfg).run(), Trainer(cfg).run()
    assert first.status == second.status == "finished"
    assert first.final == second.final
    assert [e["metrics"] for e in first.evals] == [e["metrics"] for e in second.evals]
    assert "acc" in first.final
    if name == "echo":
        assert "acc@30" in first.final


def test_adding_rejects_eval_length_below_two():
    from rnntui.config import ConfigError, build_config
    from rnntui.tasks import build_task

    with pytest.raises(ConfigError) as info:
        build_task(build_config({"task": "adding", "eval_lengths": [1, 50]}))
    assert info.value.key == "eval_lengths" and "lengths >= 2" in str(info.value)
