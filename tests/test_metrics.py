"""Metric keys: the value type for "name@L", and where it is written and read."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rnntui.engine.experiment.results import choose_columns
from rnntui.engine.metrics import MetricKey, keys_named, training_length_names
from rnntui.engine.record import RunRecord


@pytest.mark.parametrize("text,key", [
    ("acc", MetricKey("acc")),
    ("acc@16", MetricKey("acc", 16)),
    ("val_loss@1000", MetricKey("val_loss", 1000)),
    ("bit_acc", MetricKey("bit_acc", None)),
    # not a length: the text stays the name, so every key read from disk parses
    ("acc@0", MetricKey("acc@0")),
    ("acc@x", MetricKey("acc@x")),
    ("acc@016", MetricKey("acc@016")),
    ("@5", MetricKey("@5")),
    ("a@b@3", MetricKey("a@b", 3)),
])
def test_parse_and_str_round_trip(text, key):
    assert MetricKey.parse(text) == key
    assert str(key) == text


def test_keys_compare_as_values_and_move_between_lengths():
    key = MetricKey("acc", 16)
    assert key == MetricKey.parse("acc@16") and hash(key) == hash(MetricKey("acc", 16))
    assert not key.at_training_length and MetricKey("acc").at_training_length
    assert key.at(None) == MetricKey("acc") and str(MetricKey("acc").at(32)) == "acc@32"


def test_selecting_keys_by_name_and_length():
    names = ["val_loss", "acc", "exact", "val_loss@16", "acc@16", "acc@32", "accuracy@8"]
    assert keys_named(names, "acc") == ["acc", "acc@16", "acc@32"]  # not "accuracy@8"
    assert training_length_names(names) == ["val_loss", "acc", "exact"]
    assert choose_columns(names, ["acc", "exact"], limit=4) == ["acc", "exact", "acc@16", "acc@32"]
    assert choose_columns(names, [], limit=2) == ["val_loss", "acc"]


def test_evaluation_writes_name_at_length_keys():
    import torch

    from rnntui.config import build_config
    from rnntui.config.presets import load_preset
    from rnntui.engine.evaluate import evaluate
    from rnntui.engine.model import build_model
    from rnntui.tasks import build_task

    cfg = build_config(load_preset("smoke").values, {"eval_size": 8, "eval_lengths": [5]})
    torch.manual_seed(0)
    task = build_task(cfg)
    model = build_model(cfg, task)
    sets = task.eval_sets(torch.Generator().manual_seed(1))
    metrics, _ = evaluate(model, task, sets, torch.device("cpu"), segment=cfg.seq_len)
    plain = [k for k in metrics if MetricKey.parse(k).at_training_length]
    assert "val_loss" in plain and "val_loss@5" in metrics
    assert sorted(metrics) == sorted(plain + [str(MetricKey(k, 5)) for k in plain])


def test_record_plots_label_lengths_from_keys():
    from rnntui.app.run_view import loss_plot, metric_plot

    record = RunRecord("r", {"task": "echo"})
    record.evals = [{"step": 10, "epoch": 0, "metrics": {"val_loss": 1.0, "acc": 0.5, "val_loss@64": 2.0,
                                                         "acc@64": 0.25}}]
    assert [line.label for line in loss_plot(record).lines] == ["train", "val", "val@64"]
    data = metric_plot(record, None)
    assert data is not None and [(line.label, line.ys) for line in data.lines] == [("val", [0.5]),
                                                                                  ("len 64", [0.25])]


def test_metrics_module_imports_nothing_heavy():
    code = ("import sys, rnntui.engine.metrics; "
            "sys.exit(1 if {'torch', 'textual'} & set(sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
