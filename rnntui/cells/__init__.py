"""Recurrent cells written from scratch.

* :class:`RNN`, :class:`LSTM`, :class:`GRU` — drop-in replacements for
  ``torch.nn.RNN/LSTM/GRU`` (same constructor, forward, state_dict).
* :class:`MultiplicativeLSTM`, :class:`MultiplicativeGRU` — the seed
  notebook's multiplicative cells (input gated by ``m_t = W_m x + U_m h + b_m``).
* :func:`build_cell` — build any of them (or a torch built-in) by name.
* :func:`trace_cell` — gates and per-step hidden states for inspection.
"""

from .base import RecurrentBase
from .gru import GRU
from .lstm import LSTM
from .mgru import MultiplicativeGRU
from .mlstm import MultiplicativeLSTM
from .registry import (
    BACKENDS,
    CELL_CLASSES,
    CELL_NAMES,
    INIT_SCHEMES,
    build_cell,
    init_cell,
    scratch_twin,
    state_is_tuple,
    supports_builtin,
    trace_cell,
)
from .rnn import RNN

__all__ = [
    "RNN", "LSTM", "GRU", "MultiplicativeLSTM", "MultiplicativeGRU", "RecurrentBase",
    "build_cell", "init_cell", "CELL_NAMES", "CELL_CLASSES", "BACKENDS", "INIT_SCHEMES",
    "trace_cell", "scratch_twin", "supports_builtin", "state_is_tuple",
]
