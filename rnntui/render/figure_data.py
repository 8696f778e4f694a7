"""The panels of a figure of runs: what ``rnntui plot`` and the TUI's "save
figure" draw (with :mod:`rnntui.render.figures`).

For runs ``records`` (one run, several, an experiment's):

* **loss** -- training loss (smoothed when drawn, the raw curve faint under it)
  and held-out loss (dashed), with the trivial baseline;
* one panel per task **metric** -- at the training distribution (solid) and at
  every extra evaluation length ``@L`` (dashed, dotted, ...), with its baseline;
* **length** -- when runs were evaluated at extra lengths: each metric's final
  value against the evaluation length (the length-generalisation picture).

Runs whose configs are equal up to the seed form one group
(:func:`rnntui.engine.curves.group_runs`), drawn as its mean curve with a
± standard-error band; a group of one run is that run's curve.  Each group has
one colour in every panel, and its label names what sets it apart (``cell=gru``).
No Textual, no matplotlib.
"""

from __future__ import annotations

from typing import Sequence

from rnntui.engine.curves import Band, RunGroup, group_runs, mean_band, run_labels
from rnntui.engine.metrics import MetricKey, keys_named, training_length_names
from rnntui.engine.record import RunRecord
from rnntui.render.plot_data import PALETTE, FRACTION, AxisHint, Panel, PlotLine, RefLine, metric_axis

STYLES = ("solid", "dashed", "dotted", "dashdot")
"""Line styles by evaluation length: the training distribution first, then each ``@L``."""


def groups_of(records: Sequence[RunRecord], grouped: bool = True) -> list[RunGroup]:
    """The groups to draw: by config up to the seed, or one per run (labelled by what differs)."""
    if grouped:
        return group_runs(records)
    return [RunGroup(label, [r]) for label, r in zip(run_labels(records), records)]


def group_line(group: RunGroup, series: str, label: str, color: str, *, smooth: bool = False,
               style: str = "solid") -> PlotLine | None:
    """The group's curve of ``series``: its mean ± standard error over its runs (one run: its curve)."""
    band = group.band(series)
    if not band.xs:
        return None
    spread = (band.lo, band.hi) if len(group.records) > 1 else None
    return PlotLine(label, band.xs, band.mean, color, smooth=smooth, band=spread, style=style)


def _label(group: RunGroup, multi: bool) -> str:
    n = len(group.records)
    runs = f" (n={n})" if n > 1 else ""
    return f"{group.label}{runs}" if multi or n > 1 else group.records[0].run_id


def _metric_facts(records: Sequence[RunRecord]) -> list[tuple[str, str, bool]]:
    """(metric, label, higher is better) of the runs' tasks, main metrics first; from
    what the runs reported when their task is unknown."""
    from rnntui.tasks.spec import task_specs

    specs = task_specs()
    facts: list[tuple[str, str, bool]] = []
    reported: list[str] = []
    for record in records:
        reported += [n for n in record.metric_names() if n not in reported]
    for task in dict.fromkeys(str(r.config.get("task", "")) for r in records):
        spec = specs.get(task)
        if spec is not None:
            facts += [(m.name, m.label, m.higher_is_better) for m in spec.metrics
                      if m.name not in [f[0] for f in facts] and keys_named(reported, m.name)]
    known = [f[0] for f in facts]
    for name in training_length_names(reported):
        if name not in known and name != "val_loss":
            facts.append((name, name, not name.endswith("loss")))
    return facts


def higher_is_better(records: Sequence[RunRecord], series: str) -> bool:
    """The direction of ``series`` (``loss``, ``val_loss``, a metric key) for the runs' task."""
    from rnntui.tasks.spec import task_specs

    name = MetricKey.parse(series).name
    if name in ("loss", "val_loss"):
        return False
    specs = task_specs()
    for task in dict.fromkeys(str(r.config.get("task", "")) for r in records):
        spec = specs.get(task)
        if spec is not None and any(m.name == name for m in spec.metrics):
            return spec.higher_is_better(name)
    return not name.endswith("loss")


def series_axis(records: Sequence[RunRecord], series: str) -> AxisHint:
    """The y-axis hint for ``series`` of ``records`` (see :func:`metric_axis`)."""
    key = "val_loss" if series == "loss" else series
    baseline = next((r.baseline[key] for r in records if key in r.baseline), None)
    return metric_axis(higher_is_better(records, series), baseline)


def series_baseline(records: Sequence[RunRecord], series: str) -> list[RefLine]:
    """The trivial baseline of ``series`` when the runs share one (none when they differ)."""
    values = {round(r.baseline[series], 12) for r in records if series in r.baseline}
    if len(values) != 1:
        return []
    value = values.pop()
    return [RefLine(f"baseline {value:.3g}", value)]


def _baseline_refs(groups: Sequence[RunGroup], key: str, colors: Sequence[str]) -> list[RefLine]:
    """The trivial baseline of ``key``: one grey line when every group shares it, else one per group."""
    values = [g.records[0].baseline.get(key) for g in groups]
    known = [(v, c, g) for v, c, g in zip(values, colors, groups) if v is not None]
    if not known:
        return []
    if len({round(v, 12) for v, _, _ in known}) == 1:
        return [RefLine(f"baseline {known[0][0]:.3g}", known[0][0])]
    return [RefLine(f"baseline {g.label}: {v:.3g}", v, c) for v, c, g in known]


def loss_panel(groups: Sequence[RunGroup], colors: Sequence[str]) -> Panel:
    multi = len(groups) > 1
    lines: list[PlotLine] = []
    for group, color in zip(groups, colors):
        name = _label(group, multi)
        train = group_line(group, "loss", f"{name} · train" if multi else "train", color, smooth=True)
        val = group_line(group, "val_loss", f"{name} · held-out" if multi else "held-out", color, style="dashed")
        lines += [line for line in (train, val) if line is not None]
    refs = _baseline_refs(groups, "val_loss", colors) or _baseline_refs(groups, "loss", colors)
    scale = next((r.y for r in refs), None)
    return Panel("loss", lines, refs, metric_axis(False, scale), ylabel="loss")


def metric_panel(groups: Sequence[RunGroup], colors: Sequence[str], metric: str, label: str,
                 higher: bool) -> Panel:
    multi = len(groups) > 1
    lines: list[PlotLine] = []
    for group, color in zip(groups, colors):
        names: list[str] = []
        for record in group.records:
            names += [n for n in keys_named(record.metric_names(), metric) if n not in names]
        names.sort(key=lambda n: MetricKey.parse(n).length or 0)
        for i, key in enumerate(names):
            length = MetricKey.parse(key).length
            where = "held-out" if length is None else f"length {length}"
            text = f"{_label(group, multi)} · {where}" if multi else where
            line = group_line(group, key, text, color, style=STYLES[i % len(STYLES)])
            if line is not None:
                lines.append(line)
    refs = _baseline_refs(groups, metric, colors)
    title = label if label == metric else f"{label} ({metric})"
    return Panel(title, lines, refs, metric_axis(higher, next((r.y for r in refs), None)), ylabel=metric)


def length_panel(groups: Sequence[RunGroup], colors: Sequence[str], metric: str, label: str,
                 higher: bool) -> Panel | None:
    """Final ``metric`` against evaluation length (the training length is ``seq_len``)."""
    multi = len(groups) > 1
    lines: list[PlotLine] = []
    for group, color in zip(groups, colors):
        per_run = []
        for record in group.records:
            xs, ys = [], []
            for key in keys_named(list(record.final), metric):
                length = MetricKey.parse(key).length
                if length is None:
                    length = record.config.get("seq_len")
                if isinstance(length, int) and length not in xs:
                    xs.append(length)
                    ys.append(record.final[key])
            order = sorted(range(len(xs)), key=xs.__getitem__)
            per_run.append(([xs[i] for i in order], [ys[i] for i in order]))
        band: Band = mean_band(per_run)
        if len(band.xs) < 2:
            continue
        spread = (band.lo, band.hi) if len(group.records) > 1 else None
        lines.append(PlotLine(_label(group, multi) if multi else label, band.xs, band.mean, color, smooth=False,
                              band=spread))
    if not lines:
        return None
    axis: AxisHint = FRACTION if higher else AxisHint()
    return Panel(f"{label} at the end, by evaluation length", lines, [], axis, xlabel="evaluation length",
                 ylabel=metric)


def figure_panels(records: Sequence[RunRecord], grouped: bool = True) -> list[Panel]:
    """Every panel of the figure of ``records`` (see the module docstring)."""
    groups = groups_of(records, grouped)
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(groups))]
    panels = [loss_panel(groups, colors)]
    facts = _metric_facts(records)
    panels += [metric_panel(groups, colors, name, label, higher) for name, label, higher in facts]
    if facts and any(MetricKey.parse(k).length for r in records for k in r.final):
        lengths = length_panel(groups, colors, *facts[0])
        if lengths is not None:
            panels.append(lengths)
    return [p for p in panels if p.lines]


def figure_title(records: Sequence[RunRecord], experiment: str | None = None) -> str:
    """A one-line title: the experiment or the run, and the task."""
    tasks = ", ".join(dict.fromkeys(str(r.config.get("task", "?")) for r in records))
    if experiment:
        return f"{experiment} · {tasks} · {len(records)} runs"
    if len(records) == 1:
        c = records[0].config
        return f"{records[0].run_id} · {tasks} · {c.get('cell', '?')} h{c.get('hidden_size', '?')}"
    return f"{tasks} · {len(records)} runs"
