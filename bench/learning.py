"""Learning benchmark: does each preset reach its target, and how fast?

Runs presets headless (``python -m rnntui --headless --preset NAME``), one at a
time, reads each run's ``summary.json`` and ``metrics.jsonl``, and prints one
row per run: task, preset, cell, seed, the metric reached (final held-out
evaluation), the target, when the target was first met (training seconds),
total wall time, the time allowed, and PASS/FAIL.  A run passes when its final
metrics meet every condition and it finished within the time allowed (runs
with no time limit only need the metrics).  A target with several ``seeds``
runs once per seed (each its own row, each held to the time allowed): a
preset must hold across seeds, not for one lucky draw.  A target may also
``report`` final metrics it does not hold to a target (adding-long's MSE at
T = 400, twice its training length).

    .venv/bin/python bench/learning.py                 # the standard set
    .venv/bin/python bench/learning.py xor recall      # chosen presets
    .venv/bin/python bench/learning.py --all           # also the extra presets
    .venv/bin/python bench/learning.py adding --set cell=gru
    .venv/bin/python bench/learning.py copy --seeds 0      # one seed of a multi-seed target
    .venv/bin/python bench/learning.py --list

Timings depend on the machine and on what else runs on it: the load average
is printed with every row.  Exit status 0 when every run passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import operator
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]

OPS: dict[str, Callable[[float, float], bool]] = {"<": operator.lt, "<=": operator.le, ">": operator.gt,
                                                  ">=": operator.ge}


@dataclass
class Check:
    metric: str
    op: str
    value: float | None = None
    baseline_factor: float | None = None
    """Target relative to the task's baseline for ``metric``: ``value = factor × baseline``."""

    def threshold(self, baseline: dict[str, float]) -> float:
        if self.baseline_factor is not None:
            return self.baseline_factor * baseline[self.metric]
        assert self.value is not None
        return self.value

    def met(self, metrics: dict[str, float], baseline: dict[str, float]) -> bool:
        value = metrics.get(self.metric)
        return value is not None and math.isfinite(value) and OPS[self.op](value, self.threshold(baseline))

    def describe(self, baseline: dict[str, float] | None = None) -> str:
        if self.baseline_factor is not None:
            base = f"{self.baseline_factor:g}×baseline"
            if baseline and self.metric in baseline:
                base += f" ({self.threshold(baseline):.4g})"
            return f"{self.metric} {self.op} {base}"
        return f"{self.metric} {self.op} {self.value:g}"


@dataclass
class Target:
    preset: str
    checks: list[Check]
    within_s: float | None
    note: str = ""
    extra: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = ()
    """Run once per seed (``--set seed=N``), every seed held to the targets; () = the preset's own seed."""
    report: tuple[str, ...] = ()
    """Final metrics shown next to the checked ones but not held to a target."""


TARGETS: list[Target] = [
    Target("adding", [Check("mse", "<=", baseline_factor=0.5)], 20, "the first run: GRU, T = 30"),
    Target("adding-100", [Check("mse", "<", 0.01)], 300, "T = 100"),
    Target("adding-long", [Check("mse", "<", 0.01)], 600, "T = 200, tested on 400", report=("mse@400",)),
    Target("binary-addition", [Check("exact", ">=", 1.0), Check("exact@32", ">=", 0.99)], 60,
           "trained on 8 bits, tested on 32"),
    Target("xor", [Check("acc", ">=", 1.0)], 30),
    Target("recall", [Check("acc", ">=", 0.99)], 60, "L in [3, 9], hidden 10"),
    Target("copy", [Check("ce", "<", baseline_factor=0.1)], 600, "T = 100, K = 10, A = 8", seeds=(0, 1, 2)),
    Target("digits", [Check("acc", ">=", 0.97)], 60, "bundled 8x8 digits"),
    Target("digits-mnist", [Check("acc", ">=", 0.95)], None, "bundled MNIST-5k, 1k held out"),
    # our own targets for the presets the table does not cover
    Target("echo", [Check("acc", ">=", 0.99), Check("acc@1000", ">=", 0.99)], 120,
           "lag 5, tested on 1,000 steps", extra=True),
    Target("copy-memory", [Check("mse", "<", baseline_factor=0.1)], 120, "T = 50, 10-dim", extra=True),
    Target("adding-variable", [Check("mse", "<", 0.01)], 120, "L in [3, 9], hidden 6", extra=True),
]


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:  # pragma: no cover - not on every OS
        return "?"


def first_time_met(run_dir: Path, target: Target, baseline: dict[str, float]) -> float | None:
    """Training seconds at the first evaluation where every check held."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return None
    elapsed: dict[int, float] = {}
    for line in path.read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "step":
            elapsed[event["step"]] = event["elapsed_s"]
        elif event.get("event") == "eval":
            if all(c.met(event["metrics"], baseline) for c in target.checks):
                step = event["step"]
                return elapsed.get(step) or max((t for s, t in elapsed.items() if s <= step), default=None)
    return None


def run_one(target: Target, seed: int | None, sets: list[str], out_root: Path,
            timeout_factor: float) -> dict[str, Any]:
    """One run of ``target``'s preset; ``seed`` None keeps the preset's own seed."""
    run_dir = out_root / (target.preset if seed is None else f"{target.preset}-seed{seed}")
    cmd = [sys.executable, "-m", "rnntui", "--headless", "--preset", target.preset, "--out", str(run_dir)]
    seed_set = [] if seed is None else [f"seed={seed}"]
    for kv in [f"{k}={v}" for k, v in target.overrides.items()] + seed_set + sets:
        cmd += ["--set", kv]
    limit = None if target.within_s is None else max(60.0, target.within_s * timeout_factor)
    load_before = load_average()
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=limit)
        code, err = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired:
        code, err = None, f"killed after {limit:.0f} s"
    wall = time.perf_counter() - start
    row: dict[str, Any] = {"preset": target.preset, "note": target.note, "wall_s": wall,
                           "load": f"{load_before}→{load_average()}", "within_s": target.within_s}
    summary_path = run_dir / "summary.json"
    if code is None or not summary_path.is_file():
        row.update(status="error", passed=False, detail=err.strip().splitlines()[-1:] if err else [])
        return row
    summary = json.loads(summary_path.read_text())
    cfg, final, baseline = summary["config"], summary.get("final", {}), summary.get("baseline", {})
    met = all(c.met(final, baseline) for c in target.checks)
    train_s = float(summary.get("wall_time_s", wall))
    in_time = target.within_s is None or train_s <= target.within_s
    row.update(
        task=cfg["task"], cell=cfg["cell"] + ("" if cfg["backend"] == "scratch" else f"/{cfg['backend']}"),
        seed=cfg["seed"],
        hidden=cfg["hidden_size"], steps=summary.get("steps"), status=summary["status"],
        reached={m: final.get(m) for m in [c.metric for c in target.checks] + list(target.report)},
        target=[c.describe(baseline) for c in target.checks],
        met_at_s=first_time_met(run_dir, target, baseline), train_s=train_s,
        passed=bool(met and in_time and summary["status"] == "finished"),
    )
    return row


def format_row(row: dict[str, Any]) -> str:
    if row.get("status") == "error":
        return f"{row['preset']:<16} ERROR {' '.join(row.get('detail', []))}"
    reached = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row["reached"].items())
    met = "-" if row["met_at_s"] is None else f"{row['met_at_s']:.0f}s"
    within = "-" if row["within_s"] is None else f"{row['within_s']:.0f}s"
    return (f"{row['task']:<16} {row['preset']:<16} {row['cell']:<6} {row['seed']:>4} {reached:<34} "
            f"{'; '.join(row['target']):<34} {met:>6} {row['train_s']:>6.0f}s {within:>6} "
            f"{row['load']:>9}  {'PASS' if row['passed'] else 'FAIL'}")


HEADER = (f"{'task':<16} {'preset':<16} {'cell':<6} {'seed':>4} {'reached (final eval)':<34} {'target':<34} "
          f"{'met at':>6} {'time':>7} {'within':>6} {'load':>9}  result")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("presets", nargs="*", help="presets to run (default: the standard set)")
    parser.add_argument("--all", action="store_true", help="also run the extra presets (echo, copy-memory, ...)")
    parser.add_argument("--list", action="store_true", help="list the known targets and exit")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key in every run (repeatable)")
    parser.add_argument("--seeds", type=lambda s: tuple(int(x) for x in s.split(",")), metavar="N,N,...",
                        help="run every chosen target with these seeds instead of its own (e.g. 0 or 0,1,2)")
    parser.add_argument("--out", type=Path, help="folder for the run directories (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    parser.add_argument("--timeout-factor", type=float, default=3.0,
                        help="kill a run after this many times its allowed time (default 3)")
    args = parser.parse_args(argv)

    by_name = {t.preset: t for t in TARGETS}
    if args.list:
        for t in TARGETS:
            within = "no limit" if t.within_s is None else f"within {t.within_s:.0f}s"
            seeds = f"seeds {','.join(map(str, t.seeds))}" if t.seeds else "preset seed"
            print(f"{t.preset:<16} {'; '.join(c.describe() for c in t.checks):<40} {within:<12} {seeds:<13} "
                  f"{'(extra) ' if t.extra else ''}{t.note}")
        return 0
    unknown = [p for p in args.presets if p not in by_name]
    if unknown:
        parser.error(f"no target for {', '.join(unknown)}; known: {', '.join(by_name)}")
    chosen = [by_name[p] for p in args.presets] if args.presets else [t for t in TARGETS if args.all or not t.extra]

    out_root = args.out or Path(tempfile.mkdtemp(prefix="rnntui-bench-"))
    out_root.mkdir(parents=True, exist_ok=True)
    jobs = [(t, seed) for t in chosen for seed in (args.seeds or t.seeds or (None,))]
    print(f"# {len(jobs)} runs, run dirs under {out_root}; cpu count {os.cpu_count()}, "
          f"load {load_average()}", flush=True)
    print(HEADER, flush=True)
    rows = []
    for target, seed in jobs:
        row = run_one(target, seed, args.set, out_root, args.timeout_factor)
        rows.append(row)
        print(format_row(row), flush=True)
    for target in chosen:
        mine = [r for r in rows if r["preset"] == target.preset]
        if len(mine) > 1:
            print(f"# {target.preset}: {sum(r['passed'] for r in mine)}/{len(mine)} seeds passed", flush=True)
    passed = sum(r["passed"] for r in rows)
    print(f"# {passed}/{len(rows)} passed", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
