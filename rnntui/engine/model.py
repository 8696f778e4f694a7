"""A recurrent cell plus a linear read-out: the network every task trains.

``x: (B, T, I)`` -> cell outputs ``(B, T, D·H_out)`` -> linear head.
Per-step tasks read every step ``(B, T, O)``; the others read the last step
``(B, O)`` (for a bidirectional cell the last step's backward half has seen the
whole sequence too).
"""

from __future__ import annotations

import threading
from typing import Any

import torch
from torch import nn

from rnntui.cells import build_cell, cell_spec
from rnntui.config import Config
from rnntui.tasks.base import Task

BUILD_LOCK = threading.Lock()
"""Held around seeding the process-wide CPU generator and :func:`build_model` (the
trainer's set-up, the Inspect view's untrained model): no two threads interleave them."""


class SequenceModel(nn.Module):
    def __init__(self, rnn: nn.Module, features: int, output_size: int, per_step: bool) -> None:
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(features, output_size)
        self.per_step = per_step

    def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        seq, state = self.rnn(x, state)
        if not self.per_step:
            seq = seq[:, -1]
        return self.head(seq), state


def build_model(cfg: Config, task: Task) -> SequenceModel:
    """The model for ``cfg`` on ``task`` (on the CPU; move it yourself)."""
    rnn = build_cell(
        cfg.cell,
        backend=cfg.backend,
        input_size=task.input_size,
        hidden_size=cfg.hidden_size,
        num_layers=cfg.num_layers,
        bidirectional=cfg.bidirectional,
        dropout=cfg.dropout,
        bias=cfg.bias,
        batch_first=True,
        init=cfg.init,
        init_std=cfg.init_std,
        chrono_tmax=cfg.seq_len,
        **{name: getattr(cfg, name) for name in cell_spec(cfg.cell).option_names},
    )
    features = (cfg.proj_size or cfg.hidden_size) * (2 if cfg.bidirectional else 1)
    model = SequenceModel(rnn, features, task.output_size, task.per_step)
    if cfg.init == "normal":
        nn.init.normal_(model.head.weight, std=cfg.init_std)
        nn.init.zeros_(model.head.bias)
    return model


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def detach_state(state: Any) -> Any:
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()
