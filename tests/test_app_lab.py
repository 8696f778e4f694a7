"""The lab for a newcomer (Pilot): per-task defaults in the form, presets in the
app, help and footers, the verdict when a run ends, the small courtesies."""

from __future__ import annotations

import threading



from conftest import engine_ready, form_ready, make_lab_app, replay_training, wait_for
from textual.containers import VerticalScroll
from textual.widgets import Collapsible, Input, OptionList

from rnntui.app import app as app_module
from rnntui.app.screens.experiment import ExperimentScreen
from rnntui.app.screens.help import HelpScreen
from rnntui.app.widgets.config_form import FORM_KEYS
from rnntui.app.widgets.preset_picker import PresetPickerScreen
from rnntui.config.schema import KEYS

SIZE = (120, 40)


def shown(app) -> set[str]:
    return {key for key, row in app.form.rows.items() if row.display}


def footer_actions(screen) -> set[str]:
    return {getattr(w, "action", None) for w in screen.query("FooterKey")}


# -------------------------------------------------------------- the form
async def test_choosing_a_task_loads_its_preset_and_shows_what_applies():
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await form_ready(pilot, app)
        form = app.form
        assert form.preset.name == "adding" and app.config.cell == "gru" and app.config.seq_len == 30
        assert "The first run" in str(form.query_one("#preset-about").render())
        assert {"seq_len", "seq_len_min", "steps"} <= shown(app) and "epochs" not in shown(app)
        assert not shown(app) & {"nonlinearity", "proj_size", "dataset", "lag"}  # other cells' / tasks' keys

        form.query_one("#f-task").value = "digits"
        await wait_for(pilot, lambda: form.preset is not None and form.preset.name == "digits", 10, "digits' preset")
        assert app.config.dataset == "digits-8x8" and app.config.epochs == 40 and app.config.hidden_size == 64
        assert {"epochs", "dataset", "val_fraction"} <= shown(app)
        assert not shown(app) & {"seq_len", "eval_lengths", "eval_size", "seq_len_min"}  # digits ignores them
        steps = form.editor("steps")
        assert steps.disabled  # epochs decide: the steps are derived
        await engine_ready(pilot, app)
        await wait_for(pilot, lambda: form.plan is not None, 30, "the step count")
        # the bundled 8x8 digits: 1797 images, 20 % held out -> 1438 to train, ceil(1438 / 32) = 45 batches
        assert form.plan == (40 * 45, 45) and steps.value == "1800"
        assert form.rows["steps"].note == "= 40 epochs × 45 batches (set epochs 0 to give steps)"

        form.query_one("#f-cell").value = "rnn"  # a cell option appears under model
        await wait_for(pilot, lambda: "nonlinearity" in shown(app), 10, "rnn's nonlinearity")
        assert "edited" in str(form.query_one("#preset-button").label)


async def test_every_key_is_in_the_form_and_the_advanced_ones_unfold():
    assert set(FORM_KEYS) == set(KEYS)  # every config key is editable in the form
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await form_ready(pilot, app)
        advanced = app.form.query_one("#advanced", Collapsible)
        assert advanced.collapsed and "weight_decay" not in app.form.rows
        advanced.collapsed = False
        await wait_for(pilot, lambda: app.form.editor("weight_decay") is not None, 10, "the advanced rows")
        for key in ("init", "lr_schedule", "weight_decay", "log_every", "threads", "checkpoint_every"):
            assert app.form.rows[key].display, key
        editor = app.form.editor("weight_decay")
        editor.value = "0.001"
        await wait_for(pilot, lambda: app.config is not None and app.config.weight_decay == 0.001, 5, "the edit")
        editor.value = "-1"
        await wait_for(pilot, lambda: app.form.rows["weight_decay"].has_class("-invalid"), 5, "the error")
        assert app.form.rows["weight_decay"].error == "got -1.0; allowed: a number in [0.0, 1.0]"


# ----------------------------------------------------------------- presets
async def test_the_picker_and_the_palette_load_presets():
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await form_ready(pilot, app)
        app.action_leave_form()
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, PresetPickerScreen)
                       and isinstance(app.focused, Input), 5, "the picker")
        await pilot.press(*"xor")
        picker = app.screen
        await wait_for(pilot, lambda: picker.shown and picker.shown[0].name == "xor", 5, "the filter")
        about = str(picker.query_one("#picker-description").render())
        assert about.startswith("xor\nSequential XOR of the last two bits")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.form.preset.name == "xor", 5, "the xor preset")
        assert app.config.task == "xor" and app.config.steps == 400
        assert "preset xor loaded" in "\n".join(app.query_one("#log").history)

        # the palette: typing "seed" lists the seed presets with their descriptions
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"seed")
        results = None

        def listed() -> list[str]:
            nonlocal results
            results = app.screen.query_one(OptionList)
            return [str(results.get_option_at_index(i).prompt) for i in range(results.option_count)]

        await wait_for(pilot, lambda: sum("Preset: seed" in p for p in listed()) >= 8, 10, "the seed presets")
        prompts = listed()
        names = [p.split("\n")[0] for p in prompts if p.startswith("Preset:")]
        assert names[:9] == ["Preset: seed000-copy-gating", "Preset: seed001-timing", "Preset: seed002-adding",
                             "Preset: seed002-copy-memory", "Preset: seed002-xor", "Preset: seed003-binary-addition",
                             "Preset: seed003-digits", "Preset: seed003-recall", "Preset: seed004-adding"]
        assert any("experiment · Seed 004: adding, variable length 3-9" in p for p in prompts)
        await pilot.press("enter")  # the best match, an experiment: it opens in the Experiment view
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentScreen) and app.screen.preset_name, 10,
                       "the Experiment view with the preset")
        screen = app.screen
        assert screen.preset_name == "seed000-copy-gating"
        assert screen.query_one("#exp-grid", Input).value == "cell=lstm,mlstm,gru,mgru seq_len=100,200,500,1000"
        assert screen.query_one("#exp-trials", Input).value == "3"
        assert "Seed 000" in str(screen.query_one("#exp-preset-about").render())
        # the preset's [[override]] tables come along: hidden 128 and more steps at delay 100, fewer later
        base, grid, trials, name, overrides = screen.resolve()
        from rnntui.engine.experiment.grid import expand_grid
        steps = {cfg.seq_len: cfg.steps for _, cfg in expand_grid(base, grid, overrides)}
        assert steps == {100: 2000, 200: 300, 500: 90, 1000: 45}
        hidden = {cfg.seq_len: cfg.hidden_size for _, cfg in expand_grid(base, grid, overrides)}
        assert hidden == {100: 128, 200: 64, 500: 64, 1000: 64}

        # the Experiment view's own picker: experiment presets and the form's settings
        screen.query_one("#preset-button").press()
        await wait_for(pilot, lambda: isinstance(app.screen, PresetPickerScreen)
                       and isinstance(app.focused, Input), 5, "its picker")
        picker = app.screen
        assert picker.shown[0] is None  # first: a grid over the form's settings
        assert all(p is None or p.is_experiment for p in picker.shown) and len(picker.shown) == 10
        await pilot.press(*"xor")
        await wait_for(pilot, lambda: [p.name for p in picker.shown] == ["seed002-xor"], 5, "the filter")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.preset_name == "seed002-xor", 5, "seed002-xor")
        assert screen.query_one("#exp-grid", Input).value == "cell=rnn,gru,lstm"


# ------------------------------------------------------- help and footers
async def test_help_scrolls_with_the_keyboard_and_footers_list_their_own_keys():
    app = make_lab_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await form_ready(pilot, app)
        # 80 columns: the footer keeps the run keys and the views that fit (the rest are in help)
        lab_keys = {"start", "pause", "stop", "presets", "compare", "experiment", "help"}
        # the footer fills in a refresh after the screen is up: wait for it, then compare
        await wait_for(pilot, lambda: bool(footer_actions(app.screen)), 10, "the footer")
        assert lab_keys <= footer_actions(app.screen)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), 5, "help")
        box = app.screen.query_one("#help-text", VerticalScroll)
        await pilot.pause(0.2)
        assert box.max_scroll_y > 0 and box.scroll_y == 0
        await pilot.press("down")
        await wait_for(pilot, lambda: box.scroll_y == 1, 5, "one line down")
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: box.scroll_y > 5, 5, "a page down")
        await pilot.press("end")
        await wait_for(pilot, lambda: box.scroll_y == box.max_scroll_y, 5, "the end")
        assert footer_actions(app.screen) == {"dismiss", "scroll('down')", "scroll('page_down')", "scroll('end')"}
        await pilot.press("escape")
        await pilot.press("i")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "InspectScreen", 5, "Inspect")
        await wait_for(pilot, lambda: {"toggle_log", "next_sample", "reload", "close"} <= footer_actions(app.screen),
                       10, "Inspect's footer")
        own = footer_actions(app.screen)
        assert not own & {"start", "pause", "stop", "presets", "compare"}  # the lab's keys are not listed
        assert {"toggle_log", "next_sample", "reload", "close"} <= own
        await pilot.press("escape")
        await pilot.press("e")  # e jumps to the form
        await wait_for(pilot, lambda: app.focused is app.form.editor("task"), 5, "the form's first field")


# --------------------------------------------------------------- a run ends
async def test_a_finished_run_says_how_it_did_and_a_long_one_rings(monkeypatch):
    monkeypatch.setattr(app_module, "run_training", replay_training)
    app = make_lab_app()
    bells: list[int] = []
    async with app.run_test(size=SIZE) as pilot:
        app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
        await form_ready(pilot, app)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.lab.current is not None and app.lab.current.done, 10, "the run")
        log = app.query_one("#log").history
        # the replayed run ends at MSE (1/6)(0.004 + 0.996 / (1 + e^(240/18))) = 6.669e-4, 1/250 of the baseline
        assert "MSE 0.0006669: 250× below the baseline 0.167 — it learned" in log
        assert any(sev == "information" and "finished in 9.5s. MSE 0.0006669: 250× below" in msg
                   for sev, msg in app.notes)
        assert not bells  # 9.5 s: no bell

        monkeypatch.setattr(app_module, "BELL_AFTER_S", 5.0)
        await pilot.press("r", "s")
        await wait_for(pilot, lambda: app.lab.current is not None and app.lab.current.run_id == "run00002"
                       and app.lab.current.done, 10, "the second run")
        assert bells == [1]


async def test_start_during_a_run_says_so_and_reset_clears_the_run_id(monkeypatch):
    release = threading.Event()

    def blocked(job):
        release.wait(20)
        return replay_training(job)

    monkeypatch.setattr(app_module, "run_training", blocked)
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await form_ready(pilot, app)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.lab.active, 5, "the run")
        assert "run00001" not in app.query_one("#status").plain  # not named before it has started
        await pilot.press("s")
        await wait_for(pilot, lambda: any("A run is in progress" in m for _, m in app.notes), 5, "the notice")
        release.set()
        await wait_for(pilot, lambda: app.lab.current.done, 10, "the end")
        await pilot.pause(0.3)
        assert app.query_one("#loss-plot").title == "loss · run00001"
        await pilot.press("r")
        await pilot.pause()
        assert app.query_one("#loss-plot").title == "loss" and app.query_one("#metric-plot").title == "metric"


async def test_quitting_asks_while_an_experiment_runs_and_a_refused_run_has_no_id(monkeypatch):
    from rnntui.app.experiment_session import ExperimentSession
    from rnntui.app.screens.confirm import ConfirmScreen
    from rnntui.config import build_config
    from rnntui.config.request import Request

    app = make_lab_app(Request(build_config({"task": "adding", "seq_len": 1, "eval_lengths": []})))
    async with app.run_test(size=SIZE) as pilot:
        await form_ready(pilot, app)
        await pilot.press("s")  # adding needs 2 steps at least: the worker refuses the run
        await wait_for(pilot, lambda: any(sev == "error" for sev, _ in app.notes), 30, "the refusal")
        assert app.lab.records == [] and "run0000" not in "\n".join(app.query_one("#log").history)
        assert app.query_one("#status").plain.startswith("○ ready")

        monkeypatch.setattr(ExperimentSession, "running", property(lambda self: True))
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the question")
        assert str(app.screen.query_one("#confirm-question").render()).startswith("An experiment is in progress.")
        await pilot.press("n")  # keep it running
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), 5, "the answer")
        assert app.is_running
