"""One tiny end-to-end training per task: the held-out metric must beat the
task's trivial baseline.  Each run takes a few seconds; the real learning
targets are measured by ``bench/learning.py``, not here."""

from __future__ import annotations

import pytest

from rnntui.config import build_config
from rnntui.engine.trainer import Trainer

COMMON = {"cell": "gru", "hidden_size": 16, "batch_size": 32, "lr": 0.01, "eval_size": 200, "seed": 0}

# task settings, metric, how far past the baseline it must get
CASES = {
    "xor": ({"task": "xor", "seq_len": 20, "steps": 150}, "acc", ">", 0.9),
    "echo": ({"task": "echo", "seq_len": 20, "lag": 1, "n_symbols": 4, "steps": 150}, "acc", ">", 0.6),
    "binary-addition": ({"task": "binary-addition", "seq_len": 6, "steps": 150}, "bit_acc", ">", 0.8),
    "recall": ({"task": "recall", "seq_len": 5, "seq_len_min": 3, "recall_index": 0, "steps": 150},
               "acc", ">", 0.3),
    "adding": ({"task": "adding", "seq_len": 10, "steps": 150}, "mse", "<", 0.1),
    "copy-memory": ({"task": "copy-memory", "seq_len": 8, "mem_dim": 2, "steps": 150}, "mse", "<", 0.06),
    "copy": ({"task": "copy", "seq_len": 4, "copy_len": 2, "n_symbols": 3, "steps": 300,
              "hidden_size": 32, "lr": 0.02}, "ce", "<", None),
    "digits": ({"task": "digits", "dataset": "digits-8x8", "steps": 100, "batch_size": 64}, "acc", ">", 0.6),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_tiny_model_beats_the_baseline(name):
    settings, metric, op, bound = CASES[name]
    cfg = build_config({**COMMON, "eval_every": settings["steps"], **settings})
    trainer = Trainer(cfg)
    result = trainer.run()
    assert result.status == "finished", result.reason
    value = result.final[metric]
    baseline = trainer.task.baseline()
    if bound is None:  # relative to the baseline: copy's memoryless cross-entropy
        bound = 0.5 * baseline[metric]
    if metric in baseline:
        # the bound itself must be a clear improvement on the trivial predictor
        assert (bound > baseline[metric]) if op == ">" else (bound < baseline[metric])
    assert value > bound if op == ">" else value < bound, f"{name}: {metric} {value:.4f}, needed {op} {bound:.4f}"
