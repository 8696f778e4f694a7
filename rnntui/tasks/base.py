"""What every task provides: data, loss, metrics, baseline and sample rendering.

A task owns its meaning.  The trainer and the UI never special-case a task:
they call the methods below and show what comes back.

Conventions
-----------
* Inputs are batch-first floats ``x: (B, T, input_size)``.
* ``per_step`` tasks read the model output at every step, ``(B, T, output_size)``;
  the others read only the last step, ``(B, output_size)``.
* ``streaming`` tasks may be evaluated on sequences longer than trained by
  running the model over segments of the training length and carrying the
  hidden state across segments (seed 000's test loop).
* Metric names are plain (``"acc"``); the trainer suffixes ``@L`` for evaluation
  lengths other than the training distribution.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from rich.text import Text

from rnntui.config import Config, ConfigError
from rnntui.tasks.spec import Metric, TaskSpec

OK_STYLE = "bold green"
BAD_STYLE = "bold red"


@dataclass
class Batch:
    """One batch.  ``meta`` carries whatever the renderer needs (raw numbers...)."""

    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.x.shape[0])

    @property
    def length(self) -> int:
        return int(self.x.shape[1])

    def to(self, device: torch.device | str) -> "Batch":
        return Batch(
            self.x.to(device),
            self.y.to(device),
            None if self.mask is None else self.mask.to(device),
            self.meta,
        )


class Task(ABC):
    """Base class of all tasks.  A subclass passes its spec
    (``class AddingTask(Task, spec=SPEC)``), which gives it ``name``, ``title``,
    ``per_step``, ``streaming``, ``finite`` and ``metric_infos``, and implements
    :meth:`make_batch`, :meth:`loss`, :meth:`metrics` and :meth:`render`."""

    spec: ClassVar[TaskSpec]
    name: ClassVar[str]
    title: ClassVar[str]
    per_step: ClassVar[bool] = False
    streaming: ClassVar[bool] = False
    finite: ClassVar[bool] = False
    metric_infos: ClassVar[tuple[Metric, ...]] = ()

    def __init_subclass__(cls, spec: TaskSpec | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if spec is not None:
            cls.spec = spec
            cls.name, cls.title = spec.name, spec.title
            cls.per_step, cls.streaming, cls.finite = spec.per_step, spec.streaming, spec.finite
            cls.metric_infos = spec.metrics

    input_size: int
    output_size: int

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    @property
    def loss_kind(self) -> str:
        """The loss this run trains with: ``loss``, or the task's own for ``auto``."""
        return self.spec.losses[0] if self.cfg.loss == "auto" else self.cfg.loss

    # ---------------------------------------------------------------- data
    @abstractmethod
    def make_batch(self, batch_size: int, length: int, gen: torch.Generator) -> Batch:
        """A fresh batch of sequences of ``length`` steps drawn with ``gen``."""

    def train_length(self, gen: torch.Generator) -> int:
        """Length of the next training batch: ``seq_len``, or uniform in
        ``[seq_len_min, seq_len]`` when ``seq_len_min`` is set (one length per batch)."""
        lo, hi = self.cfg.seq_len_min, self.cfg.seq_len
        if not lo or lo == hi:
            return hi
        return int(torch.randint(lo, hi + 1, (1,), generator=gen).item())

    def train_batch(self, step: int, gen: torch.Generator) -> Batch:
        """The training batch of optimisation step ``step``."""
        return self.make_batch(self.cfg.batch_size, self.train_length(gen), gen)

    @property
    def steps_per_epoch(self) -> int:
        """Batches in one pass over a finite training set; 0 for generated data."""
        return 0

    def state_dict(self) -> dict[str, Any]:
        """Data-order state a checkpoint must carry to resume the same curve
        (tensors and builtins only); generated-data tasks have none."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def eval_sets(self, gen: torch.Generator) -> dict[int | None, list[Batch]]:
        """Held-out batches, drawn once.  Key ``None`` is the training distribution;
        an integer key is an extra evaluation length from ``eval_lengths``."""
        size = self.cfg.eval_size
        chunk = max(1, min(size, 500))
        lo, hi = self.cfg.seq_len_min, self.cfg.seq_len
        lengths = list(range(lo, hi + 1)) if lo and lo < hi else [hi]
        sets: dict[int | None, list[Batch]] = {None: []}
        per_len = max(1, size // len(lengths))
        for length in lengths:
            sets[None] += self._chunks(per_len, chunk, length, gen)
        for length in self.cfg.eval_lengths:
            if length != hi or lo:
                sets[length] = self._chunks(size, chunk, length, gen)
        return sets

    def _chunks(self, total: int, chunk: int, length: int, gen: torch.Generator) -> list[Batch]:
        out, left = [], total
        while left > 0:
            n = min(chunk, left)
            out.append(self.make_batch(n, length, gen))
            left -= n
        return out

    # ------------------------------------------------------- loss / metrics
    @abstractmethod
    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Scalar training loss of model output ``out`` on ``batch``."""

    @abstractmethod
    def metrics(self, out: torch.Tensor, batch: Batch) -> dict[str, float]:
        """Mean metric values over ``batch`` (floats, keyed by metric name)."""

    def baseline(self) -> dict[str, float]:
        """What a trivial predictor scores (drawn as a line on the plots)."""
        return {}

    @property
    def main_metric(self) -> Metric:
        return self.metric_infos[0]

    # ------------------------------------------------------------- samples
    @abstractmethod
    def render(self, out: torch.Tensor, batch: Batch, n: int) -> list[tuple[Text, bool]]:
        """Up to ``n`` predictions as rich text, each with whether it was right."""


def ok_text(text: str, ok: bool) -> Text:
    return Text(text, style=OK_STYLE if ok else BAD_STYLE)


def require(condition: bool, key: str, message: str) -> None:
    """Raise a ConfigError for ``key`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(key, message)
