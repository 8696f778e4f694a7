"""What the lab shows for a run, as plain data: log lines for events and plot
lines for a RunRecord.  No Textual here, so Compare/Experiment views, figures
and tests can reuse it."""

from __future__ import annotations

from dataclasses import dataclass

from rnntui.render.plot_data import AxisHint, PlotLine, RefLine, metric_axis
from rnntui.tasks.spec import TaskSpec
from rnntui.engine.events import EvalMetrics, Event, Log, RunFailed, RunFinished, RunStarted
from rnntui.engine.metrics import MetricKey, keys_named, training_length_names
from rnntui.engine.record import RunRecord
from rnntui.engine.verdict import Verdict, judge

VAL_COLORS = ("orange", "magenta", "green")
METRIC_COLORS = ("green", "yellow", "magenta", "blue")


def fmt_metrics(metrics: dict[str, float], limit: int = 6) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in list(metrics.items())[:limit])


def event_log_line(event: Event) -> tuple[str, str] | None:
    """(text, level) for the run log, or None for events the log does not show."""
    if isinstance(event, RunStarted):
        base = f"; baseline {fmt_metrics(event.baseline)}" if event.baseline else ""
        return (f"run {event.run_id} started: {event.params:,} parameters on {event.device}, "
                f"{event.total_steps} steps{base}"), "info"
    if isinstance(event, EvalMetrics):
        return f"eval @ {event.step}: {fmt_metrics(event.metrics)}", "info"
    if isinstance(event, Log):
        return event.message, event.level
    if isinstance(event, RunFinished):
        word = "stopped" if event.stopped else "finished"
        return (f"{word} at step {event.step} in {event.wall_time_s:.1f}s: {fmt_metrics(event.final)}",
                "warning" if event.stopped else "ok")
    if isinstance(event, RunFailed):
        return f"FAILED at step {event.step}: {event.reason}", "error"
    return None


def run_verdict(record: RunRecord, info: TaskSpec | None) -> Verdict | None:
    """Whether the run beat its task's baseline (see :mod:`rnntui.engine.verdict`)."""
    if info is not None:
        metrics = [(m.name, m.label, m.higher_is_better) for m in info.metrics]
    else:
        metrics = [(n, n, not n.endswith(("loss", "mse", "ce"))) for n in record.final]
    return judge(metrics, record.final, record.baseline, record.config, step=record.step,
                 total_steps=record.total_steps)


@dataclass
class EndNotice:
    """What the lab says when a run ends: a toast (``message``, ``title``,
    ``severity``) and the log lines."""

    message: str
    title: str
    severity: str
    log: list[tuple[str, str]]


def end_notice(record: RunRecord, info: TaskSpec | None) -> EndNotice | None:
    """The notice for a run that has ended (finished, stopped or failed), or None."""
    if record.status == "failed":
        reason = record.reason or "the run failed"
        return EndNotice(reason, f"run {record.run_id} failed", "error", [])
    if record.status not in ("finished", "stopped"):
        return None
    word = "finished" if record.status == "finished" else f"stopped at step {record.step}"
    verdict = run_verdict(record, info)
    if verdict is None:
        main = metric_names(record, info)[:1]
        value = f": {main[0]} {record.final[main[0]]:.4g}" if main and main[0] in record.final else ""
        return EndNotice(f"{word} in {record.wall_time_s:.1f}s{value}", f"run {record.run_id}", "information", [])
    log = [(verdict.text, "ok" if verdict.learned else "warning")]
    message = f"{word} in {record.wall_time_s:.1f}s. {verdict.text}."
    if verdict.advice:
        log.append((verdict.advice + " (o: presets)", "warning"))
        message += f"\n{verdict.advice}."
    severity = "information" if verdict.learned else "warning"
    return EndNotice(message, f"run {record.run_id}", severity, log)


def metric_names(record: RunRecord | None, info: TaskSpec | None) -> list[str]:
    """The task's metrics, main first (from the task, else from what the run reported)."""
    if info is not None and info.metrics:
        return [m.name for m in info.metrics]
    if record is None:
        return []
    return [n for n in training_length_names(record.metric_names()) if n != "val_loss"]


def metric_label(info: TaskSpec | None, name: str) -> str:
    return info.metric_label(name) if info else name


@dataclass
class PlotData:
    lines: list[PlotLine]
    refs: list[RefLine]
    title: str
    allow_log: bool = True
    axis: AxisHint = AxisHint()


def loss_plot(record: RunRecord) -> PlotData:
    """Training loss (per log window) and held-out loss at every evaluation length."""
    xs, ys = record.series("loss")
    lines = [PlotLine("train", xs, ys, "cyan")]
    for i, name in enumerate(keys_named(record.metric_names(), "val_loss")):
        vx, vy = record.series(name)
        label = str(MetricKey("val", MetricKey.parse(name).length))  # val, val@16, ...
        lines.append(PlotLine(label, vx, vy, VAL_COLORS[i % len(VAL_COLORS)], smooth=False))
    refs = [RefLine(f"baseline {v:.3g}", v) for k, v in record.baseline.items() if k in ("loss", "val_loss")]
    scale = record.baseline.get("val_loss", record.baseline.get("loss"))
    return PlotData(lines, refs, f"loss · {record.run_id}", axis=metric_axis(False, scale))


def metric_plot(record: RunRecord, info: TaskSpec | None, index: int = 0) -> PlotData | None:
    """The ``index``-th task metric (cycled) at every evaluation length, with its baseline."""
    names = metric_names(record, info)
    if not names:
        return None
    metric = names[index % len(names)]
    lines = []
    for i, name in enumerate(keys_named(record.metric_names(), metric)):
        mx, my = record.series(name)
        length = MetricKey.parse(name).length
        label = "val" if length is None else f"len {length}"
        lines.append(PlotLine(label, mx, my, METRIC_COLORS[i % len(METRIC_COLORS)], smooth=False))
    refs = [RefLine(f"baseline {record.baseline[metric]:.3g}", record.baseline[metric])] \
        if metric in record.baseline else []
    label = metric_label(info, metric)
    title = f"{label} · held-out" if label == metric else f"{label} ({metric}) · held-out"
    higher = info.higher_is_better(metric) if info else not metric.endswith("loss")
    return PlotData(lines, refs, title, allow_log=not higher, axis=metric_axis(higher, record.baseline.get(metric)))
