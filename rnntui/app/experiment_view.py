"""What the Experiment view shows, as plain data: the state of each grid point,
the progress line, and the curves (every point's mean ± standard error, or one
point's trials).  No Textual here; :mod:`rnntui.app.screens.experiment` lays it out.

Counts are by what each run ended with: *finished* (trained to the end, the
only runs the statistics average), *stopped* (ended early by Stop, with the
metrics of a closing evaluation), *not run* (Stop came before it began),
*failed*.  A point with no finished trial shows its stopped trials' mean,
marked ``*``: trained part-way, not comparable with finished points.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rnntui.app.run_view import PlotData
from rnntui.engine.curves import mean_band
from rnntui.engine.experiment.results import Row, mean_stderr
from rnntui.engine.record import RunRecord
from rnntui.render.figure_data import series_axis, series_baseline
from rnntui.render.plot_data import PALETTE, PlotLine

if TYPE_CHECKING:
    from rnntui.app.experiment_session import ExperimentSession

ACTIVE = ("running", "paused")
PARTIAL_MARK = "*"


@dataclass(frozen=True)
class Counts:
    """How the experiment's runs stand."""

    total: int
    finished: int = 0
    stopped: int = 0
    not_run: int = 0
    failed: int = 0
    running: int = 0

    @property
    def ended(self) -> int:
        """Runs that trained and ended (finished, stopped or failed): the progress."""
        return self.finished + self.stopped + self.failed

    def text(self) -> str:
        parts = [f"{self.finished} finished"]
        parts += [f"{n} {word}" for n, word in ((self.running, "running"), (self.stopped, "stopped"),
                                                 (self.not_run, "not run"), (self.failed, "failed")) if n]
        return " · ".join(parts) + f" of {self.total} runs"


def _status(outcome_status: str) -> str:
    return "not run" if outcome_status == "cancelled" else outcome_status


def counts(session: "ExperimentSession") -> Counts:
    exp = session.experiment
    if exp is None:
        return Counts(0)
    ended = Counter(_status(o.status) for o in session.outcomes.values())
    running = sum(r.status in ACTIVE for rid, r in session.records.items() if rid not in session.outcomes)
    return Counts(exp.total, ended["finished"], ended["stopped"], ended["not run"], ended["failed"], running)


def state_word(session: "ExperimentSession") -> str:
    """running / stopping… / stopped / done (or the error)."""
    if session.error:
        return f"error: {session.error}"
    if session.checking:
        return "checking the settings"
    if session.running:
        return "stopping…" if session.stopping else "running"
    return "stopped" if session.stopping else "done"


def row_state(session: "ExperimentSession", row: Row) -> str:
    """A grid point's state: queued, running k/n, stopping…, done, or what its trials ended with."""
    records = session.point_records(row.point.index)
    ended = Counter(_status(session.outcomes[r.run_id].status) for r in records if r.run_id in session.outcomes)
    active = sum(r.status in ACTIVE for r in records if r.run_id not in session.outcomes)
    done = sum(ended.values())
    if active:
        return "stopping…" if session.stopping else f"running {done}/{row.trials}"
    if done == 0:
        if session.running:
            return "not run" if session.stopping else "queued"
        return "not run" if session.stopping else "–"
    if done < row.trials:
        if not session.running:
            return "stopped"
        return "stopping…" if session.stopping else f"{done}/{row.trials}"
    if ended["finished"] == row.trials:
        return "done"
    order = ("finished", "stopped", "not run", "failed")
    return " · ".join(f"{ended[k]} {'done' if k == 'finished' else k}" for k in order if ended[k])


def metric_cell(session: "ExperimentSession", row: Row, name: str) -> tuple[str, bool]:
    """The cell of metric ``name``: mean ± standard error over finished trials, else
    the stopped trials' mean marked ``*`` (second value True), else a dash."""
    if name in row.metrics and row.metrics[name].mean is not None:
        return row.metrics[name].format(3), False
    partial = [o.final[name] for o in session.outcomes.values()
               if o.point == row.point.index and o.status == "stopped" and name in o.final]
    stat = mean_stderr(partial)
    if stat.mean is None:
        return "–", False
    return stat.format(3) + PARTIAL_MARK, True


def series_names(session: "ExperimentSession", records: list[RunRecord]) -> list[str]:
    """``loss``, then the table's metrics, then every other series the runs reported."""
    names = ["loss"]
    for record in records:
        names += [n for n in record.metric_names() if n not in names]
    cols = session.columns()
    return [n for n in cols if n in names] + [n for n in names if n not in cols]


def points_plot(session: "ExperimentSession", series_index: int) -> PlotData | None:
    """Every grid point's mean curve of a series with its ± standard-error band, one
    colour per point (finished and stopped trials that have the series)."""
    records = list(session.records.values())
    if not records:
        return None
    names = series_names(session, records)
    series = names[series_index % len(names)]
    lines = []
    for i, point in enumerate(session.points):
        trials = [r for r in session.point_records(point.index) if r.steps or r.evals]
        band = mean_band([r.series(series) for r in trials])
        if not band.xs:
            continue
        spread = (band.lo, band.hi) if max(band.n) > 1 else None
        lines.append(PlotLine(f"{point.label} (n={max(band.n)})", band.xs, band.mean, PALETTE[i % len(PALETTE)],
                              smooth=series == "loss", band=spread))
    title = f"{series} · every point: mean ± se · a: trials · n: next"
    return PlotData(lines, series_baseline(records, series), title, allow_log=_allow_log(records, series),
                    axis=series_axis(records, series))


def trials_plot(session: "ExperimentSession", point: int, series_index: int) -> PlotData | None:
    """One grid point's trials, one line each."""
    records = session.point_records(point)
    if not records:
        return None
    names = series_names(session, records)
    series = names[series_index % len(names)]
    lines = []
    for i, record in enumerate(records):
        xs, ys = record.series(series)
        seed = record.config.get("seed", i)
        lines.append(PlotLine(f"trial {i} (seed {seed})", xs, ys, PALETTE[i % len(PALETTE)],
                              smooth=series == "loss"))
    label = session.points[point].label
    return PlotData(lines, series_baseline(records, series), f"{series} · {label} · a: every point · n: next",
                    allow_log=_allow_log(records, series), axis=series_axis(records, series))


def _allow_log(records: list[RunRecord], series: str) -> bool:
    return series_axis(records, series).bounds is None
