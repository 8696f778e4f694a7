"""Experiments: grid expansion, aggregation, the process-pool runner, headless output."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest

from rnntui.cli.main import main as cli_main
from rnntui.config import ConfigError, build_config
from rnntui.engine.experiment.results import GridPoint, RunOutcome, aggregate, format_table, mean_stderr, rows_to_csv
from rnntui.engine.experiment.runner import ExperimentRunner, available_cores
from rnntui.engine.experiment.grid import Experiment, expand_grid
from rnntui.cli.experiment import run_experiment_headless
from rnntui.config.presets import list_presets, load_preset

TINY = dict(task="binary-addition", cell="gru", hidden_size=4, batch_size=8, seq_len=4, steps=6,
            eval_every=3, eval_size=32, n_samples=0, lr=0.01, seed=10)


# ------------------------------------------------------------------ grid
def test_grid_is_the_cartesian_product_first_key_slowest() -> None:
    base = build_config(TINY)
    pairs = expand_grid(base, {"cell": ["rnn", "lstm"], "hidden_size": [2, 5, 10]})
    assert [p.values for p, _ in pairs] == [
        {"cell": c, "hidden_size": h} for c in ("rnn", "lstm") for h in (2, 5, 10)
    ]
    assert [(c.cell, c.hidden_size) for _, c in pairs] == [(p.values["cell"], p.values["hidden_size"]) for p, _ in pairs]
    assert all(c.batch_size == 8 for _, c in pairs)  # the rest comes from the base config
    assert pairs[4][0].label == "cell=lstm hidden_size=5"


def test_bidirectional_variants_come_from_cell_times_bidirectional() -> None:
    pairs = expand_grid(build_config(TINY), {"cell": ["rnn", "lstm", "gru"], "bidirectional": [False, True]})
    names = [("bi-" if c.bidirectional else "") + c.cell for _, c in pairs]
    assert names == ["rnn", "bi-rnn", "lstm", "bi-lstm", "gru", "bi-gru"]


def test_trials_use_consecutive_seeds_and_own_directories(tmp_path: Path) -> None:
    exp = Experiment.create(build_config(TINY), {"hidden_size": [3, 6]}, trials=3, out_dir=tmp_path)
    assert exp.total == 6
    assert [(s.point, s.trial, s.seed) for s in exp.specs] == [
        (0, 0, 10), (0, 1, 11), (0, 2, 12), (1, 0, 10), (1, 1, 11), (1, 2, 12)
    ]
    assert len({s.run_id for s in exp.specs}) == 6
    assert len({s.out_dir for s in exp.specs}) == 6
    assert all(Path(s.out_dir).parent == tmp_path for s in exp.specs)
    assert Path(exp.specs[4].out_dir).name == "p01-6-t1"


def test_a_bad_combination_is_rejected_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="proj_size"):
        Experiment.create(build_config(TINY, {"proj_size": 2}), {"cell": ["lstm", "gru"]}, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="loss"):  # only the task can judge this one
        Experiment.create(build_config(TINY, {"task": "adding"}), {"loss": ["mse", "ce"]}, out_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_trial_seeds_past_the_largest_seed_are_rejected_up_front(tmp_path: Path) -> None:
    top = 2**32 - 1
    exp = Experiment.create(build_config(TINY, {"seed": top - 2}), {}, trials=3, out_dir=tmp_path, check=False)
    assert [s.seed for s in exp.specs] == [top - 2, top - 1, top]  # the last seed allowed is fine
    with pytest.raises(ConfigError, match=r"trials: seed 4294967293 with 4 trials .* 4294967296") as info:
        Experiment.create(build_config(TINY, {"seed": top - 2}), {}, trials=4, out_dir=tmp_path)
    assert info.value.key == "trials"
    with pytest.raises(ConfigError, match="seed 4294967295 with 2 trials"):  # a grid over seed: its largest
        Experiment.create(build_config(TINY), {"seed": [1, top]}, trials=2, out_dir=tmp_path)
    assert not any(tmp_path.iterdir())


# ----------------------------------------------------------- aggregation
def outcome(point: int, trial: int, status: str = "finished", **final: float) -> RunOutcome:
    return RunOutcome(f"p{point}t{trial}", point, trial, trial, status, final=final,
                      wall_time_s=1.0 + trial, params=100)


def test_mean_and_standard_error_by_hand() -> None:
    stat = mean_stderr([0.5, 0.7, 0.9])
    # mean 0.7; sample std sqrt((0.04 + 0 + 0.04) / 2) = 0.2; stderr 0.2 / sqrt(3)
    assert stat.n == 3
    assert stat.mean == pytest.approx(0.7)
    assert stat.stderr == pytest.approx(0.2 / math.sqrt(3))
    assert mean_stderr([2.0, 4.0]).stderr == pytest.approx(1.0)  # std sqrt(2), / sqrt(2)
    assert mean_stderr([0.3]).stderr is None and mean_stderr([0.3]).mean == pytest.approx(0.3)
    assert mean_stderr([]).mean is None and mean_stderr([]).n == 0
    assert mean_stderr([1.0, float("nan"), 3.0]).n == 2


def test_aggregate_skips_failed_runs_and_counts_them() -> None:
    points = [GridPoint(0, {"cell": "rnn"}), GridPoint(1, {"cell": "lstm"})]
    outcomes = [
        outcome(0, 0, acc=0.5, val_loss=1.0), outcome(0, 1, acc=0.7, val_loss=0.8), outcome(0, 2, acc=0.9, val_loss=0.6),
        outcome(1, 0, acc=0.2), outcome(1, 1, "failed"), outcome(1, 2, acc=0.6),
    ]
    outcomes[4].reason = "loss became nan at step 3"
    rows = aggregate(points, 3, outcomes)
    a, b = rows
    assert (a.finished, a.failed, a.status) == (3, 0, "done")
    assert a.metrics["acc"].mean == pytest.approx(0.7)
    assert a.metrics["acc"].stderr == pytest.approx(0.2 / math.sqrt(3))
    assert a.metrics["val_loss"].mean == pytest.approx(0.8)
    assert a.wall_time.mean == pytest.approx(2.0)  # 1, 2, 3 s
    assert (b.finished, b.failed, b.status) == (2, 1, "1 failed")
    assert b.metrics["acc"].n == 2 and b.metrics["acc"].mean == pytest.approx(0.4)
    assert b.metrics["acc"].stderr == pytest.approx(math.sqrt(0.08) / math.sqrt(2))
    assert b.reasons == ["trial 1: loss became nan at step 3"]

    table = list(csv.DictReader(io.StringIO(rows_to_csv(rows, ["acc", "val_loss"]))))
    assert table[0]["cell"] == "rnn" and float(table[0]["acc_mean"]) == pytest.approx(0.7)
    assert float(table[0]["acc_stderr"]) == pytest.approx(0.11547, abs=1e-5)
    assert table[0]["acc_n"] == "3" and table[1]["failed"] == "1"
    assert table[1]["val_loss_mean"] == "" and table[1]["val_loss_n"] == "0"
    text = format_table(rows, ["acc"])
    assert "0.7 ± 0.12" in text and "1 failed" in text


def test_a_partial_table_shows_progress() -> None:
    rows = aggregate([GridPoint(0, {"lr": 0.1}), GridPoint(1, {"lr": 0.2})], 3, [outcome(0, 0, acc=1.0)])
    assert [r.status for r in rows] == ["1/3", "pending"]
    assert rows[0].metrics["acc"].stderr is None


# ------------------------------------------------------------ end to end
@pytest.mark.slow
def test_tiny_2x2_experiment_headless_in_worker_processes(tmp_path: Path, capsys) -> None:
    """cell × hidden_size = 2 × 2 grid, 2 trials, through the CLI, in spawned workers."""
    out = tmp_path / "exp"
    args = ["--headless", "--preset", "smoke", "--json", "--out", str(out),
            "--set", "steps=6", "--set", "eval_every=3", "--set", "eval_size=32", "--set", "eval_lengths=[]",
            "--set", "grid.cell=[gru,lstm]", "--set", "grid.hidden_size=[4,8]", "--set", "trials=2"]
    assert cli_main(args) == 0
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "experiment_started" and kinds[-1] == "experiment_finished"
    assert kinds.count("run_done") == 8 and kinds.count("row") == 4
    assert events[0]["workers"] == min(available_cores(), 8)  # every core, at most one per run
    assert "step" not in kinds  # per-step events stay out of the JSON stream
    assert "cell  hidden_size" in captured.err  # the table, on stderr

    data = json.loads((out / "results.json").read_text())
    assert data["runs_done"] == 8 and data["grid"] == {"cell": ["gru", "lstm"], "hidden_size": [4, 8]}
    with open(out / "results.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [(r["cell"], r["hidden_size"]) for r in table] == [("gru", "4"), ("gru", "8"), ("lstm", "4"), ("lstm", "8")]
    for row, jrow in zip(table, data["rows"]):
        run_dirs = sorted(out.glob(f"p{int(row['point']):02d}-*"))
        assert len(run_dirs) == 2
        summaries = [json.loads((d / "summary.json").read_text()) for d in run_dirs]
        assert [s["config"]["seed"] for s in summaries] == [0, 1]
        assert all(s["config"]["cell"] == row["cell"] and s["status"] == "finished" for s in summaries)
        bits = [s["final"]["bit_acc"] for s in summaries]
        assert float(row["bit_acc_mean"]) == pytest.approx(sum(bits) / 2)
        assert float(row["bit_acc_stderr"]) == pytest.approx(abs(bits[0] - bits[1]) / 2)  # s/sqrt(2) for n = 2
        assert row["bit_acc_n"] == "2" and row["finished"] == "2"
        assert int(row["params"]) == summaries[0]["params"] > 0
        assert jrow["metrics"]["bit_acc"]["n"] == 2
        assert (run_dirs[0] / "checkpoint.pt").is_file()


def test_a_failed_run_is_marked_and_the_others_carry_on(tmp_path: Path, capsys) -> None:
    """A run whose loss overflows fails; the other grid point finishes; exit code 1."""
    from types import SimpleNamespace

    base = build_config(dict(task="adding", cell="rnn", nonlinearity="relu", init="normal", hidden_size=8,
                             batch_size=8, seq_len=40, steps=4, eval_every=2, eval_size=16, n_samples=0,
                             optimizer="sgd", lr=0.01))
    request = SimpleNamespace(config=base, preset=None, grid={"init_std": [0.1, 5.0]}, trials=2)
    code = run_experiment_headless(request, out_dir=tmp_path, workers=0)
    err = capsys.readouterr().err
    assert code == 1
    data = json.loads((tmp_path / "results.json").read_text())
    good, bad = data["rows"]
    assert (good["finished"], good["failed"]) == (2, 0)
    assert good["metrics"]["mse"]["n"] == 2
    assert (bad["finished"], bad["failed"]) == (0, 2) and bad["metrics"] == {}
    assert "loss became" in bad["reasons"][0]
    assert [r["status"] for r in data["runs"]] == ["finished", "finished", "failed", "failed"]
    assert "2 runs failed" in err and "failed" in err.splitlines()[-4]


def test_runner_yields_outcomes_and_forwards_events_in_process(tmp_path: Path) -> None:
    exp = Experiment.create(build_config(TINY), {"hidden_size": [3, 5]}, trials=1, out_dir=tmp_path)
    seen: list[tuple[str, str]] = []
    runner = ExperimentRunner(exp, on_event=lambda e: seen.append((e.run_id, e.kind)), workers=0)
    outcomes = list(runner.run())
    assert sorted(o.run_id for o in outcomes) == sorted(s.run_id for s in exp.specs)
    assert all(o.status == "finished" and o.evals and o.steps for o in outcomes)
    for spec in exp.specs:
        kinds = [k for rid, k in seen if rid == spec.run_id]
        assert kinds[0] == "started" and kinds[-1] == "finished" and "eval" in kinds
    assert exp.rows()[1].params > exp.rows()[0].params


def test_cancel_stops_queued_runs(tmp_path: Path) -> None:
    exp = Experiment.create(build_config(TINY), {"hidden_size": [3, 5, 7]}, trials=1, out_dir=tmp_path)
    runner = ExperimentRunner(exp, workers=0)
    first = next(iter_run := runner.run())
    runner.cancel()
    rest = list(iter_run)
    assert first.status == "finished"
    assert [o.status for o in rest] == ["cancelled", "cancelled"]
    assert json.loads((tmp_path / "results.json").read_text())["runs_done"] == 3


def test_abort_ends_running_runs_without_the_closing_eval_and_checkpoint(tmp_path: Path) -> None:
    """cancel (first Ctrl-C) still evaluates and checkpoints the running run; abort
    (the second) skips both, and queued runs never start either way."""
    base = build_config(TINY, {"log_every": 1, "steps": 6, "eval_every": 3})
    results = {}
    for how in ("cancel", "abort"):
        exp = Experiment.create(base, {"hidden_size": [3, 5]}, trials=1, out_dir=tmp_path / how)
        runner = ExperimentRunner(exp, workers=0)
        runner.on_event = lambda e, stop=getattr(runner, how): stop() if e.kind == "step" else None
        outcomes = list(runner.run())
        results[how] = outcomes
        assert runner.cancelled and runner.aborted == (how == "abort")
        assert [o.status for o in outcomes] == ["stopped", "cancelled"]
        assert outcomes[0].step == 1  # stopped at the first step after the request
    cancelled, aborted = results["cancel"][0], results["abort"][0]
    assert cancelled.evals and cancelled.final and (Path(cancelled.path) / "checkpoint.pt").is_file()
    assert not aborted.evals and not aborted.final and not (Path(aborted.path) / "checkpoint.pt").exists()


def test_the_shared_flags_make_a_worker_control_cancelled_or_aborted() -> None:
    import threading

    from rnntui.engine.experiment.one_run import make_control

    cancel, abort = threading.Event(), threading.Event()
    control = make_control(cancel, abort)
    assert not control.cancelled and not control.aborted
    cancel.set()
    assert control.cancelled and not control.aborted
    cancel.clear()
    abort.set()
    assert control.cancelled and control.aborted
    assert make_control(None).cancelled is False


def test_a_second_ctrl_c_aborts_the_headless_experiment_runner(tmp_path: Path) -> None:
    from rnntui.cli.run import cancel_on_sigint
    from rnntui.cli.experiment import _SigintTarget
    import signal

    exp = Experiment.create(build_config(TINY), {}, out_dir=tmp_path, check=False)
    runner = ExperimentRunner(exp, workers=0)
    restore = cancel_on_sigint(_SigintTarget(runner))
    try:
        handler = signal.getsignal(signal.SIGINT)
        handler(signal.SIGINT, None)  # first: stop cleanly
        assert runner.cancelled and not runner.aborted
        with pytest.raises(KeyboardInterrupt):
            handler(signal.SIGINT, None)  # second: abort
        assert runner.aborted
    finally:
        restore()


# --------------------------------------------------------------- presets
SEED_PRESETS = {
    "seed000-copy-gating": ({"cell": ["lstm", "mlstm", "gru", "mgru"], "seq_len": [100, 200, 500, 1000]}, 3),
    "seed001-timing": ({"cell": ["lstm", "mlstm", "gru", "mgru"]}, 3),
    "seed002-copy-memory": ({"cell": ["rnn", "gru", "lstm"]}, 3),
    "seed002-xor": ({"cell": ["rnn", "gru", "lstm"]}, 3),
    "seed002-adding": ({"cell": ["rnn", "gru", "lstm"], "seq_len": [50, 100, 200]}, 3),
    "seed003-recall": ({"cell": ["rnn", "lstm", "gru"], "hidden_size": [2, 5, 10]}, 3),
    "seed003-binary-addition": ({"hidden_size": [2, 5, 10], "loss": ["mse", "ce"]}, 3),
    "seed003-digits": ({"cell": ["rnn", "lstm", "gru"], "bidirectional": [False, True]}, 3),
    "seed004-adding": ({"cell": ["rnn", "lstm", "gru"]}, 3),
}


@pytest.mark.parametrize("name", sorted(SEED_PRESETS))
def test_seed_presets_expand_to_the_seed_grids(name: str, tmp_path: Path) -> None:
    preset = load_preset(name)
    grid, trials = SEED_PRESETS[name]
    assert preset.is_experiment and preset.grid == grid and preset.trials == trials
    assert preset.description.splitlines()[0].startswith("Seed 00")
    exp = Experiment.create(build_config(preset.values), preset.grid, preset.trials, out_dir=tmp_path, name=name)
    assert exp.total == math.prod(len(v) for v in grid.values()) * trials


def test_every_seed_preset_is_listed() -> None:
    names = {p.name for p in list_presets() if p.is_experiment}
    assert set(SEED_PRESETS) <= names


def test_the_experiment_engine_imports_neither_textual_nor_torch() -> None:
    """The runner module is light: torch loads in the workers (and for checks)."""
    import subprocess
    import sys

    code = ("import sys, rnntui.engine.experiment.runner, rnntui.engine.experiment.results; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'torch')); "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------ per-point overrides
OVERRIDE_PRESET = """
task = "binary-addition"
cell = "gru"
hidden_size = 4
batch_size = 8
seq_len = 4
steps = 6
eval_every = 3
eval_size = 32
n_samples = 0
trials = 2

[grid]
cell = ["rnn", "gru"]
seq_len = [4, 6]

[[override]]
when = { seq_len = 6 }
steps = 2
batch_size = 4

[[override]]
when = { seq_len = 6, cell = "gru" }
steps = 3
"""


def test_overrides_set_keys_at_the_matching_grid_points_later_ones_winning(tmp_path: Path) -> None:
    from rnntui.config.request import make_request

    path = tmp_path / "ov.toml"
    path.write_text(OVERRIDE_PRESET)
    preset = load_preset(str(path))
    assert [(o.when, o.values) for o in preset.overrides] == [
        ({"seq_len": 6}, {"steps": 2, "batch_size": 4}), ({"seq_len": 6, "cell": "gru"}, {"steps": 3})]
    exp = Experiment.from_request(make_request(str(path)), tmp_path / "exp")
    got = [(c.cell, c.seq_len, c.steps, c.batch_size) for c in exp.configs]
    assert got == [("rnn", 4, 6, 8), ("rnn", 6, 2, 4), ("gru", 4, 6, 8), ("gru", 6, 3, 4)]
    assert [(s.config["steps"], s.seed) for s in exp.specs if s.point == 3] == [(3, 0), (3, 1)]
    assert exp.points[3].values == {"cell": "gru", "seq_len": 6}  # the grid point itself is unchanged
    assert exp.meta()["overrides"] == [{"when": {"seq_len": 6}, "set": {"steps": 2, "batch_size": 4}},
                                       {"when": {"seq_len": 6, "cell": "gru"}, "set": {"steps": 3}}]
    # an explicit --set pins a key: the overrides no longer set it
    pinned = Experiment.from_request(make_request(str(path), set_pairs=["steps=5"]), tmp_path / "exp2")
    assert [(c.steps, c.batch_size) for c in pinned.configs] == [(5, 8), (5, 4), (5, 8), (5, 4)]
    # a single run (grid and trials pinned away) is the one point: its overrides apply to it
    single = make_request(str(path), set_pairs=["seq_len=6", "cell=gru", "trials=1"])
    assert not single.is_experiment and (single.config.steps, single.config.batch_size) == (3, 4)


def test_overrides_run_headless_with_their_own_step_counts(tmp_path: Path, capsys) -> None:
    path = tmp_path / "ov.toml"
    path.write_text(OVERRIDE_PRESET)
    code = cli_main(["--headless", "--preset", str(path), "--set", "trials=1", "--out", str(tmp_path / "x")])
    assert code == 0
    steps = {}
    for summary in (tmp_path / "x").glob("*/summary.json"):
        data = json.loads(summary.read_text())
        cfg = json.loads((summary.parent / "config.json").read_text()) if (summary.parent / "config.json").exists() \
            else data["config"]
        steps[(cfg["cell"], cfg["seq_len"])] = data["steps"]
    assert steps == {("rnn", 4): 6, ("rnn", 6): 2, ("gru", 4): 6, ("gru", 6): 3}


@pytest.mark.parametrize("table, key, fragment", [
    ('[[override]]\nsteps = 2\n', "override.when", "a table of config key = value"),
    ('[[override]]\nwhen = { seq_len = 6 }\n', "override", "sets nothing"),
    ('[[override]]\nwhen = { seq_len = 6 }\ncell = "rnn"\n', "override.cell", "the grid varies 'cell'"),
    ('[[override]]\nwhen = { steps = 6 }\nsteps = 8\n', "override.steps", "both matched"),
    ('[[override]]\nwhen = { seq_len = 6 }\nstepz = 2\n', "stepz", "did you mean 'steps'"),
    ('[[override]]\nwhen = { seq_len = 6 }\nsteps = -1\n', "steps", "allowed"),
    ('override = 3\n', "override", "[[override]] tables"),
])
def test_bad_overrides_name_the_key_and_the_allowed_form(tmp_path: Path, table: str, key: str, fragment: str) -> None:
    """``table`` replaces the good preset's overrides (a non-table ``override`` goes before [grid])."""
    head, grid = OVERRIDE_PRESET.split("[[override]]", 1)[0].split("[grid]")
    path = tmp_path / "bad.toml"
    if table.startswith("override ="):
        path.write_text(head + table + "[grid]" + grid)
    else:
        path.write_text(head + "[grid]" + grid + table)
    with pytest.raises(ConfigError) as info:
        load_preset(str(path))
    assert info.value.key == key and fragment in str(info.value) and "bad.toml" in str(info.value)
