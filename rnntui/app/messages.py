"""Messages of the TUI, as small dataclasses (Posting's pattern).

The training thread only ever posts :class:`EventBatch` (a few times a second);
everything else is posted on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from rnntui.tasks.spec import TaskSpec
    from rnntui.config import Config
    from rnntui.engine.events import Event


@dataclass
class EventBatch(Message):
    """Trainer events of one run, in order, collected over ~0.25 s."""

    run_id: str
    events: list["Event"]


@dataclass
class EngineReady(Message):
    """Torch and the task modules are imported (in a thread, after the first frame)."""

    tasks: dict[str, "TaskSpec"] = field(default_factory=dict)
    error: str = ""


@dataclass
class RunRejected(Message):
    """The worker refused to start a run: a task-level config problem or a bad checkpoint."""

    run_id: str
    key: str
    message: str


@dataclass
class FormChanged(Message):
    """The configuration form was edited: ``config`` is the valid result or None,
    ``errors`` maps field names to validator messages."""

    config: "Config | None"
    errors: dict[str, str] = field(default_factory=dict)
    task_changed: bool = False
