"""Damaged run directories never crash a reader, and an error in a screen never
kills a run (issue 13, item 3).

Every reader of a run directory -- Compare's load, the run browser's listing,
``rnntui plot`` -- goes through :func:`rnntui.engine.rundir.read_run_dir`, which
raises one typed error (RunDirError, one line naming the file) for any content;
the screens show it as a notice.  An unexpected exception elsewhere in the app
still ends the app (Textual's rule), but a run in progress is stopped as ``t``
stops it: closing evaluation, checkpoint, summary.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from rnntui.config import build_config
from rnntui.config.presets import load_preset
from rnntui.config.request import Request
from rnntui.engine.record import RunRecord
from rnntui.engine.rundir import MAX_LINE_BYTES, MAX_METRICS, RunDirError
from rnntui.engine.saved_runs import list_saved, load_runs

from conftest import make_lab_app, wait_for

GOOD_CONFIG = {"task": "binary-addition", "cell": "gru", "hidden_size": 4}
STEP = {"event": "step", "step": 1, "epoch": 0, "loss": 0.5}


def summary(**fields) -> str:
    base = {"run_id": "r1", "status": "finished", "config": GOOD_CONFIG, "final": {"bit_acc": 0.5}, "steps": 1}
    return json.dumps({**base, **fields})


def run_dir(root: Path, name: str, summary_text: str, metrics: str | bytes | None = None) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "summary.json").write_text(summary_text)
    if metrics is not None:
        (path / "metrics.jsonl").write_bytes(metrics if isinstance(metrics, bytes) else metrics.encode())
    return path


BAD_SUMMARIES = {
    "a list": ("[]", "allowed: a JSON object"),
    "nested lists": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "nested in a field": ('{"config": {"a": ' + "[" * 50_000 + "]" * 50_000 + "}}", "nested too deeply"),
    "config a string": (summary(config="x"), "field 'config'"),
    "steps of 4,000 digits": ('{"steps": ' + "9" * 4000 + "}", "field 'steps'"),
    "steps past 2^53": (summary(steps=2**53 + 1), "field 'steps'"),
    "steps 1e400": ('{"steps": 1e400}', "field 'steps'"),
    "a metric of 400 digits": ('{"final": {"acc": 1' + "0" * 400 + "}}", "field 'final'"),
    "too many metrics": (summary(final={f"m{i}": 0 for i in range(MAX_METRICS + 1)}), "field 'final'"),
    "an empty metric name": (summary(final={"": 1.0}), "field 'final'"),
    "a run id of 20,000 characters": (summary(run_id="x" * 20_000), "field 'run_id'"),
    "not JSON": ("{", "not valid JSON"),
    "empty": ("", "not valid JSON"),
}

BAD_METRICS = {
    "a row [1, 2]": ("[1, 2]\n", "line 1: got [1, 2]"),
    "nested lists": ("[" * 100_000 + "]" * 100_000 + "\n", "line 1: nested too deeply"),
    "an unknown event": ('{"event": "x", "step": 1}\n', "line 1: event 'x'"),
    "a loss string": ('{"event": "step", "step": 1, "loss": "x"}\n', "line 1: got"),
    "a step of 4,000 digits": ('{"event": "step", "step": ' + "9" * 4000 + ', "loss": 1}\n', "line 1: got"),
    "a negative step": (json.dumps({**STEP, "step": -1}) + "\n", "line 1: got"),
    "metrics a list": (json.dumps({"event": "eval", "step": 1, "metrics": [1]}) + "\n", "line 1: got"),
    "too many metrics": (json.dumps({"event": "eval", "step": 1, "metrics": {f"m{i}": 0 for i in range(300)}})
                         + "\n", "line 1: got"),
    "a 2 MB line": ('{"event": "step", "step": 1, "loss": 1, "x": "' + "y" * MAX_LINE_BYTES + '"}\n',
                    "line 1: longer than"),
    "bad UTF-8": (b"\xff\xfe\n", "line 1: not valid JSON"),
    "a bad second line": (json.dumps(STEP) + "\n{\n", "line 2: not valid JSON"),
}


@pytest.mark.parametrize("case", list(BAD_SUMMARIES))
def test_a_damaged_summary_is_one_typed_line_naming_the_file(tmp_path: Path, case: str) -> None:
    text, expected = BAD_SUMMARIES[case]
    path = run_dir(tmp_path, "run", text)
    for read in (RunRecord.from_run_dir, load_runs):
        with pytest.raises(RunDirError) as info:
            read(str(path))
        message = str(info.value)
        assert "summary.json" in message and expected in message, message
        assert "\n" not in message and len(message) <= 420, message


@pytest.mark.parametrize("case", list(BAD_METRICS))
def test_a_damaged_metrics_line_is_one_typed_line_naming_file_and_line(tmp_path: Path, case: str) -> None:
    text, expected = BAD_METRICS[case]
    path = run_dir(tmp_path, "run", summary(), text)
    with pytest.raises(RunDirError) as info:
        load_runs(path)
    message = str(info.value)
    assert "metrics.jsonl" in message and expected in message, message
    assert "\n" not in message and len(message) <= 420, message


def test_what_a_diverged_run_logs_is_read_and_strings_cannot_drive_the_terminal(tmp_path: Path) -> None:
    rows = [{"event": "step", "step": 1, "loss": float("inf")}, {"event": "step", "step": 2, "loss": float("nan")},
            {"event": "step", "step": 3, "loss": 1e308},
            {"event": "eval", "step": 3, "metrics": {"val_loss": float("nan"), "bit_acc@16": 0.5}}]
    path = run_dir(tmp_path, "run", summary(run_id="\x1b[2Jr", reason="a\nb", config={**GOOD_CONFIG, "task": "\x07"}),
                   "".join(json.dumps(r) + "\n" for r in rows) + '{"event": "step", "st')  # a cut last line
    record = RunRecord.from_run_dir(str(path))
    assert record.run_id == "\\x1b[2Jr" and record.reason == "a\\nb" and record.config["task"] == "\\x07"
    steps, losses = record.series("loss")
    assert steps == [1, 2, 3] and losses[0] == float("inf") and losses[1] != losses[1] and losses[2] == 1e308
    assert record.series("bit_acc@16") == ([3], [0.5])


@pytest.mark.parametrize("typed", ["~nosuchuser_rnntui/x", "a" * 6000, "bad\x00name", "/proc/self/status",
                                   "/nonexistent/run"])
def test_a_typed_path_the_system_refuses_is_one_typed_line(typed: str) -> None:
    with pytest.raises(RunDirError) as info:
        load_runs(typed)
    assert "\n" not in str(info.value) and "\x00" not in str(info.value)


def test_an_experiment_directory_names_its_damaged_run(tmp_path: Path) -> None:
    run_dir(tmp_path / "exp", "run-1", summary())
    run_dir(tmp_path / "exp", "run-2", summary(config="x"))
    with pytest.raises(RunDirError, match=r"run-2/summary.json: field 'config'"):
        load_runs(tmp_path / "exp")


def test_the_run_browser_lists_damaged_directories_as_damaged(tmp_path: Path) -> None:
    for name, (text, _) in BAD_SUMMARIES.items():
        run_dir(tmp_path, name.replace(" ", "-").replace(",", ""), text)
    run_dir(tmp_path, "good", summary())
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "results.json").write_text("[" * 100_000)  # an experiment with damaged results
    run_dir(tmp_path / "exp", "run-1", summary())
    entries = {e.path.name: e for e in list_saved(tmp_path)}
    assert len(entries) == len(BAD_SUMMARIES) + 2
    assert entries["good"].title == "binary-addition/gru h4 · finished"
    assert entries["exp"].kind == "experiment" and entries["exp"].title == "exp · 1 of 1 runs"
    damaged = [e for e in entries.values() if e.title.startswith("damaged: ")]
    assert len(damaged) == len(BAD_SUMMARIES)
    assert all(len(e.title) <= 200 and e.title.isprintable() for e in entries.values())
    assert list_saved(tmp_path, limit=3) == sorted(entries.values(), key=lambda e: (-e.mtime, e.path.name))[:3]
    assert list_saved("~nosuchuser_rnntui/runs") == [] and list_saved("a" * 6000) == []


def test_rnntui_plot_refuses_damaged_directories_and_draws_a_diverged_run(tmp_path: Path, capsys) -> None:
    pytest.importorskip("matplotlib")
    from rnntui.cli.main import main

    for name, (text, expected) in {"list": BAD_SUMMARIES["a list"], "config": BAD_SUMMARIES["config a string"]}.items():
        path = run_dir(tmp_path, name, text)
        assert main(["plot", str(path), "-o", str(tmp_path / f"{name}.svg")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("rnntui plot: error: RUN_DIR: ") and expected in err and "\n" not in err, err
    rows = [{"event": "step", "step": s, "loss": v} for s, v in enumerate([1e308, -1e308, 1.0, 0.5, 0.25], 1)]
    path = run_dir(tmp_path, "diverged", summary(), "".join(json.dumps(r) + "\n" for r in rows))
    assert main(["plot", str(path), "-o", str(tmp_path / "diverged.svg")]) == 0
    assert (tmp_path / "diverged.svg").stat().st_size > 0


# ------------------------------------------------------------------ the app
pytest.importorskip("textual")

SIZE = (120, 40)


def training_request(steps: int) -> Request:
    values = {"steps": steps, "eval_every": 50, "eval_size": 64, "log_every": 10, "n_samples": 0,
              "checkpoint_every": 0}
    return Request(build_config(load_preset("smoke").values, values))


def bad_dirs(root: Path) -> list[Path]:
    return [run_dir(root, "list", "[]"), run_dir(root, "nested", "[" * 100_000 + "]" * 100_000),
            run_dir(root, "config", summary(config="x")), run_dir(root, "row", summary(), "[1, 2]\n"),
            root / "missing", Path("~nosuchuser_rnntui/x"), Path("a" * 6000)]


async def test_compare_of_bad_run_dirs_while_a_run_trains_keeps_the_app_and_the_run(tmp_path: Path) -> None:
    from rnntui.app.screens.compare import CompareScreen
    from rnntui.app.screens.run_browser import RunBrowser

    bad = bad_dirs(tmp_path / "bad")
    app = make_lab_app(training_request(1_000_000), runs_root=tmp_path / "runs")  # stopped with t, never done
    notes = app.notes
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.lab.current is not None and app.lab.current.step > 0, 60, "training")
        gate = threading.Event()  # holds the training thread at its next safe point: still running, any load
        app.lab.control.call_between_steps(lambda: gate.wait(60))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), 5, "Compare")
        compare = app.screen
        for path in bad:
            notes.clear()
            assert compare.load(path) == []
            assert len(notes) == 1 and notes[0][0] == "error" and "\n" not in notes[0][1], notes
        await pilot.press("o")  # the browser opens while the run writes its directory
        await wait_for(pilot, lambda: isinstance(app.screen, RunBrowser), 5, "the run browser")
        await pilot.press("escape")
        for key in "nnlbnd":
            await pilot.press(key)
        assert app.lab.current.status == "running", "the run must still be going"
        gate.set()
        await pilot.press("escape", "t")
        await wait_for(pilot, lambda: app.lab.current.done, 120, "the run to stop")
        await pilot.pause(0.2)
        assert app.is_running and app.return_code is None
    record = app.lab.current
    assert record.status == "stopped" and record.step > 0
    saved = json.loads((Path(record.path) / "summary.json").read_text())
    assert saved["status"] == "stopped" and saved["steps"] == record.step


async def test_an_unexpected_error_in_a_screen_stops_the_run_cleanly(tmp_path: Path, monkeypatch) -> None:
    """Textual ends the app on an exception nobody handled; the run in progress is
    then stopped as ``t`` stops it, so its checkpoint and summary are written."""
    from rnntui.app.app import create_app
    from rnntui.app.screens.compare import CompareScreen

    def broken(self) -> None:
        raise RuntimeError("a bug in a screen")

    monkeypatch.setattr(CompareScreen, "action_next_series", broken)
    app = create_app(training_request(1_000_000), runs_root=tmp_path / "runs")
    with pytest.raises(RuntimeError, match="a bug in a screen"):
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("s")
            await wait_for(pilot, lambda: app.lab.current is not None and app.lab.current.step > 0, 60, "training")
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), 5, "Compare")
            await pilot.press("n")
            await pilot.pause(0.5)
    assert app.return_code == 1
    path = Path(app.lab.current.path)
    deadline = time.monotonic() + 60
    while not (path / "summary.json").is_file() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    saved = json.loads((path / "summary.json").read_text())
    assert saved["status"] == "stopped" and 0 < saved["steps"] < 1_000_000
    assert (path / "checkpoint.pt").is_file()
    from rnntui.engine.checkpoint import load_checkpoint

    assert load_checkpoint(path / "checkpoint.pt")["step"] == saved["steps"]
