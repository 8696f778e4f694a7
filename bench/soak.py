"""Soak: does memory stay flat while a fast task trains for a long time?

Runs a fast task (the smoke preset: a GRU on 8-bit binary addition, one log row
per step, an evaluation every 100 steps, one torch thread) for ``--minutes``:

* **headless**: ``python -m rnntui --headless`` in a subprocess, its resident set
  size (VmRSS from /proc/<pid>/status) sampled every ``--every`` seconds; stopped
  with Ctrl-C (SIGINT) at the end, as a user would;
* **tui**: the app in this process (``create_app(...)`` driven by the Pilot of
  ``app.run_test()``), started with ``s``, this process's RSS sampled the same
  way; the run is stopped and the app closed at the end.

After ``--warmup`` seconds (imports, model build, the first evaluations, and
the bounded in-memory caches filling up: 4,096 step rows take ~30 s at 150
steps/s, the run log's 500 lines and its 1,024 cached lines ~3 min, 512
evaluation rows ~6 min; each is thinned or evicted from then on and its memory
reused), the RSS samples are fitted by least squares against time;
the slope is printed in MB per hour.  Target: <= 5 MB/h over 20 minutes.

    python bench/soak.py [--mode headless,tui] [--minutes 20] [--warmup 300] [--every 2]

Both modes can run at once (``--mode headless,tui`` runs them one after the other;
start two processes to overlap them).  What else runs on the machine matters
little: RSS is not a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SETTINGS = ["--preset", "smoke", "--set", "steps=1000000000", "--set", "log_every=1", "--set", "eval_every=100",
            "--set", "threads=1"]


def rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def slope_mb_per_hour(samples: list[tuple[float, float]], warmup_s: float) -> tuple[float, int, float, float]:
    """Least-squares slope of RSS (MB) over time (h) for samples after the warm-up:
    (slope, samples used, RSS at the first and the last of them)."""
    used = [(t, r) for t, r in samples if t >= warmup_s]
    if len(used) < 3:
        raise SystemExit(f"only {len(used)} samples after the warm-up: run longer than --warmup")
    n = len(used)
    mt = sum(t for t, _ in used) / n
    mr = sum(r for _, r in used) / n
    cov = sum((t - mt) * (r - mr) for t, r in used)
    var = sum((t - mt) ** 2 for t, _ in used)
    return cov / var * 3600.0, n, used[0][1], used[-1][1]


def report(mode: str, samples: list[tuple[float, float]], warmup_s: float, steps: int, seconds: float) -> None:
    slope, n, first, last = slope_mb_per_hour(samples, warmup_s)
    peak = max(r for _, r in samples)
    verdict = "ok" if slope <= 5.0 else "OVER"
    print(f"[{mode}] {seconds / 60:.1f} min, {steps:,} steps ({steps / seconds:.0f} steps/s); RSS after "
          f"{warmup_s:.0f} s warm-up: {first:.1f} -> {last:.1f} MB over {n} samples, peak {peak:.1f} MB; "
          f"slope {slope:+.2f} MB/h (least squares)  [target <= 5 MB/h: {verdict}]", flush=True)


def soak_headless(seconds: float, warmup: float, every: float) -> None:
    out = Path(tempfile.mkdtemp(prefix="rnntui-soak-")) / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "rnntui", "--headless", *SETTINGS, "--out", str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples: list[tuple[float, float]] = []
    t0 = time.monotonic()
    try:
        while (now := time.monotonic() - t0) < seconds:
            if proc.poll() is not None:
                raise SystemExit(f"the headless run ended early with exit code {proc.returncode}")
            samples.append((now, rss_mb(proc.pid)))
            time.sleep(every)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=300)
    import json

    steps = json.loads((out / "summary.json").read_text())["steps"] if (out / "summary.json").is_file() else 0
    report("headless", samples, warmup, steps, seconds)
    if code != 130:
        print(f"[headless] note: exit code {code} (expected 130 after Ctrl-C)")


async def _soak_tui(seconds: float, warmup: float, every: float) -> None:
    from rnntui.app.app import create_app
    from rnntui.config.request import make_request

    request = make_request("smoke", {}, [s for s in SETTINGS[2:] if s != "--set"])
    app = create_app(request, runs_root=Path(tempfile.mkdtemp(prefix="rnntui-soak-tui-")))
    samples: list[tuple[float, float]] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("s")
        t0 = time.monotonic()
        while (now := time.monotonic() - t0) < seconds:
            samples.append((now, rss_mb()))
            await asyncio.sleep(every)
        steps = app.lab.current.step if app.lab.current is not None else 0
        status = app.lab.current.status if app.lab.current is not None else "?"
        app.lab.control.cancel()
        await app.workers.wait_for_complete()
    report("tui", samples, warmup, steps, seconds)
    if status != "running":
        print(f"[tui] note: the run was {status!r} at the end, not running")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", default="headless,tui", help="headless, tui, or both (comma-separated)")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=300.0,
                        help="seconds left out of the fit (imports, and the bounded histories filling up)")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between RSS samples")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"smoke preset, log_every 1, eval_every 100, 1 thread", flush=True)
    for mode in [m.strip() for m in args.mode.split(",") if m.strip()]:
        if mode == "headless":
            soak_headless(args.minutes * 60, args.warmup, args.every)
        elif mode == "tui":
            asyncio.run(_soak_tui(args.minutes * 60, args.warmup, args.every))
        else:
            raise SystemExit(f"--mode: got {mode!r}; allowed: headless, tui")
    return 0


if __name__ == "__main__":
    sys.exit(main())
