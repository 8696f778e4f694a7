"""Sequence tasks, one module each, declared by their ``SPEC`` (see ``spec``).

Importing this package loads nothing heavy: the names below are looked up on
first use, so the torch-free specs can be read without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from rnntui.tasks.spec import Metric, TaskSpec, task_specs

_BASE = ("Batch", "Task")
_REGISTRY = ("available_tasks", "build_task", "task_class")

__all__ = ["Metric", "TaskSpec", "task_specs", *_BASE, *_REGISTRY]


def __getattr__(name: str) -> Any:
    if name in _BASE:
        return getattr(importlib.import_module("rnntui.tasks.base"), name)
    if name in _REGISTRY:
        return getattr(importlib.import_module("rnntui.tasks.registry"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
