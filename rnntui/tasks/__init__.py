"""Sequence tasks, one module each, registered by name (see ``registry``)."""

from rnntui.tasks.base import Batch, MetricInfo, Task
from rnntui.tasks.registry import TASKS, available_tasks, build_task, register, task_class

__all__ = ["Batch", "MetricInfo", "Task", "TASKS", "available_tasks", "build_task", "register", "task_class"]
