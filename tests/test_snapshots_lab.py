"""Snapshots of the lab (pytest-textual-snapshot): the main screen before and
after a run, each Inspect tab, Help, at 80×24 and 120×40.

Deterministic: no training runs while a picture is taken.  The run is a replay
of fixed events (tests/conftest.py: fixed run id, numbers and times, no run
directory), notices are cleared, and each picture waits until the plots have
drawn their data.  The Inspect tabs show the untrained model of the form's
settings (seeded: the same parameters every time).

    .venv/bin/python -m pytest tests/test_snapshots_lab.py --snapshot-update   # accept new pictures
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytest_textual_snapshot")

from conftest import engine_ready, form_ready, make_lab_app, replay_training, wait_for

from rnntui.app import app as app_module

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
TABS = ("params", "shapes", "grads", "gates")


async def settle(pilot, app) -> None:
    """Wait until the screen's plots have drawn what they hold and no toast shows."""
    from rnntui.app.widgets.metric_plot import MetricPlot

    def drawn() -> tuple[int, ...]:
        return tuple(plot.renders for plot in app.screen.query(MetricPlot))

    last, steady = drawn(), 0
    while steady < 4:  # unchanged over ~0.8 s: nothing is being drawn
        await pilot.pause(0.2)
        now = drawn()
        steady = steady + 1 if now == last else 0
        last = now
    app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_main_screen_before_a_run(snap_compare, size):
    app = make_lab_app()

    async def ready(pilot):
        await form_ready(pilot, app)
        await engine_ready(pilot, app)
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_main_screen_after_a_run(snap_compare, size, monkeypatch):
    monkeypatch.setattr(app_module, "run_training", replay_training)
    app = make_lab_app()

    async def run(pilot):
        await form_ready(pilot, app)
        await engine_ready(pilot, app)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.lab.current is not None and app.lab.current.done, 10, "the replayed run")
        await wait_for(pilot, lambda: app.query_one("#loss-plot").renders > 0, 10, "the loss plot")
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=size, run_before=run)


@pytest.mark.parametrize("tab", TABS)
@pytest.mark.parametrize("size", SIZES)
def test_inspect_tab(snap_compare, size, tab):
    app = make_lab_app()

    async def inspect(pilot):
        await form_ready(pilot, app)
        await engine_ready(pilot, app)
        await pilot.press("i")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "InspectScreen"
                       and app.screen.loaded is not None, 60, "the model's description")
        await pilot.press(str(TABS.index(tab) + 1))
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=size, run_before=inspect)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, size):
    app = make_lab_app()

    async def help_open(pilot):
        await form_ready(pilot, app)
        await engine_ready(pilot, app)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen", 5, "help")
        await settle(pilot, app)

    assert snap_compare(app, terminal_size=size, run_before=help_open)
