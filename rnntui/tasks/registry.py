"""Task registry: name -> Task class.  A task module registers itself with
``@register``; :func:`get_task` imports all task modules on first use."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from rnntui.config import Config, ConfigError
from rnntui.config.names import TASK_NAMES

if TYPE_CHECKING:
    from rnntui.tasks.base import Task

TASKS: dict[str, type["Task"]] = {}

_MODULES = {
    "adding": "adding",
    "binary-addition": "binary_addition",
    "copy": "copy",
    "copy-memory": "copy_memory",
    "digits": "digits",
    "echo": "echo",
    "recall": "recall",
    "xor": "xor",
}


def register(cls: type["Task"]) -> type["Task"]:
    TASKS[cls.name] = cls
    return cls


def task_class(name: str) -> type["Task"]:
    if name not in TASKS:
        if name not in _MODULES:
            raise ConfigError("task", f"got {name!r}; allowed: {', '.join(TASK_NAMES)}")
        try:
            importlib.import_module(f"rnntui.tasks.{_MODULES[name]}")
        except ModuleNotFoundError as exc:
            raise ConfigError("task", f"task {name!r} is not available in this build ({exc.name})") from None
    return TASKS[name]


def build_task(cfg: Config) -> "Task":
    return task_class(cfg.task)(cfg)


def available_tasks() -> list[str]:
    """Registered task names whose module imports."""
    names = []
    for name in TASK_NAMES:
        try:
            task_class(name)
        except ConfigError:
            continue
        names.append(name)
    return names
