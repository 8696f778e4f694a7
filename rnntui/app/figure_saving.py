"""Saving what a screen plots as a figure file, off the UI thread.

The lab (``w``), Compare and Experiment draw their runs with the same code as
``rnntui plot`` (:func:`rnntui.render.figure_data.figure_panels`, then
:func:`rnntui.render.figures.write_figure`: matplotlib, the ``rnntui[plot]``
extra).  Importing matplotlib and drawing take a second or two, so it runs in a
thread worker; a notice gives the saved path, or says what went wrong (with the
install command when matplotlib is missing).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from rnntui.engine.record import RunRecord

FIGURE_SUFFIX = ".svg"


def figure_path(directory: str | Path, stem: str) -> Path:
    """``directory/<stem>-<YYYYmmdd-HHMMSS>.svg`` (``-2``, ``-3``... when taken)."""
    base = Path(directory) / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base.with_suffix(FIGURE_SUFFIX), 1
    while path.exists():
        n += 1
        path = Path(f"{base}-{n}{FIGURE_SUFFIX}")
    return path


def write_records_figure(records: Sequence[RunRecord], path: Path, *, grouped: bool = True,
                         experiment: str | None = None) -> Path:
    """Draw ``records`` into ``path`` (any thread); raises FigureError."""
    from rnntui.render.figure_data import figure_panels, figure_title
    from rnntui.render.figures import write_figure

    return write_figure(figure_panels(records, grouped=grouped), path, figure_title(records, experiment))


def save_records_figure(screen: Any, records: Sequence[RunRecord], directory: str | Path, stem: str, *,
                        grouped: bool = True, experiment: str | None = None) -> Path:
    """Start writing the figure of ``records`` into ``directory`` from a thread worker
    of ``screen`` (a Textual Screen or App); returns the path it will have.  The
    screen's ``last_figure`` is set once it is written."""
    from rnntui.render.figures import FigureError

    path = figure_path(directory, stem)
    snapshot = list(records)
    app = screen.app

    def work() -> None:
        try:
            written = write_records_figure(snapshot, path, grouped=grouped, experiment=experiment)
        except FigureError as exc:
            app.call_from_thread(app.notify, str(exc), title="cannot save the figure", severity="error",
                                 timeout=12)
            return
        except Exception as exc:  # noqa: BLE001 - a drawing problem must not take the lab down
            app.call_from_thread(app.notify, f"{type(exc).__name__}: {exc}", title="cannot save the figure",
                                 severity="error", timeout=12)
            return
        screen.last_figure = written
        app.call_from_thread(app.notify, f"saved {written}", title="figure", timeout=10)

    app.notify(f"drawing {len(snapshot)} run{'s' * (len(snapshot) != 1)} into {path}…", title="figure")
    screen.run_worker(work, thread=True, exit_on_error=False, group="figure", description="save figure")
    return path
