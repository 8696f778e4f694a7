"""Recurrent cells written from scratch.

* :class:`RNN`, :class:`LSTM`, :class:`GRU` — drop-in replacements for
  ``torch.nn.RNN/LSTM/GRU`` (same constructor, forward, state_dict).
* :class:`MultiplicativeLSTM`, :class:`MultiplicativeGRU` — the seed
  notebook's multiplicative cells (input gated by ``m_t = W_m x + U_m h + b_m``).
* :func:`build_cell` — build any of them (or a torch built-in) by name.
* :func:`trace_cell` — gates and per-step hidden states for inspection.
* :func:`cell_specs` — what each cell is (torch-free, see :mod:`.spec`).

Importing this package loads nothing heavy: the names above are looked up on
first use, so the torch-free spec can be read without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from .spec import CellSpec, Gate, cell_spec, cell_specs

_REGISTRY = ("BACKENDS", "CELL_NAMES", "INIT_SCHEMES", "build_cell", "cell_class", "init_cell", "scratch_twin",
             "spec_of", "state_is_tuple", "supports_builtin", "trace_cell")

__all__ = ["CellSpec", "Gate", "RecurrentBase", "cell_spec", "cell_specs", *_REGISTRY,
           *(s.cls for s in cell_specs().values())]


def __getattr__(name: str) -> Any:
    if name == "RecurrentBase":
        return importlib.import_module(".base", __name__).RecurrentBase
    if name in _REGISTRY:
        return getattr(importlib.import_module(".registry", __name__), name)
    for spec in cell_specs().values():
        if spec.cls == name:
            return getattr(importlib.import_module(spec.module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
