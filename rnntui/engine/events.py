"""Typed events a training run reports.

The trainer calls one callback with these objects; the headless runner prints
them (or writes them as JSON lines) and the TUI batches them into messages.
Every event serialises to a flat JSON object with an ``"event"`` key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"
    run_id: str

    def to_json(self) -> dict[str, Any]:
        data = {"event": self.kind}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "samples":
                value = [s.plain for s in value]
            data[f.name] = value
        return data


@dataclass(frozen=True)
class RunStarted(Event):
    """The model is built and training is about to begin."""

    kind: ClassVar[str] = "started"
    config: dict[str, Any]
    params: int
    device: str
    input_size: int
    output_size: int
    total_steps: int
    steps_per_epoch: int = 0
    start_step: int = 0
    baseline: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StepMetrics(Event):
    """One optimisation step: training loss (on the training batch) and gradient norm."""

    kind: ClassVar[str] = "step"
    step: int
    epoch: int
    loss: float
    grad_norm: float
    lr: float
    elapsed_s: float
    steps_per_s: float


@dataclass(frozen=True)
class EvalMetrics(Event):
    """Metrics on held-out data.  Keys: ``val_loss``, the task's metric names, and
    ``name@L`` for evaluation lengths other than the training length."""

    kind: ClassVar[str] = "eval"
    step: int
    epoch: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class Samples(Event):
    """Rendered predictions on held-out examples (rich ``Text`` objects)."""

    kind: ClassVar[str] = "samples"
    step: int
    samples: list[Any]
    correct: list[bool]


@dataclass(frozen=True)
class RunFinished(Event):
    """Training ended normally (``stopped`` is True when the user cancelled)."""

    kind: ClassVar[str] = "finished"
    step: int
    final: dict[str, float]
    wall_time_s: float
    stopped: bool = False


@dataclass(frozen=True)
class RunFailed(Event):
    """Training could not go on (non-finite loss, an exception); history is kept."""

    kind: ClassVar[str] = "failed"
    step: int
    reason: str
    wall_time_s: float


@dataclass(frozen=True)
class Log(Event):
    """A line for the run log."""

    kind: ClassVar[str] = "log"
    message: str
    level: str = "info"


@dataclass(frozen=True)
class HiddenGradients(Event):
    """Gradient profile over time: ``norms[t] = ‖∂L/∂h_t‖`` (Frobenius norm over
    the probe batch and the hidden units) of the held-out loss with respect to
    the top layer's forward-direction hidden state at step ``t``.  Norms that
    shrink towards t = 0 are vanishing gradients; growing ones, exploding."""

    kind: ClassVar[str] = "grad_profile"
    step: int
    norms: list[float]
    loss: float = 0.0
    sequences: int = 0


@dataclass(frozen=True)
class GateTrace(Event):
    """Gate activations and hidden state over time for one held-out sample.
    ``traces`` maps a name (``i``, ``f``, ``o``, ``r``, ``z``, ``m``, ``h``) to rows
    ``(time, unit)``, block-averaged down to ``engine.probes.MAX_TRACE_STEPS`` ×
    ``MAX_TRACE_UNITS`` when larger;
    ``length``/``units`` give the sizes before that."""

    kind: ClassVar[str] = "gate_trace"
    step: int
    cell: str
    traces: dict[str, list[list[float]]]
    length: int
    units: dict[str, int] = field(default_factory=dict)


EventCallback = Callable[[Event], None]

EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls for cls in (RunStarted, StepMetrics, EvalMetrics, Samples, RunFinished, RunFailed, Log,
                              HiddenGradients, GateTrace)
}
