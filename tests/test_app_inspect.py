"""The Inspect view in the TUI and its heatmap widget (Pilot tests)."""

import io
import time

import numpy as np
import pytest
from textual.app import App, ComposeResult

from rnntui.app.widgets.heatmap import Heatmap, fit, resample
from rnntui.config import build_config
from rnntui.config.presets import load_preset


# ------------------------------------------------------------------- heatmap
def test_resample_block_means_and_repeats():
    a = np.arange(12, dtype=float).reshape(2, 6)
    assert resample(a, 3, axis=1).tolist() == [[0.5, 2.5, 4.5], [6.5, 8.5, 10.5]]
    assert resample(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 2, axis=0).tolist() == [1.5, 4.0]  # every input once
    assert resample(np.array([1.0, 2.0]), 4, axis=0).tolist() == [1.0, 1.0, 2.0, 2.0]
    assert fit(np.ones((100, 7)), 10, 3).shape == (10, 3)


class HeatmapApp(App):
    def compose(self) -> ComposeResult:
        yield Heatmap("norms", id="h", x_title="step", log_scale=True)


async def test_heatmap_renders_cells_labels_and_scale():
    app = HeatmapApp()
    async with app.run_test(size=(40, 12)) as pilot:
        heatmap = app.query_one(Heatmap)
        assert "no data yet" in str(heatmap.render())
        values = [[1e-6, 1e-4, 0.0], [1e-3, 1e-2, 1.0], [1e-1, 1.0, 10.0]]
        heatmap.set_data(values, x_labels=("s10", "s30"), y_labels=("t=0", "t=2"))
        await pilot.pause()
        assert heatmap.shape == (3, 3)
        assert heatmap.size.height == 2 + 3  # 3 rows -> 2 half-block lines, + title, axis, colour bar
        text = heatmap.render()
        lines = text.plain.splitlines()
        assert lines[0] == "norms"
        assert lines[1].startswith("t=0 ") and lines[2].startswith("t=2 ")
        assert set(lines[1][4:]) == {"▀"} and len(lines[1]) == 40
        assert lines[3].strip().startswith("s10") and lines[3].rstrip().endswith("s30") and "step" in lines[3]
        assert lines[4].startswith("1.0e-06 ") and "10 log scale" in lines[4]  # log scale spans 1e-6 … 10
        # the zero (log of 0) is grey, the largest value the top colour of the ramp
        cells = [span.style for span in text.spans if text.plain[span.start:span.end] == "▀"]
        assert cells, "no coloured cells"
        heatmap.log_scale = False
        await pilot.pause()
        assert heatmap.render().plain.splitlines()[4].startswith("0 ")


# --------------------------------------------------------------------- screen
def smoke_config(**changes):
    preset = load_preset("smoke")
    values = dict(preset.values)
    values.update({"steps": 40, "eval_every": 10, "eval_size": 64, "log_every": 5})
    values.update(changes)
    return build_config(values)


async def wait_for(pilot, condition, timeout=30.0):
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            record = pilot.app.lab.current
            state = None if record is None else (record.status, record.step, record.logs[-3:])
            raise AssertionError(f"timed out waiting; screen {pilot.app.screen!r}, run {state}")
        await pilot.pause(0.05)


async def test_inspect_view_during_a_run():
    from rnntui.app.app import create_app
    from rnntui.app.screens.inspect import InspectScreen
    from rnntui.engine.inspect.probes import gate_probe

    app = create_app(smoke_config(), runs_root=None)
    async with app.run_test(size=(100, 34)) as pilot:
        # start and pause in one go (the worker thread is still building the model), so the
        # run is live but waits at step 0 however fast this machine trains
        app.action_start()
        app.action_pause()
        await wait_for(pilot, lambda: app.lab.current is not None and app.lab.current.status == "paused"
                       and app.lab.trainer is not None and app.lab.trainer.model is not None)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InspectScreen) and (app.screen.loaded is not None or app.screen.error))
        screen = app.screen
        assert screen.error == "" and screen.loaded.source == "run"
        assert "paused" in _static_text(screen, "#inspect-summary")
        assert sum(getattr(p, "func", None) is gate_probe for p in app.lab.trainer.probes) == 1
        assert screen.query_one("#grad-heatmap", Heatmap).shape == (0, 0)  # no evaluation yet
        await pilot.press("p")  # resume from the Inspect view; profiles stream in at each evaluation
        await wait_for(pilot, lambda: app.lab.current.done and len(screen.profiles) == 4, timeout=60)
        record = app.lab.current
        assert record.status == "finished"
        # parameter table: the model's total (what the status bar reports)
        assert screen.loaded.model_total == record.params == 3 * (16 * 2 + 16 * 16 + 2 * 16) + 17
        table_text = _static_text(screen, "#param-table")
        assert "Total parameters" in table_text and str(record.params) in table_text
        assert f"{record.params} parameters" in _static_text(screen, "#inspect-summary")
        # gradient heatmap: one column per evaluation, one row per time step (8 bits -> 9 steps)
        await pilot.press("3")
        await pilot.pause(0.2)
        heatmap = screen.query_one("#grad-heatmap", Heatmap)
        assert heatmap.shape == (9, 4)
        assert [step for step, _ in screen.profiles] == [10, 20, 30, 40] == [s for s, _ in record.grad_profiles]
        assert np.all(np.isfinite(heatmap.values)) and np.all(heatmap.values > 0)
        assert "▀" in heatmap.render().plain
        assert "‖∂L/∂h_0‖" in _static_text(screen, "#grad-verdict")
        # gates of the GRU and its hidden state, for one sample, as heatmaps
        await pilot.press("4")
        await pilot.pause(0.2)
        gates = {w.name: w for w in screen.query(".gate-map")}
        assert set(gates) == {"r", "z", "h"} and gates["h"].region.height > 0  # mounted and laid out
        for name in ("r", "z"):
            values = gates[name].values
            assert values.shape == (16, 9) and values.min() >= 0.0 and values.max() <= 1.0
        # the traces came from the gate probe the screen attached to the live trainer
        assert "step 40" in _static_text(screen, "#gate-note")
        trainer = app.lab.trainer
        assert sum(getattr(p, "func", None) is gate_probe for p in trainer.probes) == 1
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InspectScreen)
        assert not any(getattr(p, "func", None) is gate_probe for p in trainer.probes)
        assert screen._on_events not in app.lab.listeners


async def test_inspect_view_before_any_run_shows_the_untrained_model():
    from rnntui.app.app import create_app
    from rnntui.app.screens.inspect import InspectScreen

    app = create_app(smoke_config(cell="mlstm", hidden_size=6), runs_root=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InspectScreen) and (app.screen.loaded is not None or app.screen.error))
        screen = app.screen
        loaded = screen.loaded
        assert screen.error == "" and loaded.source == "settings"
        # mLSTM on binary addition (I = 2): gates on x̂ = m ⊙ x, plus the modulation's own weights
        cell = 4 * 6 * (2 + 6) + 2 * 4 * 6 + 2 * 2 + 2 * 6 + 2
        assert loaded.model_total == cell + 6 + 1
        assert "untrained" in _static_text(screen, "#inspect-summary")
        heatmap = screen.query_one("#grad-heatmap", Heatmap)
        assert heatmap.shape == (9, 1)  # one preview profile at step 0
        assert set(screen.gate_names) == {"i", "f", "o", "m", "h"}
        await pilot.press("2")
        await pilot.pause(0.1)
        shapes = _static_text(screen, "#shape-table")
        assert "batch_first=False" in shapes and "no PackedSequence" in shapes


def _static_text(screen, selector):
    from rich.console import Console

    widget = screen.query_one(selector)
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


@pytest.mark.parametrize("size", [(80, 24)])
async def test_inspect_fits_a_small_terminal(size):
    from rnntui.app.app import create_app
    from rnntui.app.screens.inspect import InspectScreen

    app = create_app(smoke_config(), runs_root=None)
    async with app.run_test(size=size) as pilot:
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InspectScreen) and (app.screen.loaded is not None or app.screen.error))
        await pilot.press("3")
        await pilot.pause(0.2)
        heatmap = app.screen.query_one("#grad-heatmap", Heatmap)
        assert heatmap.region.width <= size[0] and heatmap.region.height >= 5
        assert heatmap.region.bottom <= size[1]


def test_untrained_model_is_built_under_the_build_lock_and_leaves_the_generator_alone():
    import threading

    import torch

    from rnntui.engine.inspect.describe import describe
    from rnntui.engine.model import BUILD_LOCK

    cfg = smoke_config()
    torch.manual_seed(1234)
    state = torch.get_rng_state()
    out = []
    with BUILD_LOCK:  # as a starting run's Trainer.setup holds it around seeding + building
        thread = threading.Thread(target=lambda: out.append(describe(cfg, sample=0, run_started=lambda: False)))
        thread.start()
        thread.join(0.3)
        assert thread.is_alive() and out == []  # waits for the lock
    thread.join(30)
    assert out and out[0].source == "settings" and out[0].model_total > 0
    assert torch.equal(torch.get_rng_state(), state)
    # a run that has built its model meanwhile trains on the global generator: leave it alone
    with pytest.raises(RuntimeError, match="run has just started"):
        describe(cfg, sample=0, run_started=lambda: True)


def test_run_snapshot_is_copied_by_the_training_thread():
    import threading
    import torch

    from rnntui.app.worker import UIRunControl
    from rnntui.engine.inspect.describe import describe
    from rnntui.engine.inspect.snapshot import RunSnapshot
    from rnntui.engine.trainer import Trainer

    trainer = Trainer(smoke_config(), lambda event: None)
    trainer.setup()
    control, snap = UIRunControl(), RunSnapshot(trainer)
    copier = []
    original = snap.take
    snap.take = lambda: (copier.append(threading.current_thread().name), original())  # type: ignore[method-assign]
    control.call_between_steps(snap.take)
    out = []
    thread = threading.Thread(target=lambda: out.append(describe(trainer.cfg, sample=0,
                                                                 run=snap.wait(ended=lambda: False))))
    thread.start()
    thread.join(0.3)
    assert thread.is_alive() and out == []  # waits for the training thread
    trainer_thread = threading.Thread(target=control.run_calls, name="training")
    trainer_thread.start()
    trainer_thread.join(10)
    thread.join(30)
    assert copier == ["training"] and out and out[0].source == "run"
    assert snap.model is not trainer.model
    assert all(torch.equal(a, b) for a, b in zip(snap.model.parameters(), trainer.model.parameters()))
