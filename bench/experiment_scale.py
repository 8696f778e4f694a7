"""What an experiment's driver costs as grids grow to 10⁴–10⁵ runs, by simulation.

No training: made-up outcomes and events of a realistic size go through the
driver's own code, and the script prints what that costs.  The figures in
docs/scaling.md come from here.

    driver   N outcomes through ExperimentRunner._record (results.csv/json
             rewritten) and the headless table's per-outcome work (rows(),
             columns()): time per outcome at checkpoints, total, the size of
             results.json, the driver's memory per outcome and per spec
    events   the cost of one event through the runner to the headless JSON printer
    ray      M no-op runs through the real RayExecutor on a local 2-CPU Ray: runs
             per second the driver and Ray sustain when training costs nothing

    .venv/bin/python bench/experiment_scale.py driver --runs 1000 2000 4000
    .venv/bin/python bench/experiment_scale.py events --events 200000
    .venv/bin/python bench/experiment_scale.py ray --runs 400

The driver is one Python thread and trains nothing (no torch); wall-clock seconds (``--clock cpu`` for process CPU time).  Numbers
depend on the machine and its load: the load average is printed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnntui.config import build_config  # noqa: E402
from rnntui.engine.experiment.grid import Experiment  # noqa: E402
from rnntui.engine.experiment.results import RunOutcome  # noqa: E402

METRICS = ("val_loss", "exact", "bit_acc", "val_loss@16", "exact@16", "bit_acc@16")
"""The smoke preset's final metrics: a typical count for a task with one extra evaluation length."""


def make_experiment(runs: int, out: Path, trials: int = 10) -> Experiment:
    base = build_config({"task": "binary-addition", "cell": "gru", "steps": 1000, "log_every": 10,
                         "eval_every": 100})
    points = max(1, runs // trials)
    return Experiment.create(base, {"seed": list(range(0, points * 1000, 1000))}, trials=trials, out_dir=out,
                             check=False)


def make_outcome(spec: Any, rng: random.Random, step_rows: int, eval_rows: int) -> RunOutcome:
    """A finished run the size a 1000-step run with log_every 10 and eval_every 100 reports."""
    steps = [{"step": 10 * (i + 1), "epoch": 0, "loss": rng.random(), "grad_norm": rng.random()}
             for i in range(step_rows)]
    evals = [{"step": 100 * (i + 1), "epoch": 0, "metrics": {m: rng.random() for m in METRICS}}
             for i in range(eval_rows)]
    return RunOutcome(spec.run_id, spec.point, spec.trial, spec.seed, "finished",
                      final=dict(evals[-1]["metrics"]) if evals else {}, wall_time_s=rng.uniform(5, 50),
                      params=3000, step=1000, path=spec.out_dir, steps=steps, evals=evals)


def clock_fn(name: str) -> Callable[[], float]:
    return time.process_time if name == "cpu" else time.perf_counter


def driver(args: argparse.Namespace) -> None:
    from rnntui.engine.experiment.runner import ExperimentRunner

    now = clock_fn(args.clock)
    for runs in args.runs:
        with tempfile.TemporaryDirectory() as tmp:
            tracemalloc.start()
            base_mem = tracemalloc.get_traced_memory()[0]
            exp = make_experiment(runs, Path(tmp) / "exp")
            spec_mem = (tracemalloc.get_traced_memory()[0] - base_mem) / exp.total
            runner = ExperimentRunner(exp, workers=0)
            exp.out_dir.mkdir(parents=True)
            exp.started_at = time.perf_counter()
            rng = random.Random(0)
            sample = [make_outcome(s, rng, args.step_rows, args.eval_rows) for s in exp.specs[:1000]]
            outcome_mem = (tracemalloc.get_traced_memory()[0] - base_mem - spec_mem * exp.total) / len(sample)
            for o in sample:
                o.steps, o.evals = [], []
            bare_mem = (tracemalloc.get_traced_memory()[0] - base_mem - spec_mem * exp.total) / len(sample)
            tracemalloc.stop()
            del sample
            times: list[float] = []
            row = getattr(exp, "row", lambda point: exp.rows()[point])  # (before the fix: every row)
            for spec in exp.specs:
                outcome = make_outcome(spec, rng, args.step_rows, args.eval_rows)  # made outside the timing
                t0 = now()
                runner._record(outcome)  # results.csv/json rewritten (every time, or throttled)
                row(outcome.point)  # what the headless table shows per outcome
                exp.columns(3)
                if not args.keep_history:
                    outcome.steps, outcome.evals = [], []  # as the headless runner does
                times.append(now() - t0)
            t0 = now()
            exp.write()  # the closing write run() does
            last_write = now() - t0
            total = sum(times) + last_write
            tenth = max(1, len(times) // 10)
            first, last = sum(times[:tenth]) / tenth, sum(times[-tenth:]) / tenth
            size = (exp.out_dir / "results.json").stat().st_size
            print(f"driver runs={exp.total:>6}  total {total:8.2f} s  per outcome: first tenth "
                  f"{first * 1e3:.2f} ms, last tenth {last * 1e3:.2f} ms, slowest {max(times) * 1e3:.0f} ms"
                  f"  results.json {size / 1e6:6.2f} MB ({size / exp.total:.0f} B/run, written in "
                  f"{last_write * 1e3:.0f} ms)"
                  f"  memory/spec {spec_mem / 1e3:.1f} kB  memory/outcome {outcome_mem / 1e3:.1f} kB with its "
                  f"history ({args.step_rows} step + {args.eval_rows} eval rows), {bare_mem / 1e3:.1f} kB without",
                  flush=True)


def events(args: argparse.Namespace) -> None:
    from rnntui.cli.run import JsonLinesPrinter
    from rnntui.engine.experiment.runner import ExperimentRunner

    now = clock_fn(args.clock)
    with tempfile.TemporaryDirectory() as tmp:
        exp = make_experiment(100, Path(tmp) / "exp")
    printer = JsonLinesPrinter(io.StringIO())
    runner = ExperimentRunner(exp, workers=0, on_event=lambda e: printer.write(e.to_json()))
    run_id = exp.specs[0].run_id
    step = {"event": "step", "run_id": run_id, "step": 10, "epoch": 0, "loss": 0.5, "grad_norm": 1.0,
            "lr": 1e-3, "elapsed_s": 1.0, "steps_per_s": 100.0}
    evaluation = {"event": "eval", "run_id": run_id, "step": 100, "epoch": 0,
                  "metrics": {m: 0.5 for m in METRICS}}
    for name, data in (("step", step), ("eval", evaluation)):
        start = now()
        for _ in range(args.events):
            runner._emit(data)
        per = (now() - start) / args.events
        print(f"events kind={name:<5} {per * 1e6:6.1f} µs/event -> {1 / per:9.0f} events/s "
              f"({len(json.dumps(data))} B as a JSON line)", flush=True)


def ray_throughput(args: argparse.Namespace) -> None:
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import logging

    import ray

    from rnntui.engine.experiment import ray_worker
    from rnntui.engine.experiment.runner import ExperimentRunner

    def no_training(spec, flags=None, attempt=0):  # the task's shape, without the run
        ray_worker.FlagPoller(flags)
        yield {"events": [{"event": "log", "run_id": spec.run_id, "message": "hi", "level": "info"}]}
        yield {"outcome": RunOutcome(spec.run_id, spec.point, spec.trial, spec.seed, "finished",
                                     final={"acc": 1.0}, path=spec.out_dir), "files": {"summary.json": (0o644, b"{}")}}

    ray_worker.train_in_ray = no_training
    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    print(f"ray     local instance up in {time.perf_counter() - t0:.1f} s", flush=True)
    try:
        for runs in args.runs:
            with tempfile.TemporaryDirectory() as tmp:
                exp = make_experiment(runs, Path(tmp) / "exp")
                exp.base = exp.base.replace(executor="ray")
                runner = ExperimentRunner(exp)
                start = time.perf_counter()
                done = sum(1 for _ in runner.run())
                wall = time.perf_counter() - start
            print(f"ray     runs={done:>5}  {wall:6.2f} s  {done / wall:6.1f} runs/s  "
                  f"({wall / done * 1e3:.1f} ms/run, 2 CPUs, no training)", flush=True)
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("driver")
    p.add_argument("--runs", type=int, nargs="+", default=[1000, 2000, 4000])
    p.add_argument("--step-rows", type=int, default=100)
    p.add_argument("--eval-rows", type=int, default=10)
    p.add_argument("--keep-history", action="store_true", help="keep each outcome's curves (as the TUI does)")
    p = sub.add_parser("events")
    p.add_argument("--events", type=int, default=100000)
    p = sub.add_parser("ray")
    p.add_argument("--runs", type=int, nargs="+", default=[200, 400])
    for p in sub.choices.values():
        p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores shared); python {sys.version.split()[0]}", flush=True)
    {"driver": driver, "events": events, "ray": ray_throughput}[args.what](args)


if __name__ == "__main__":
    main()
