"""What a task is, in one torch-free declaration per task module.

Every task module holds::

    SPEC = TaskSpec(name="echo", cls="EchoTask", title=..., metrics=(Metric(...), ...),
                    baseline="...", options=(Key("lag", int, 1, "...", lo=1, hi=1000), "n_symbols"), ...)

and its class is declared with ``class EchoTask(Task, spec=SPEC)``.  ``options``
are the config keys the task reads beyond the common ones: a :class:`Key`
declares a new key (its type, default, bounds and help live there and nowhere
else), a name refers to a key declared elsewhere (a common key such as
``seq_len_min``, or another task's).  Config validation, the form, the flags and
the experiment tables read these specs through :func:`task_specs`, without
importing torch.  Adding a task is adding one module and one preset of the same
name (its recommended settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from rnntui.config.declared import declared_specs
from rnntui.config.keys import Key
from rnntui.config.spec_base import SpecBase
from rnntui.engine.metrics import MetricKey

LOSSES = ("mse", "bce", "ce")
"""Every loss a task may offer (``loss = auto`` picks the task's first)."""


class Metric(NamedTuple):
    """A metric the task reports: its name, a label, and which way is better."""

    name: str
    label: str
    higher_is_better: bool = True


@dataclass(frozen=True)
class TaskSpec(SpecBase):
    """The facts about one task.

    ``metrics``: main first.  ``baseline``: what the trivial predictor is and
    scores (the number itself, which may depend on the config, comes from the
    task's ``baseline()``).  ``losses``: the losses it can train with, the first
    being what ``loss = auto`` means.  ``per_step``: the model is read at every
    step (else only at the last).  ``streaming``: longer sequences are evaluated
    in carried-state segments.  ``finite``: a dataset trained in ``epochs``.
    ``ignores``: common keys that do not apply to this task (the form hides them).
    """

    KIND = "task spec"

    name: str
    cls: str
    title: str
    metrics: tuple[Metric, ...]
    baseline: str
    losses: tuple[str, ...]
    per_step: bool
    options: tuple[Key | str, ...] = ()
    streaming: bool = False
    finite: bool = False
    ignores: tuple[str, ...] = ()
    module: str = ""

    def __post_init__(self) -> None:
        self.require("name", "cls", "title", "metrics", "baseline", "losses")
        bad = set(self.losses) - set(LOSSES)
        if bad:
            raise ValueError(f"task spec {self.name!r}: unknown losses {sorted(bad)}")

    @property
    def main_metric(self) -> str:
        return self.metrics[0].name

    def higher_is_better(self, metric: str) -> bool:
        """Direction of a metric name (plain or ``name@L``; ``val_loss`` is lower-is-better)."""
        base = MetricKey.parse(metric).name
        for m in self.metrics:
            if m.name == base:
                return m.higher_is_better
        return not base.endswith("loss")

    def metric_label(self, name: str) -> str:
        return next((m.label for m in self.metrics if m.name == name), name)


def task_specs() -> dict[str, TaskSpec]:
    """Every task of this package, by name, in file-name order (torch-free)."""
    specs = declared_specs(Path(__file__).parent, {"TaskSpec": TaskSpec, "Metric": Metric, "Key": Key},
                           __package__)
    return {s.name: s for s in specs}
