"""The lab's two plots of the current run: the loss (training and held-out) and
one of the task's metrics (``metric_index`` picks it, cycled).

Below 120 columns only one of them shows (the app's CSS); :meth:`RunPlots.swap`
changes which.  What they draw comes from :mod:`rnntui.app.run_view`.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal

from rnntui.app import run_view
from rnntui.app.widgets.metric_plot import MetricPlot
from rnntui.tasks.spec import TaskSpec
from rnntui.engine.record import RunRecord


class RunPlots(Horizontal):
    """``#loss-plot`` and ``#metric-plot`` side by side."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.metric_index = 0

    def compose(self) -> ComposeResult:
        yield MetricPlot("loss", id="loss-plot", placeholder="loss curves appear here once training starts")
        yield MetricPlot("metric", id="metric-plot", placeholder="the task's metric appears at the first evaluation")

    def on_mount(self) -> None:
        for plot in self.query(MetricPlot):
            plot.can_focus = True

    def show(self, record: RunRecord, info: TaskSpec | None) -> None:
        loss = run_view.loss_plot(record)
        self.query_one("#loss-plot", MetricPlot).set_lines(loss.lines, loss.refs, title=loss.title, axis=loss.axis)
        metric_plot = self.query_one("#metric-plot", MetricPlot)
        data = run_view.metric_plot(record, info, self.metric_index)
        if data is None:
            metric_plot.set_lines([], title="metric")
            return
        metric_plot.allow_log = data.allow_log
        metric_plot.set_lines(data.lines, data.refs, title=data.title, axis=data.axis)

    def clear(self) -> None:
        """No run on screen: empty plots under their plain titles (no old run id)."""
        self.query_one("#loss-plot", MetricPlot).set_lines([], title="loss")
        self.query_one("#metric-plot", MetricPlot).set_lines([], title="metric")

    def swap(self) -> None:
        self.toggle_class("-swap")

    def set_hints(self, narrow: bool) -> None:
        """The keys that change the plots, in their borders (``g`` only when one shows)."""
        self.query_one("#loss-plot", MetricPlot).set_hint("g: metric" if narrow else "")
        self.query_one("#metric-plot", MetricPlot).set_hint("n: next" + (" · g: loss" if narrow else ""))

    def focus_plot(self, narrow: bool) -> None:
        """Focus the plot on screen (the loss plot when both are)."""
        swapped = self.has_class("-swap") and narrow
        self.query_one("#metric-plot" if swapped else "#loss-plot", MetricPlot).focus()
