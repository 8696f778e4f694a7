"""Property-based hardening tests (hypothesis): bad input never ends in a traceback.

For every config key, preset content, checkpoint field, run-directory file and
command-line flag, generated bad values end as exit code 2 (or a ConfigError /
CheckpointError / RunDirError) whose message is one printable line that names
the key or the file — never another exception — and nothing is left behind.
Everything runs in-process; the whole file takes well under a minute.
"""

from __future__ import annotations

import io
import json
import math
import os
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rnntui.cli import main as cli  # noqa: E402
from rnntui.config import ConfigError, build_config  # noqa: E402
from rnntui.config.keys import MAX_MESSAGE  # noqa: E402
from rnntui.config.presets import load_preset  # noqa: E402
from rnntui.config.schema import KEYS  # noqa: E402
from rnntui.engine.checkpoint import FIELDS, CheckpointError, load_checkpoint, save_checkpoint  # noqa: E402
from rnntui.engine.record import RunRecord  # noqa: E402
from rnntui.engine.rundir import RunDirError  # noqa: E402
from rnntui.engine.trainer import Trainer, check_resume  # noqa: E402

settings.register_profile("rnntui", database=None)  # no .hypothesis/ folder left behind
settings.load_profile("rnntui")
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])


def one_line(text: str) -> str:
    """The message, checked to be one printable line of bounded length."""
    assert "\n" not in text.strip() and "Traceback" not in text, text[:500]
    assert text.strip().isprintable(), repr(text[:200])
    assert len(text) < MAX_MESSAGE + 200, len(text)
    return text.strip()


# ------------------------------------------------------------ bad values
JUNK = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=31), min_size=1, max_size=5),
    st.builds(lambda n: "9" * n, st.integers(4301, 6000)),  # past int()'s digit limit
    st.builds(lambda n: "[" * n + "]" * n, st.integers(1, 3000)),  # deeply nested
    st.builds(lambda n: "1," * n, st.integers(2000, 6000)),  # a long list
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.lists(st.one_of(st.integers(), st.text(max_size=3), st.floats()), max_size=6),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    st.booleans(),
    st.none(),
)


def bad_value(key) -> st.SearchStrategy:
    """Values certainly not allowed for ``key`` (by its declared type and bounds)."""
    options = [st.builds(lambda s: s + "\x00", st.text(max_size=5))]  # NUL fits no key
    if key.type in (int, float):
        if key.lo is not None:
            options.append(st.floats(max_value=key.lo, exclude_max=not key.lo_open, allow_nan=False,
                                     allow_infinity=True).map(lambda v: str(v) if key.type is float else v))
            options.append(st.integers(max_value=math.ceil(key.lo) - 1).map(str))
        if key.hi is not None:
            options.append(st.integers(min_value=math.floor(key.hi) + 1).map(str))
        options.append(st.sampled_from(["nan", "inf", "-inf", "1e999", "twelve", "[1]", "0x", ""])
                       .filter(lambda t: not (key.optional and t == "")))
        if key.type is int:
            options.append(st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f != int(f)))
            options.append(st.builds(lambda n: "9" * n, st.integers(4301, 5000)))
    elif key.type is bool:
        options.append(st.sampled_from(["maybe", "2", "tru", "[]", "none" if not key.optional else "x"]))
        options.append(st.integers(2, 10))
    elif key.type is list:
        options.append(st.lists(st.integers(max_value=(key.item_lo or 1) - 1), min_size=1, max_size=3))
        if key.item_hi is not None:
            options.append(st.lists(st.integers(min_value=key.item_hi + 1), min_size=1, max_size=3))
        if key.max_items is not None:
            options.append(st.just([key.item_lo or 1] * (key.max_items + 1)))
        options.append(st.sampled_from(["[1,", "[[1]]", "1.5", "a,b", "[" * 2000]))
    elif key.choices:
        options.append(st.text(max_size=12).filter(lambda t: t.strip() not in key.choices))
    else:
        options.append(st.builds(lambda n: "x" * n, st.integers(10_001, 12_000)))  # past MAX_TEXT
    if key.type is not str:
        options.append(st.dictionaries(st.text(max_size=2), st.integers(), min_size=1, max_size=2))
    return st.one_of(options)


@pytest.mark.parametrize("name", list(KEYS))
@FAST
@given(data=st.data())
def test_every_key_refuses_bad_values_naming_the_key(name: str, data) -> None:
    key = KEYS[name]
    value = data.draw(bad_value(key), label=name)
    with pytest.raises(ConfigError) as info:
        build_config({name: value})
    assert info.value.key == name, str(info.value)
    one_line(str(info.value))


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(list(KEYS)), value=JUNK)
def test_any_value_for_any_key_is_accepted_or_refused_cleanly(name: str, value) -> None:
    try:
        cfg = build_config({name: value})
    except ConfigError as exc:
        one_line(str(exc))
        return
    KEYS[name].validate(getattr(cfg, name))  # what was accepted is what the key allows


# ------------------------------------------------------------ the command line
FLAGS = sorted({k.flag for k in KEYS.values()} | {"--preset", "--resume", "--out", "--set", "--json", "--start",
                                                  "--headless", "--overwrite", "--input-size", "--batch"})


@pytest.fixture
def no_training(monkeypatch):
    """The front ends stop where training would begin: only parsing and validation run."""
    import rnntui.cli.experiment as experiment
    import rnntui.cli.run as run

    calls = []
    monkeypatch.setattr(run, "run_single", lambda *a, **k: calls.append("run") or 0)
    monkeypatch.setattr(experiment, "run_experiment_headless", lambda *a, **k: calls.append("exp") or 0)
    return calls


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


@FAST
@given(argv=st.lists(st.one_of(st.sampled_from(FLAGS), JUNK.map(str), st.sampled_from(["--set", "grid.cell=[gru",
                                                                                          "trials=0", "=", "x="])),
                     min_size=1, max_size=6))
def test_any_argv_exits_0_or_2_with_one_line(argv, tmp_path, no_training, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    if "--headless" not in argv:
        argv = ["--headless", *argv]
    code, _, err = run_cli(argv)
    assert code in (0, 2), (argv, code, err)
    if code == 2:
        line = one_line(err)
        assert line.startswith("rnntui"), line
    assert sorted(os.listdir(tmp_path)) == before  # bad input leaves nothing behind


@pytest.mark.parametrize("name", [n for n in KEYS if KEYS[n].type is not bool])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_flag_refuses_bad_values_with_exit_2(name: str, data, tmp_path, no_training, monkeypatch) -> None:
    key = KEYS[name]
    value = data.draw(bad_value(key).map(lambda v: v if isinstance(v, str) else json.dumps(v)))
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["--headless", "--out", str(tmp_path / "out"), f"{key.flag}={value}"])
    assert code == 2 and not no_training and not (tmp_path / "out").exists()
    assert f"error: {name}:" in one_line(err)


# ------------------------------------------------------------ presets
TOML_VALUE = st.recursive(
    st.one_of(st.integers(-(10**20), 10**20), st.floats(allow_nan=False), st.text(max_size=20), st.booleans()),
    lambda inner: st.lists(inner, max_size=4), max_leaves=8)


def toml_scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a TOML basic string
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else "nan"
    if isinstance(v, list):
        return "[" + ", ".join(toml_scalar(x) for x in v) + "]"
    return str(v)


@FAST
@given(values=st.dictionaries(st.one_of(st.sampled_from(list(KEYS) + ["grid", "trials", "description"]),
                                        st.from_regex(r"[a-z_]{1,12}", fullmatch=True)),
                              TOML_VALUE, max_size=5),
       grid=st.dictionaries(st.sampled_from(list(KEYS)), TOML_VALUE, max_size=2),
       raw=st.one_of(st.none(), st.text(max_size=200), st.builds(lambda n: "a = " + "[" * n + "]" * n,
                                                                  st.integers(500, 2000))))
def test_any_preset_content_loads_or_names_the_key(values, grid, raw, tmp_path) -> None:
    path = tmp_path / "p.toml"
    if raw is not None:
        text = raw
    else:
        text = "".join(f"{k} = {toml_scalar(v)}\n" for k, v in values.items() if k != "grid")
        if grid:
            text += "[grid]\n" + "".join(f"{k} = {toml_scalar(v)}\n" for k, v in grid.items())
    path.write_text(text, encoding="utf-8")
    before = sorted(os.listdir(tmp_path))
    try:
        load_preset(str(path))
    except ConfigError as exc:
        one_line(str(exc))
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "empty", "missing"])
def test_preset_paths_that_are_not_files(kind, tmp_path) -> None:
    path = {"directory": tmp_path, "fifo": tmp_path / "f.toml", "device": Path("/dev/null"),
            "empty": "", "missing": tmp_path / "no.toml"}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    with pytest.raises(ConfigError) as info:
        load_preset(str(path))
    text = one_line(str(info.value))
    assert info.value.key == "preset"
    assert {"directory": "a directory", "fifo": "FIFO", "device": "a device", "empty": "got ''",
            "missing": "does not exist"}[kind] in text


# ------------------------------------------------------------ checkpoints
BASE = dict(task="adding", cell="gru", hidden_size=4, batch_size=8, seq_len=6, eval_size=16, steps=4,
            eval_every=2, log_every=1, seed=1)


@pytest.fixture(scope="module")
def payload(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("ckpt") / "c.pt"
    Trainer(build_config(BASE), checkpoint_path=path).run()
    data = load_checkpoint(path)
    return {k: v for k, v in data.items() if k not in ("format", "version")}


FIELD_JUNK = st.one_of(
    JUNK, st.just(float("inf")), st.just(-5), st.just(10**18), st.just([1, 2]), st.just("abc"),
    st.just([{"step": "x"}]), st.just([{"step": 1, "epoch": 0}]), st.just([3, 4]),
    st.just(torch.zeros(3)), st.just({"w": 1}),
)


@pytest.mark.parametrize("field", list(FIELDS))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=FIELD_JUNK)
def test_every_checkpoint_field_is_checked(field, value, payload, tmp_path) -> None:
    bad = dict(payload)
    bad[field] = value
    path = tmp_path / "c.pt"
    save_checkpoint(path, bad)
    try:
        check_resume(build_config(BASE, {"steps": 8}), load_checkpoint(path))
    except (CheckpointError, ConfigError) as exc:
        one_line(str(exc))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_a_flipped_byte_is_refused(where, bit, payload, tmp_path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, payload)
    raw = bytearray(path.read_bytes())
    raw[int(where * len(raw))] ^= 1 << bit
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert "weights_only=False" not in one_line(str(info.value))


# ------------------------------------------------------------ run directories
SUMMARY = st.one_of(JUNK, st.dictionaries(st.sampled_from(["run_id", "status", "config", "final", "params", "steps",
                                                            "baseline", "wall_time_s", "device", "reason"]),
                                          JUNK, max_size=4))


@FAST
@given(summary=SUMMARY, rows=st.lists(st.one_of(JUNK, st.dictionaries(st.sampled_from(
    ["event", "step", "epoch", "loss", "metrics"]), JUNK, max_size=4)), max_size=4),
    nested=st.integers(0, 3000))
def test_any_run_directory_reads_or_fails_with_one_line(summary, rows, nested, tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    text = json.dumps(summary) if not nested else "[" * nested + "]" * nested
    (run / "summary.json").write_text(text)
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    try:
        record = RunRecord.from_run_dir(str(run))
    except RunDirError as exc:
        assert "run" in one_line(str(exc))
        return
    assert isinstance(record.config, dict) and isinstance(record.final, dict)
    record.series("loss"), record.metric_names()
