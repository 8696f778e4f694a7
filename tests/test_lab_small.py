"""The small courtesies, without a UI: the paused status, the end notice, file
permissions, the screenshot's fallback folders, the heatmap filling its height,
where each key sits in the form."""

from __future__ import annotations

import os
import stat

import numpy as np

from rnntui.app.run_view import end_notice
from rnntui.app.screenshot import candidate_dirs, save_text
from rnntui.app.widgets.status import status_text
from rnntui.config.schema import KEYS, applies, section_of
from rnntui.engine.files import write_atomic
from rnntui.engine.record import RunRecord
from rnntui.render.heatmap import heatmap_text
from rnntui.tasks.spec import task_specs


def record(status: str, **kw) -> RunRecord:
    rec = RunRecord("run00001", {"task": "adding", "cell": "rnn", "lr": 0.001, "optimizer": "adam", "steps": 1000},
                    status=status, step=kw.pop("step", 400), total_steps=1000, steps_per_s=41.0,
                    baseline={"mse": 1 / 6}, params=1234, device="cpu", **kw)
    return rec


def test_a_paused_run_shows_no_speed_and_no_eta():
    running = status_text(record("running")).plain
    assert "41 steps/s" in running and "ETA 0:15" in running  # 600 steps left at 41 steps/s
    paused = status_text(record("paused")).plain
    assert paused.startswith("‖ paused  step 400/1000 (40%)") and "steps/s" not in paused and "ETA" not in paused
    assert "run00001" not in status_text(record("ready")).plain  # not named before it has started


def test_the_end_notice_of_a_run_that_did_not_learn_says_what_to_try():
    notice = end_notice(record("finished", step=1000, final={"mse": 0.172, "acc": 0.08}, wall_time_s=12.0), None)
    assert notice.severity == "warning" and notice.title == "run run00001"
    assert notice.message.startswith("finished in 12.0s. mse 0.172: not below the baseline 0.167 — it did not")
    text, level = notice.log[1]
    assert level == "warning" and text.startswith("try a gated cell (cell gru or lstm)") and "lr 0.001 → 0.01" in text
    stopped = end_notice(record("stopped", step=300, final={"mse": 0.01}, wall_time_s=3.0), task_specs()["adding"])
    assert stopped.severity == "information"
    assert stopped.message.startswith("stopped at step 300 in 3.0s. MSE 0.01: 17× below the baseline 0.167")


def test_atomic_writes_get_the_permissions_of_plain_files(tmp_path):
    old = os.umask(0o022)
    try:
        plain = tmp_path / "config.toml"
        plain.write_text("x = 1\n")
        atomic = write_atomic(tmp_path / "checkpoint.pt", b"\x00\x01")
    finally:
        os.umask(old)
    assert stat.S_IMODE(atomic.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o644
    assert atomic.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt", "config.toml"]  # no temporary left


def test_a_screenshot_goes_to_the_first_folder_that_takes_it(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    missing = tmp_path / "no-such-folder"
    path, refused = save_text("<svg/>", "shot.svg", [missing, not_a_folder, tmp_path])
    assert path == tmp_path / "shot.svg" and path.read_text() == "<svg/>"
    assert refused == [f"{missing}: No such file or directory", f"{not_a_folder}: Not a directory"]
    again, refused = save_text("<svg/>", "shot.svg", [tmp_path])  # never overwrites
    assert again is None and refused == [f"{tmp_path}: File exists"]
    assert candidate_dirs(None, tmp_path)[0] == tmp_path and candidate_dirs(missing, None)[0] == missing


def test_a_filling_heatmap_stretches_few_rows_over_its_height():
    values = np.arange(8.0).reshape(4, 2)  # 4 rows: 2 half-block lines when not filling
    plain = heatmap_text(values, 20, 12, y_labels=("t=0", "t=3")).plain.splitlines()
    filled = heatmap_text(values, 20, 12, y_labels=("t=0", "t=3"), fill=True).plain.splitlines()
    assert len(plain) == 1 + 2 + 2 and len(filled) == 1 + 9 + 2  # title, cells, axis, colour bar
    assert filled[1].startswith("t=0 ") and filled[9].startswith("t=3 ")


def test_every_key_has_a_form_section_and_applies_where_it_means_something():
    assert {section_of(k) for k in KEYS} == {"run", "model", "training", "task", "evaluation", "advanced"}
    assert section_of("seq_len_min") == section_of("loss") == section_of("dataset") == "task"
    assert section_of("proj_size") == section_of("nonlinearity") == "model"
    assert applies("epochs", "digits", "gru") and not applies("epochs", "adding", "gru")
    assert not applies("seq_len", "digits", "gru") and applies("seq_len", "adding", "gru")
    assert applies("proj_size", "adding", "lstm") and not applies("proj_size", "adding", "gru")
