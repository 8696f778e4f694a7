"""Task registry: name -> Task class, from the tasks' specs.

A task module is imported the first time its task is built (its spec says
which module and class); the specs themselves are read without importing
anything (see :mod:`rnntui.tasks.spec`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from rnntui.config import Config, ConfigError
from rnntui.tasks.spec import task_specs

if TYPE_CHECKING:
    from rnntui.tasks.base import Task


def task_class(name: str) -> type["Task"]:
    specs = task_specs()
    if name not in specs:
        raise ConfigError("task", f"got {name!r}; allowed: {', '.join(specs)}")
    spec = specs[name]
    try:
        module = importlib.import_module(spec.module)
    except ModuleNotFoundError as exc:
        raise ConfigError("task", f"task {name!r} is not available in this build ({exc.name})") from None
    return getattr(module, spec.cls)


def build_task(cfg: Config) -> "Task":
    return task_class(cfg.task)(cfg)


def available_tasks() -> list[str]:
    """Registered task names whose module imports."""
    names = []
    for name in task_specs():
        try:
            task_class(name)
        except ConfigError:
            continue
        names.append(name)
    return names
