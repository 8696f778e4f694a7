"""A run's curves as TensorBoard event files, next to its metrics.jsonl.

:class:`TensorBoardWriter` is an event consumer like
:class:`~rnntui.engine.rundir.RunWriter`; :func:`~rnntui.engine.launch.open_run`
adds it when the config says ``tensorboard = true``, so headless runs, the TUI's
runs and every run of an experiment get it, and ``tensorboard --logdir runs/``
shows them all.  Scalars (TensorBoard stores them as float32):

    train/loss       the training loss of each logged row (the mean over its log_every steps)
    train/grad_norm  the gradient norm at the row's last step
    train/lr         the learning rate of that step
    eval/<metric>    every evaluation metric: eval/val_loss, eval/acc, eval/acc@16 ...

all at the optimisation step as TensorBoard's step; the run's config goes in
as text (``config``) when it starts.  The writer is ``torch.utils.tensorboard``'s
``SummaryWriter``, which needs the ``tensorboard`` package (the
``rnntui[tensorboard]`` extra, which also brings the ``tensorboard`` command).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from rnntui.config import ConfigError
from rnntui.engine.events import EvalMetrics, Event, RunFailed, RunFinished, RunStarted, StepMetrics

INSTALL_HINT = "pip install 'rnntui[tensorboard]'"
FLUSH_SECS = 5
"""How often the event file is flushed while a run trains, so a TensorBoard open
next to it follows the run live."""


def require_tensorboard() -> None:
    """ConfigError (key ``tensorboard``) with the install command unless the
    tensorboard package is installed; cheap: finds it without importing it."""
    if importlib.util.find_spec("tensorboard") is None:
        raise ConfigError("tensorboard", f"got true, but the TensorBoard writer is not installed; "
                                         f"install it with: {INSTALL_HINT}")


def summary_writer_class() -> Any:
    """torch's SummaryWriter; ConfigError (key ``tensorboard``) with the install
    command when the tensorboard package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError("tensorboard", f"got true, but the TensorBoard writer is not installed; "
                                         f"install it with: {INSTALL_HINT}") from None
    return SummaryWriter


class TensorBoardWriter:
    """Writes the scalars above into ``path`` (the run directory)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._writer = summary_writer_class()(log_dir=str(self.path), flush_secs=FLUSH_SECS)

    def write_history(self, steps: list[dict[str, Any]], evals: list[dict[str, Any]]) -> None:
        """Rows a resumed run inherits from its checkpoint (no learning rate: the
        checkpoint's rows do not keep it)."""
        for row in steps:
            self._writer.add_scalar("train/loss", row["loss"], row["step"])
            self._writer.add_scalar("train/grad_norm", row["grad_norm"], row["step"])
        for row in evals:
            self._eval(row["step"], row["metrics"])

    def _eval(self, step: int, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            self._writer.add_scalar(f"eval/{name}", value, step)

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepMetrics):
            self._writer.add_scalar("train/loss", event.loss, event.step)
            self._writer.add_scalar("train/grad_norm", event.grad_norm, event.step)
            self._writer.add_scalar("train/lr", event.lr, event.step)
        elif isinstance(event, EvalMetrics):
            self._eval(event.step, event.metrics)
        elif isinstance(event, RunStarted):
            text = "\n".join(f"    {k} = {v!r}" for k, v in event.config.items())  # Markdown code block
            self._writer.add_text("config", text, event.start_step)
        elif isinstance(event, (RunFinished, RunFailed)):
            self._writer.flush()

    def close(self) -> None:
        self._writer.close()
