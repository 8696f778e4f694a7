"""Saving figures from the TUI (``w`` in the lab, Compare and Experiment; the
palette's "Save figure"), and Compare's chooser of saved runs."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest


from textual.widgets import OptionList

from rnntui.app.app import create_app
from rnntui.app.screens.compare import CompareScreen
from rnntui.app.screens.run_browser import RunBrowser
from rnntui.config import build_config
from rnntui.config.request import Request
from rnntui.engine.saved_runs import load_runs

from conftest import SAVED_CONFIG, wait_for



def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_w_saves_the_runs_figure_in_its_run_directory(tmp_path: Path, saved_run) -> None:
    pytest.importorskip("matplotlib")
    run_dir = saved_run(tmp_path / "runs" / "r1", "r1")
    app = create_app(Request(build_config(SAVED_CONFIG)), runs_root=tmp_path / "runs")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("w")  # nothing to draw yet
        await pilot.pause()
        assert any("No run with curves" in n for n in notices(app))
        app.lab.records.extend(load_runs(run_dir))
        app.action_save_figure()  # what w and the palette's "Save figure" run
        await wait_for(pilot, lambda: app.last_figure is not None, 60, "the figure")
        path = app.last_figure
        assert path.parent == run_dir and path.name.startswith("figure-") and path.suffix == ".svg"
        texts = ["".join(t.itertext()) for t in ET.parse(path).getroot().iter("{http://www.w3.org/2000/svg}text")]
        assert "exact sums (exact)" in texts
        await wait_for(pilot, lambda: any(n == f"saved {path}" for n in notices(app)), 10, "the notice")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Save figure" in titles


async def test_compare_opens_saved_runs_from_the_chooser_and_says_when_matplotlib_is_missing(
        tmp_path: Path, saved_run, saved_experiment, monkeypatch) -> None:
    runs = tmp_path / "runs"
    saved_run(runs / "20260101-120000-binary-addition-gru", "r1")
    saved_experiment.rename(runs / "exp-cells")
    app = create_app(Request(build_config(SAVED_CONFIG)), runs_root=runs)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("c", "o")
        await pilot.pause()
        browser = app.screen
        assert isinstance(browser, RunBrowser)
        names = [e.path.name for e in browser.entries]
        assert sorted(names) == ["20260101-120000-binary-addition-gru", "exp-cells"]
        options = browser.query_one(OptionList)
        assert isinstance(app.focused, OptionList) and options.option_count == 2
        options.highlighted = names.index("exp-cells")
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert len(app.lab.compare.loaded) == 4 and len(screen.selected()) == 4
        # two settings × two seeds: two bands named by what differs
        lines = screen.query_one("#cmp-plot").lines
        assert [line.label for line in lines] == ["cell=rnn (n=2)", "cell=gru (n=2)"]
        assert all(line.band is not None for line in lines)

        monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the plot extra were not installed
        await pilot.press("w")
        await wait_for(pilot, lambda: any("pip install" in n for n in notices(app)), 30, "the notice")
        assert any('install it with: pip install "rnntui[plot]"' in n for n in notices(app))
        assert screen.last_figure is None and not list(runs.glob("compare-*.svg"))
