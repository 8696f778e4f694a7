"""Setting up one run the same way for every front end.

The headless runner, the TUI's training worker and the experiment workers all
train through :func:`open_run`: it opens the run directory (when there is one),
feeds it every event before the caller's consumers see it, builds the
:class:`~rnntui.engine.trainer.Trainer` with the gradient probe attached (the
``grad_profile`` events the Inspect view plots) and closes the directory when
the block ends, however it ends.  With ``tensorboard = true`` the directory also
gets the run's TensorBoard event files (:mod:`rnntui.engine.tensorboard`).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from rnntui.config import Config
from rnntui.engine.control import RunControl
from rnntui.engine.events import Event, EventCallback
from rnntui.engine.inspect.probes import inspect_probe
from rnntui.engine.rundir import RunWriter
from rnntui.engine.tensorboard import TensorBoardWriter, summary_writer_class
from rnntui.engine.trainer import Trainer


@contextmanager
def open_run(cfg: Config, consumers: Sequence[EventCallback] = (), *, run_dir: str | Path | None = None,
             control: RunControl | None = None, run_id: str | None = None,
             resume: dict[str, Any] | None = None, overwrite: bool = False,
             keep: tuple[str | Path, ...] = ()) -> Iterator[Trainer]:
    """A ready Trainer whose events go to the run directory, then to ``consumers``.

    ``run_dir`` None: nothing is written (tests, benchmarks).  The directory is
    claimed for this run (locked; refused if it holds someone else's files,
    unless ``overwrite``; ``keep`` names a checkpoint in it that the run resumes
    from).  With ``resume`` (a loaded checkpoint) ``metrics.jsonl`` starts with
    the history it carries, so it holds the whole curve (the TensorBoard curves
    start with the checkpoint's rows).  Raises ConfigError before the trainer
    exists: key ``out`` when the directory cannot be claimed or written,
    ``tensorboard`` when it is asked for and not installed; raises
    :class:`~rnntui.engine.files.NoSpace` at the end when even the summary could
    not be written."""
    if run_dir is not None and cfg.tensorboard:
        summary_writer_class()  # a missing writer is bad input: say so before anything is written
    writer = RunWriter(run_dir, cfg, overwrite=overwrite, keep=keep) if run_dir is not None else None
    board: TensorBoardWriter | None = None
    try:
        if writer is not None and cfg.tensorboard:
            board = TensorBoardWriter(writer.path)
            if resume is not None:
                board.write_history(resume.get("steps", []), resume.get("evals", []))
        sinks: list[EventCallback] = [w for w in (writer, board) if w is not None] + list(consumers)

        def callback(event: Event) -> None:
            for sink in sinks:
                sink(event)

        trainer = Trainer(cfg, callback, control, run_id=run_id,
                          checkpoint_path=writer.checkpoint_path if writer is not None else None, resume=resume,
                          history=writer)
        trainer.add_probe(inspect_probe)
        yield trainer
    finally:
        if board is not None:
            board.close()
        if writer is not None:
            writer.close()
    if writer is not None and writer.failure is not None:
        raise writer.failure
