"""The first run teaches: the evaluation schedule (denser early), the verdict on
the baseline, and the TUI opening on its task's preset."""

from __future__ import annotations

from rnntui.config import build_config
from rnntui.config.presets import load_preset
from rnntui.config.request import make_request
from rnntui.engine.events import EvalMetrics
from rnntui.engine.schedule import EARLY_FACTOR, early_interval, eval_due, eval_steps
from rnntui.engine.trainer import Trainer
from rnntui.engine.verdict import judge

ADDING = [("mse", "MSE", False), ("acc", "acc", True)]
BITS = [("exact", "exact", True), ("bit_acc", "bit accuracy", True)]


# ------------------------------------------------------------------ schedule
def test_evaluations_come_five_times_as_often_until_eval_early():
    assert EARLY_FACTOR == 5 and early_interval(50) == 10 and early_interval(3) == 1
    assert eval_steps(400, 50, 200) == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150,
                                        160, 170, 180, 190, 200, 250, 300, 350, 400]
    assert eval_steps(30, 10) == [10, 20, 30]  # eval_early 0: the plain schedule
    assert eval_steps(23, 10, 0) == [10, 20, 23]  # and the last step
    assert not eval_due(0, 10, 100)


def test_the_trainer_evaluates_on_the_schedule():
    cfg = build_config({"task": "binary-addition", "cell": "gru", "hidden_size": 4, "batch_size": 8,
                        "steps": 25, "seq_len": 3, "eval_every": 10, "eval_early": 12, "eval_size": 16,
                        "n_samples": 0})
    events = []
    Trainer(cfg, events.append).run()
    assert [e.step for e in events if isinstance(e, EvalMetrics)] == [2, 4, 6, 8, 10, 12, 20, 25]


# ------------------------------------------------------------------- verdict
def test_a_lower_is_better_metric_is_judged_as_a_ratio_of_the_baseline():
    v = judge(ADDING, {"mse": 0.0007, "acc": 0.9}, {"mse": 1 / 6}, {"task": "adding"})
    assert v.metric == "mse" and v.level == "clear" and v.learned and v.advice == ""
    assert v.text == "MSE 0.0007: 238× below the baseline 0.167 — it learned"
    barely = judge(ADDING, {"mse": 0.12}, {"mse": 1 / 6}, {"task": "adding"})
    assert barely.level == "barely" and "1.4× below" in barely.text
    worse = judge(ADDING, {"mse": 0.172}, {"mse": 1 / 6},
                  {"task": "adding", "cell": "rnn", "lr": 0.001, "optimizer": "adam", "steps": 1000})
    assert worse.level == "none" and "not below the baseline 0.167 — it did not beat the baseline" in worse.text
    assert worse.advice == ("try a gated cell (cell gru or lstm) to carry information further; a larger learning "
                            "rate (lr 0.001 → 0.01); more steps (now 1000); the 'adding' preset's settings")


def test_an_accuracy_is_judged_by_the_way_from_the_baseline_to_one():
    # binary addition: exact has no baseline, bit accuracy (1/2) is judged
    v = judge(BITS, {"exact": 0.2, "bit_acc": 0.8}, {"bit_acc": 0.5}, {"task": "binary-addition"})
    assert v.metric == "bit_acc" and v.level == "clear"
    assert v.text == "bit accuracy 0.8: 60% of the way from the baseline 0.5 to 1 — it learned"
    short = judge(BITS, {"bit_acc": 0.7}, {"bit_acc": 0.5}, {"task": "x", "steps": 100, "epochs": 0},
                  step=40, total_steps=100)
    assert short.level == "barely"
    assert short.advice.startswith("try let it run to the end (stopped at step 40 of 100); more steps (now 100)")
    assert judge(BITS, {"exact": 1.0}, {}, {}) is None  # nothing to compare with


# ------------------------------------------------------------ the first run
def test_the_tui_opens_on_the_preset_of_its_task():
    request = make_request(task_defaults=True)
    assert request.preset is not None and request.preset.name == "adding"
    assert request.config == build_config(load_preset("adding").values)
    recall = make_request(None, {"task": "recall", "hidden_size": 12}, task_defaults=True)
    assert recall.preset.name == "recall" and recall.config.hidden_size == 12
    assert recall.config.seq_len_min == load_preset("recall").values["seq_len_min"]
    plain = make_request(None, {"task": "recall"})  # headless: defaults < flags, no preset
    assert plain.preset is None and plain.config.seq_len_min == 0


def test_the_first_run_evaluates_densely_while_it_learns():
    cfg = build_config(load_preset("adding").values)
    steps = eval_steps(cfg.steps, cfg.eval_every, cfg.eval_early)
    # the MSE leaves the baseline between steps ~100 and ~200 (bench/learning.py, seeds 0-3): 10 points there
    assert sum(100 <= s <= 200 for s in steps) >= 10 and len(steps) <= 30
