"""Fuzz: generated bad inputs, as a hostile user would type them; how each one ends.

Every input below is bad by construction (a value outside its key's bounds, of
the wrong type, malformed, too large, a path that is no file, a damaged
checkpoint...).  Each is run through the real command line, in-process
(``rnntui.cli.main.main``; the point where training would begin raises a
sentinel instead, so nothing trains) and, for a random sample, in a real
``python -m rnntui`` subprocess.  Each ending is one of:

* **clean**: exit code 2 and one line ``rnntui...: error: ...`` on stderr;
* **traceback**: any other exception, a Python traceback, or another exit code;
* **accepted**: the input got through to training (or a result) unrefused;
* **unclean**: exit 2 but not one well-formed line.

Run-directory files and typed directories are fuzzed through every reader
(Compare's ``load_runs``, the run browser's ``list_saved``, ``rnntui plot``):
clean is a one-line RunDirError, a "damaged" listing and exit 2.

    python bench/fuzz_inputs.py [--seed 0] [--per-key 8] [--subprocess 60]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

torch.set_num_threads(1)

from rnntui.cli import main as cli  # noqa: E402
from rnntui.config.schema import KEYS  # noqa: E402

SMOKE = ["--preset", "smoke"]


class WouldTrain(Exception):
    """Raised where training would begin: the input was accepted."""


# ------------------------------------------------------------------ generators
def junk(rng: random.Random) -> str:
    return rng.choice([
        "", " ", "nan", "inf", "-inf", "1e999", "-0", "0x10", "1_000", "[]", "[[]]", "{}", "none", "null",
        "\x1b[31mred", "a\nb", "\x00", "é" * 3, "🙂", "9" * rng.randint(4301, 6000), "[" * rng.randint(100, 20000),
        "1," * rng.randint(1000, 20000), "x" * rng.randint(10_001, 40_000), "true false", "--", "=",
        "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 30))),
    ])


def bad_values(key, rng: random.Random, n: int) -> list[str]:
    """``n`` text values certainly outside what ``key`` allows (each one checked to
    fail the key's own parse-and-validate, so none is good by accident)."""
    out: list[str] = []
    while len(out) < n:
        kind = rng.random()
        if key.type in (int, float) and kind < 0.5:
            if key.lo is not None and rng.random() < 0.5:
                v = key.lo - (0 if key.lo_open else (1 if key.type is int else 1e-9)) - rng.choice([0, 1, 1e6])
            elif key.hi is not None:
                v = key.hi + (0 if key.hi_open else (1 if key.type is int else 1e-6)) + rng.choice([0, 1, 1e6, 1e30])
            else:
                v = rng.choice([1.5, -1e400, float("nan")])
            integral = key.type is int and math.isfinite(v) and v == int(v)
            text = str(int(v)) if integral else repr(v)
        elif key.type is bool and kind < 0.5:
            text = rng.choice(["maybe", "2", "tru", "[]", "-1", "yes no"])
        elif key.type is list and kind < 0.5:
            lo, hi = key.item_lo or 1, key.item_hi or 10**6
            text = rng.choice([f"[{lo - 1}]", f"[{hi + 1}]", "[1.5]", "[1,", "[[1]]", "a,b",
                               "[" + ",".join(["1"] * ((key.max_items or 16) + 1)) + "]", "[true]"])
        elif key.choices and kind < 0.5:
            text = rng.choice(["", "LSTM ", "x" * 300, "none", "\x1b", "auto2"]) + rng.choice(["", "_"])
        elif key.type is str and not key.choices and kind < 0.7:
            text = rng.choice(["x" * 10_001, "\x00", "d" * 300, "/" + "a/" * 3000, "a\x1bb"])
        else:
            text = junk(rng)
        if not _parses_in_range(key, text):
            out.append(text)
    return out


def _parses_in_range(key, text: str) -> bool:
    try:
        value = key.parse(text)
        key.validate(value)
        return True
    except Exception:  # noqa: BLE001
        return False


def config_inputs(rng: random.Random, per_key: int) -> list[tuple[str, list[str]]]:
    cases = []
    for key in KEYS.values():
        for value in bad_values(key, rng, per_key):
            cases.append(("--set key", [*SMOKE, "--set", f"{key.name}={value}"]))
        for value in bad_values(key, rng, max(1, per_key // 2)):
            cases.append(("flag", [*SMOKE, f"{key.flag}={value}"]))
        value = bad_values(key, rng, 1)[0]
        ok = str(key.default if key.default not in (None, []) else "")
        cases.append(("flag vs --set", [*SMOKE, f"{key.flag}={value}", "--set", f"{key.name}={ok}"]))
    for a, b in (("hidden_size", "8"), ("lr", "0.5"), ("cell", "gru"), ("steps", "5")):
        other = {"hidden_size": "9", "lr": "0.25", "cell": "rnn", "steps": "6"}[a]
        cases.append(("flag vs --set", [*SMOKE, f"--{a.replace('_', '-')}={b}", "--set", f"{a}={other}"]))
    # combinations each key allows alone but the task or the model cannot take
    combos = [
        ["--set", "cell=lstm", "--set", "init=chrono", "--set", "bias=false"],
        ["--set", "cell=rnn", "--set", "init=chrono"],  # chrono is for gated cells (the GRUs since 0c13fd4)
        ["--set", "cell=rnn", "--set", "proj_size=4"],
        ["--set", "cell=lstm", "--set", "proj_size=16", "--set", "hidden_size=16"],
        ["--set", "cell=mlstm", "--set", "backend=builtin"],
        ["--set", "dropout=0.5"],
        ["--set", "seq_len=5", "--set", "seq_len_min=9"],
        ["--set", "cell=lstm", "--set", "init=chrono", "--set", "forget_bias=1"],
        ["--set", "task=digits", "--set", "dataset=digits-8x8", "--set", "val_fraction=0.9999999"],
        ["--set", "task=digits", "--set", "eval_lengths=[16]"],
        ["--set", "task=adding", "--set", "loss=ce"],
        ["--set", "hidden_size=8192", "--set", "num_layers=16", "--set", "cell=mlstm"],
        ["--set", "batch_size=65536", "--set", "seq_len=100000"],
        ["--set", "eval_size=1000000", "--set", "eval_lengths=[100000]"],
        ["--set", "task=copy", "--set", "n_symbols=1000", "--set", "seq_len=100000", "--set", "batch_size=65536"],
        ["--set", "device=cuda:0"], ["--set", "device=cuda:99999999999999999999"],
        ["--set", "seed=4294967295", "--set", "trials=3"],
    ]
    for data_dir in ("/etc/hostname", "/proc/self/status", "/proc/nonexistent/x", "d" * 300, "/dev/null",
                     "~nosuchuser/mnist", "/root/\x1b[2J", "/" + "a/" * 3000):
        combos.append(["--set", "task=digits", "--set", "dataset=mnist", "--set", "eval_lengths=[]",
                       "--set", f"data_dir={data_dir}"])
    cases += [("combination", [*SMOKE, *c]) for c in combos]
    return cases


def grid_inputs(rng: random.Random) -> list[tuple[str, list[str]]]:
    bad = ["[gru", "gru]", "[[[gru]]]", "[]", "", "gru,,lstm", ",", "[gru,[lstm]]", "[" * 5000, "gru" + ",gru" * 200,
           "[elman]", "[1,2]", "[\x1b]"]
    cases = [("grid", [*SMOKE, "--set", f"grid.cell={v}"]) for v in bad]
    cases += [("grid", [*SMOKE, "--set", f"grid.hidden_size={v}"]) for v in ("[0,4]", "[a]", "[4.5]", "[9999999]")]
    cases += [("grid", [*SMOKE, "--set", "grid.nosuchkey=[1,2]"])]
    cases += [("trials", [*SMOKE, "--set", f"trials={v}"]) for v in
              ("0", "101", "-1", "1.5", "x", "9" * 5000, "", "[2]", "2e0")]
    return cases


def preset_inputs(rng: random.Random, folder: Path) -> list[tuple[str, list[str]]]:
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "not-toml": "task = \n", "nested": "a = " + "[" * 1000 + "]" * 1000, "deep-table": "a = " + "{b=" * 900 +
        "1" + "}" * 900, "bad-value": "hidden_size = -4\n", "bad-type": 'hidden_size = "x"\n',
        "unknown": "hiden_size = 3\n", "grid-str": '[grid]\ncell = "gru"\n', "grid-empty": "[grid]\ncell = []\n",
        "grid-bad": '[grid]\ncell = ["elman"]\n', "trials": "trials = 0\n", "trials-big": "trials = " + "9" * 30,
        "desc": "description = 5\n", "binary": "\x00\x01\x02", "latin1": "é".encode("latin-1").decode("latin-1"),
        "huge-int": "seed = " + "9" * 5000, "huge-list": "eval_lengths = [" + "1," * 20000 + "1]",
        "control": 'cell = "\x1b[31m"\n', "grid-table": "grid = 5\n", "float-int": "hidden_size = 4.5\n",
        "nan": "lr = nan\n", "inf": "clip = inf\n", "bool-int": "bidirectional = 1\n",
    }
    cases = []
    for name, text in texts.items():
        path = folder / f"{name}.toml"
        path.write_bytes(text.encode("utf-8", "surrogateescape") if name != "binary" else b"\xff\xfe\x00bad")
        cases.append(("preset file", ["--preset", str(path)]))
    big = folder / "big.toml"
    big.write_bytes(b"# " + b"x" * (2 << 20) + b"\n")
    fifo = folder / "fifo.toml"
    if not fifo.exists():
        os.mkfifo(fifo)
    (folder / "dir.toml").mkdir(exist_ok=True)
    for path in (big, fifo, folder / "dir.toml", "/dev/null", "/dev/zero", "/proc/self/status", folder,
                 "~nosuchuser/x.toml", "a" * 300, "/" + "a/" * 3000 + "x.toml", "", " ", "no-such-preset",
                 "x\x1b[2J.toml", str(folder / "missing.toml")):
        cases.append(("preset path", ["--preset", str(path)]))
    return cases


def out_inputs(rng: random.Random, folder: Path) -> list[tuple[str, list[str]]]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a-file").write_text("x")
    mine = folder / "user-dir"
    mine.mkdir(exist_ok=True)
    (mine / "config.toml").write_text("my = 1\n")
    paths = [folder / "a-file", folder / "a-file" / "run", mine, "", " ", "x" * 300, "/" + "a/" * 3000,
             "/proc/self/run", "/dev/null", "\x1b[2J", "/root/\x00"]
    return [("--out", [*SMOKE, "--out", str(p)]) for p in paths] + \
        [("--out", [*SMOKE, "--set", "trials=2", "--out", str(p)]) for p in paths[:4]]


def checkpoint_inputs(rng: random.Random, folder: Path) -> list[tuple[str, list[str]]]:
    from rnntui.config import build_config
    from rnntui.engine.checkpoint import FIELDS, load_checkpoint, save_checkpoint
    from rnntui.engine.trainer import Trainer

    folder.mkdir(parents=True, exist_ok=True)
    good = folder / "good.pt"
    from rnntui.config.presets import load_preset

    cfg = build_config(load_preset("smoke").values, {"steps": 4, "eval_every": 2, "eval_size": 16})
    Trainer(cfg, checkpoint_path=good).run()
    payload = {k: v for k, v in load_checkpoint(good).items() if k not in ("format", "version")}
    cases = []
    values = [-5, 10**18, float("inf"), float("nan"), "abc", [1, 2], [3, 4], {"x": 1}, None, torch.zeros(3),
              [{"step": "x"}], [{"step": 1, "epoch": 0}], True, 2**70, "", [[]]]
    valid = {  # what each free-form field may legitimately hold (not fuzzed as bad)
        "run_id": lambda v: isinstance(v, str) and 0 < len(v) <= 200 and v.isprintable(),
        "config": lambda v: isinstance(v, dict), "task_state": lambda v: isinstance(v, dict),
    }
    for field in FIELDS:
        for value in rng.sample(values, 6):
            if field in valid and valid[field](value):
                continue
            bad = dict(payload)
            bad[field] = value
            path = folder / f"{field}-{len(cases)}.pt"
            try:
                save_checkpoint(path, bad)
            except Exception:  # noqa: BLE001 - not storable at all: skip
                continue
            cases.append(("checkpoint field", [*SMOKE, "--set", "steps=8", "--resume", str(path)]))
    raw = good.read_bytes()
    for i in range(40):
        damaged = bytearray(raw)
        damaged[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        path = folder / f"flip-{i}.pt"
        path.write_bytes(bytes(damaged))
        cases.append(("checkpoint flipped byte", [*SMOKE, "--set", "steps=8", "--resume", str(path)]))
    for i, cut in enumerate((0, 10, len(raw) // 2, len(raw) - 1)):
        path = folder / f"cut-{i}.pt"
        path.write_bytes(raw[:cut])
        cases.append(("checkpoint truncated", [*SMOKE, "--set", "steps=8", "--resume", str(path)]))
    torch.save({"weights": torch.ones(2)}, folder / "foreign.pt")
    torch.save({"format": "rnntui-checkpoint", "version": 2, "x": Evil()}, folder / "evil.pt")
    for name in ("foreign.pt", "evil.pt"):
        cases.append(("checkpoint foreign", [*SMOKE, "--resume", str(folder / name)]))
    for argv in (["--set", "hidden_size=32"], ["--set", "cell=lstm"], ["--set", "task=adding"]):
        cases.append(("checkpoint mismatch", [*SMOKE, *argv, "--resume", str(good)]))
    cases.append(("checkpoint path", [*SMOKE, "--resume", str(folder)]))
    cases.append(("checkpoint path", [*SMOKE, "--resume", "/dev/null"]))
    cases.append(("checkpoint path", [*SMOKE, "--set", "trials=2", "--resume", str(good)]))
    return cases


class Evil:
    def __reduce__(self):
        return (os.system, ("true",))


def inspect_inputs(rng: random.Random) -> list[tuple[str, list[str]]]:
    values = ["99999999999999999999", "4294967296", "0", "-1", "x", "1.5", "", "9" * 5000, "1e3", "\x1b"]
    cases = [("inspect", ["inspect", "--batch", v]) for v in values]
    cases += [("inspect", ["inspect", "--input-size", v]) for v in values]
    cases += [("inspect", ["inspect", "--input-size", "1000000", "--batch", "65536"])]
    for key in rng.sample(list(KEYS.values()), 12):
        cases.append(("inspect", ["inspect", f"{key.flag}={bad_values(key, rng, 1)[0]}"]))
    return cases


# ------------------------------------------------------------------ running
def classify(code: int | None, err: str, escaped: BaseException | None) -> str:
    if escaped is not None and not isinstance(escaped, WouldTrain):
        return "traceback"
    if "Traceback" in err:
        return "traceback"
    if isinstance(escaped, WouldTrain) or code == 0:
        return "accepted"
    lines = err.strip().splitlines()
    if code == 2:
        ok = len(lines) == 1 and lines[0].startswith("rnntui") and "error:" in lines[0] and lines[0].isprintable()
        return "clean" if ok else "unclean"
    return "traceback"


def patch_training() -> None:
    import rnntui.engine.experiment.runner as runner
    import rnntui.engine.trainer as trainer

    def would_train(*a, **k):
        raise WouldTrain()

    trainer.Trainer.run = would_train  # after every check, the checkpoint and the claim of --out
    runner.ExperimentRunner.run = would_train  # after the grid, every point's task and --out are checked


def run_in_process(argv: list[str], cwd: Path) -> tuple[str, str]:
    full = argv if argv and argv[0] in ("inspect", "plot") else ["--headless", *argv]
    out, err = io.StringIO(), io.StringIO()
    escaped = None
    code = None
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = cli.main(full)
    except BaseException as exc:  # noqa: BLE001 - what the fuzz is looking for
        escaped = exc
    finally:
        os.chdir(old)
    kind = classify(code, err.getvalue(), escaped)
    detail = err.getvalue().strip()[-300:] if escaped is None else f"{type(escaped).__name__}: {escaped}"[:300]
    return kind, detail


def run_subprocess(argv: list[str], cwd: Path) -> tuple[str, str]:
    full = argv if argv and argv[0] == "inspect" else ["--headless", *argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RNNTUI_OFFLINE": "1"}
    try:
        proc = subprocess.run([sys.executable, "-m", "rnntui", *full], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=120, errors="replace")
    except subprocess.TimeoutExpired:
        return "traceback", "timed out"
    return classify(proc.returncode, proc.stderr, None), proc.stderr.strip()[-300:]


def rundir_inputs(rng: random.Random, folder: Path) -> list[tuple[str, str]]:
    """(summary.json text, metrics.jsonl text) pairs, each bad."""
    summaries = ["[]", "[" * 5000 + "]" * 5000, '{"config": "x"}', '{"final": {"acc": "high"}}', '"x"', "1",
                 '{"steps": -1}', '{"params": 1.5}', '{"status": 5}', '{"config": {"a": [[1]]}}', "", "{",
                 '{"baseline": []}', '{"wall_time_s": "fast"}', "\x00\x01", '{"run_id": 7}',
                 '{"steps": ' + "9" * rng.randint(20, 5000) + "}", '{"steps": 1e400}', '{"params": 9007199254740993}',
                 '{"final": {"acc": 1' + "0" * rng.randint(400, 2000) + "}}", '{"final": {"": 1}}',
                 json.dumps({"final": {f"m{i}": 0 for i in range(rng.randint(257, 5000))}}),
                 json.dumps({"run_id": "x" * rng.randint(10_001, 50_000)}),
                 '{"config": {"a": ' + "[" * 5000 + "]" * 5000 + "}}", "\ufeff{}"]
    rows = ["[1, 2]\n", '{"event": "eval", "step": 1}\n', '{"event": "step", "step": "x", "loss": 1}\n',
            "{not json\n", '{"event": 5}\n', '"row"\n', '{"event": "step", "step": -1, "loss": 0}\n',
            "[" * 3000 + "]" * 3000 + "\n", '{"event": "eval", "step": 1, "metrics": {"a": "b"}}\n',
            '{"event": "step", "step": ' + "9" * rng.randint(20, 5000) + ', "loss": 1}\n',
            '{"event": "step", "step": 1, "loss": 1' + "0" * rng.randint(400, 2000) + '}\n',
            json.dumps({"event": "eval", "step": 1, "metrics": {f"m{i}": 0 for i in range(rng.randint(257, 5000))}})
            + "\n", '{"event": "step", "step": 1, "loss": 1, "x": "' + "y" * (1 << 20) + '"}\n',
            '{"event": "step", "step": 1, "loss": 1}\n\xff\n']
    cases = [(s, "") for s in summaries] + [("{}", r) for r in rows]
    cases += [(rng.choice(summaries), rng.choice(rows)) for _ in range(20)]
    return cases


def run_rundir(summary: str, rows: str, folder: Path) -> tuple[str, str]:
    """One bad run directory through every reader: Compare's load (``load_runs``),
    the run browser's listing (``list_saved``: never raises, lists it as damaged)
    and ``rnntui plot`` (exit 2, one line)."""
    from rnntui.engine.rundir import RunDirError
    from rnntui.engine.saved_runs import list_saved, load_runs

    run = folder / "run"
    run.mkdir(parents=True, exist_ok=True)
    (run / "summary.json").write_text(summary, errors="surrogateescape")
    (run / "metrics.jsonl").write_bytes(rows.encode("utf-8", "surrogateescape") if "\xff" not in rows
                                        else rows.encode("latin-1", "replace"))
    try:
        load_runs(run)
    except RunDirError as exc:
        if "\n" in str(exc):
            return "unclean", str(exc)[:200]
    except BaseException as exc:  # noqa: BLE001
        return "traceback", f"load_runs: {type(exc).__name__}: {exc}"[:200]
    else:
        return "accepted", summary[:60] + " | " + rows[:60]
    try:
        (entry,) = list_saved(folder)
    except BaseException as exc:  # noqa: BLE001
        return "traceback", f"list_saved: {type(exc).__name__}: {exc}"[:200]
    if not (entry.title.startswith("damaged: ") or rows) or not entry.title.isprintable():
        return "unclean", f"list_saved title {entry.title[:100]!r}"
    kind, detail = run_in_process(["plot", str(run), "-o", str(folder / "f.svg")], folder)
    return kind, (detail if kind != "clean" else "")


def path_inputs(rng: random.Random) -> list[str]:
    """Directories typed into Compare's path box (or given to ``rnntui plot``) that are no run directory."""
    return ["~nosuchuser_rnntui/x", "a" * rng.randint(256, 8000), "bad\x00name", "/proc/self/status", "/dev/null",
            "/nonexistent/run", "/", "\x1b[2J", "[/]", "~" + "x" * 300]


def run_path(text: str) -> tuple[str, str]:
    from rnntui.engine.rundir import RunDirError
    from rnntui.engine.saved_runs import list_saved, load_runs

    try:
        list_saved(text)
        load_runs(text)
    except RunDirError as exc:
        return ("clean" if str(exc).isprintable() else "unclean"), str(exc)[:200]
    except BaseException as exc:  # noqa: BLE001
        return "traceback", f"{type(exc).__name__}: {exc}"[:200]
    return "accepted", text[:60]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-key", type=int, default=8, help="bad --set values per config key")
    parser.add_argument("--subprocess", type=int, default=60, help="inputs also run in a real subprocess")
    parser.add_argument("--show", type=int, default=5, help="examples printed per non-clean category")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.environ["RNNTUI_OFFLINE"] = "1"  # no downloads: an MNIST folder that is bad stays bad
    work = Path(tempfile.mkdtemp(prefix="rnntui-fuzz-"))
    try:
        cases = (config_inputs(rng, args.per_key) + grid_inputs(rng) + preset_inputs(rng, work / "presets")
                 + out_inputs(rng, work / "out") + checkpoint_inputs(rng, work / "ckpt") + inspect_inputs(rng))
        patch_training()
        t0 = time.monotonic()
        totals: Counter[str] = Counter()
        by_group: dict[str, Counter[str]] = {}
        examples: dict[str, list[str]] = {}
        cwd = work / "cwd"
        cwd.mkdir()
        for group, argv in cases:
            kind, detail = run_in_process(argv, cwd)
            totals[kind] += 1
            by_group.setdefault(group, Counter())[kind] += 1
            if kind != "clean":
                examples.setdefault(kind, []).append(f"{group}: {json.dumps(argv)[:160]} -> {detail[:200]}")
        for i, (summary, rows) in enumerate(rundir_inputs(rng, work / "rundir")):
            kind, detail = run_rundir(summary, rows, work / "rundir" / str(i))
            totals[kind] += 1
            by_group.setdefault("run directory", Counter())[kind] += 1
            if kind != "clean":
                examples.setdefault(kind, []).append(f"run directory: {detail}")
        for text in path_inputs(rng):
            kind, detail = run_path(text)
            totals[kind] += 1
            by_group.setdefault("run directory path", Counter())[kind] += 1
            if kind != "clean":
                examples.setdefault(kind, []).append(f"run directory path: {text[:60]!r} -> {detail}")
        leftovers = sorted(os.listdir(cwd))
        in_process_s = time.monotonic() - t0
        typable = [c for c in cases if not any("\x00" in a for a in c[1])]  # argv cannot carry a NUL
        sample = rng.sample(typable, min(args.subprocess, len(typable)))
        sub: Counter[str] = Counter()
        for group, argv in sample:
            kind, detail = run_subprocess(argv, cwd)
            sub[kind] += 1
            if kind != "clean":
                examples.setdefault(f"subprocess {kind}", []).append(f"{group}: {json.dumps(argv)[:160]} -> {detail}")
        n = sum(totals.values())
        print(f"in-process: {n} inputs in {in_process_s:.0f} s: {totals['clean']} clean (exit 2, one line), "
              f"{totals['traceback']} tracebacks, {totals['accepted']} accepted, {totals['unclean']} unclean")
        for group, counts in by_group.items():
            print(f"  {group:<24} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        print(f"subprocess sample: {sum(sub.values())} inputs: {sub['clean']} clean, {sub['traceback']} tracebacks, "
              f"{sub['accepted']} accepted, {sub['unclean']} unclean")
        print(f"files left in the working directory: {leftovers or 'none'}")
        for kind, lines in examples.items():
            print(f"-- {kind} ({len(lines)}):")
            for line in lines[:args.show]:
                print("   ", line)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
