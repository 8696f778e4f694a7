"""Benchmark: does the UI stay responsive while a model trains?

1. Time to first frame: ``python -m rnntui`` is spawned in a real
   pseudo-terminal; measured from just before the spawn until the first frame
   (the status bar) has been written to the terminal.  Target <= 0.5 s.  The
   configuration form is mounted right after the first frame (textual.lazy);
   the time until it is on screen is reported too.
2. UI timer lateness during training: a 50 ms interval timer on the App whose
   ticks go through the App's message queue, like every UI event; lateness =
   when the tick was handled - when it was due.  Recorded only while the run
   is in the "running" state (torch import and model build excluded).
   Targets p95 <= 10 ms, max <= 50 ms.  Also reported: event batches per
   second, plot builds per second and their cost.
3. Quit latency: pressing q mid-run until the training thread has ended.
   Target <= 1.5 s.

    python bench/ui.py [--seconds 8] [--scenarios smoke,adding] [--first-frame-runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import pty
import re
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

from textual import events  # noqa: E402
from textual._time import get_time  # noqa: E402

from rnntui.app import app as app_module  # noqa: E402
from rnntui.app.app import RnnTuiApp  # noqa: E402
from rnntui.app.widgets import metric_plot  # noqa: E402
from rnntui.config.request import Request  # noqa: E402
from rnntui.config import build_config  # noqa: E402
from rnntui.config.presets import load_preset  # noqa: E402

TICK_S = 0.05
ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")
SCENARIOS = {
    # no run: the app alone, a reference for what the machine's load does to the timer
    "idle": ("smoke", {}),
    # many cheap steps: stresses event batching and plot redraws
    "smoke": ("smoke", {"steps": 200_000, "eval_every": 500, "eval_size": 256, "log_every": 10}),
    # fewer, heavier steps (LSTM h64 over 100 steps, scratch cell): stresses the GIL
    "adding": ("adding", {"steps": 200_000, "eval_every": 200, "eval_size": 500}),
}

def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def first_frame(runs: int) -> tuple[list[float], list[float], list[float]]:
    """Spawn ``python -m rnntui`` in a real pseudo-terminal (100x32) and time, from
    just before the spawn, the first frame (the status bar's "press s to start")
    and the full UI (the lazily mounted form's "optimizer" row).  Then quit with q."""
    first, full = [], []
    cpu: list[float] = []
    env = dict(os.environ, PYTHONPATH=os.path.abspath(ROOT), TERM="xterm-256color", COLORTERM="truecolor")
    for _ in range(runs):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 32, 100, 0, 0))
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "rnntui"], stdin=slave, stdout=slave, stderr=slave,
                                env=env, cwd=tempfile.gettempdir(), start_new_session=True)
        os.close(slave)
        seen, t_first, t_full = b"", None, None
        deadline = t0 + 30
        while (t_first is None or t_full is None) and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                seen += chunk
                plain = ANSI.sub(b"", seen)
                if t_first is None and b"press s to start" in plain:
                    t_first = time.monotonic() - t0
                    cpu.append(_cpu_seconds(proc.pid))
                if t_full is None and b"optimizer" in plain:
                    t_full = time.monotonic() - t0
        os.write(master, b"q")
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        while True:  # drain so the child never blocks on a full pty
            ready, _, _ = select.select([master], [], [], 0)
            if not ready:
                break
            try:
                if not os.read(master, 65536):
                    break
            except OSError:
                break
        os.close(master)
        if t_first is None or t_full is None:
            raise SystemExit("the app did not show its first frame within 30 s")
        first.append(t_first)
        full.append(t_full)
    return first, full, cpu


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far: immune to other load on the machine."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BenchApp(RnnTuiApp):
    """The real app plus a lateness probe timer (events through the message queue)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lateness: list[float] = []
        self.batches = 0
        self.recording = False

    def on_mount(self) -> None:
        super().on_mount()
        self._probe = self.set_interval(TICK_S, name="lateness-probe")  # no callback: posts Timer events

    async def on_timer(self, event: events.Timer) -> None:
        if event.timer is getattr(self, "_probe", None):
            if self.recording:
                self.lateness.append(get_time() - event.time)
            event.stop()
            return
        await super().on_timer(event)

    def on_event_batch(self, message) -> None:
        if self.recording:
            self.batches += 1
        super().on_event_batch(message)


def timed_render(durations: list[float]):
    """Wrap the frame builder (it runs in the plot builder thread, not the UI thread)."""
    original = metric_plot.build_strips

    def build(snap):
        t = time.perf_counter()
        try:
            return original(snap)
        finally:
            durations.append(time.perf_counter() - t)

    return original, build


async def quit_latency(scenario: str) -> tuple[float, float]:
    """Start a run, press q mid-run; seconds until the app closed and until the training thread ended."""
    preset, over = SCENARIOS[scenario]
    cfg = build_config(load_preset(preset).values, over)
    ended = threading.Event()
    end_time: list[float] = []
    real = app_module.run_training

    def tracked(job):
        try:
            return real(job)
        finally:
            end_time.append(time.monotonic())
            ended.set()

    app_module.run_training = tracked
    try:
        app = RnnTuiApp(Request(cfg), runs_root=None)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("s")
            deadline = time.monotonic() + 60
            while (app.lab.current is None or app.lab.current.step < 1) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
            t0 = time.monotonic()
            await pilot.press("q")
        closed = time.monotonic() - t0
        await asyncio.to_thread(ended.wait, 10)
        return closed, (end_time[0] - t0) if end_time else float("nan")
    finally:
        app_module.run_training = real


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="lateness measurement per scenario")
    parser.add_argument("--scenarios", default="idle,smoke,adding")
    parser.add_argument("--first-frame-runs", type=int, default=5)
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; targets: first frame <= 0.5 s, "
          f"lateness p95 <= 10 ms and max <= 50 ms, quit <= 1.5 s")
    load = os.getloadavg()[0]
    ff, full, cpu = first_frame(args.first_frame_runs)
    print(f"first frame in a pty (spawn -> status bar on screen, {len(ff)} runs): median {statistics.median(ff):.3f} s,"
          f" max {max(ff):.3f} s  [{'ok' if statistics.median(ff) <= 0.5 else 'OVER'}]; "
          f"CPU used by then: median {statistics.median(cpu):.2f} s; form mounted: median {statistics.median(full):.3f} s"
          f"  (load average {load:.1f} on {os.cpu_count()} CPUs)")
    for name in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
        r = asyncio.run(lateness(name, args.seconds))
        ok = r["p95_ms"] <= 10 and r["max_ms"] <= 50
        print(f"[{name}] {r['steps_per_s']:.0f} steps/s; timer lateness over {r['ticks']} ticks: "
              f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, max {r['max_ms']:.1f} ms  "
              f"[{'ok' if ok else 'OVER'}]")
        print(f"[{name}] {r['batches_per_s']:.1f} event batches/s, {r['plot_builds_per_s']:.1f} plot builds/s "
              f"built off the UI thread (p50 {r['plot_build_ms_p50']:.1f} ms, max {r['plot_build_ms_max']:.1f} ms)")
        if name == "idle":
            continue
        closed, ended = asyncio.run(quit_latency(name))
        print(f"[{name}] quit mid-run: app closed in {closed:.3f} s, training thread ended in {ended:.3f} s  "
              f"[{'ok' if max(closed, ended) <= 1.5 else 'OVER'}]")
    return 0


async def lateness(scenario: str, seconds: float) -> dict[str, float]:
    preset, over = SCENARIOS[scenario]
    cfg = build_config(load_preset(preset).values, over)
    app = BenchApp(Request(cfg), runs_root=None)
    builds: list[float] = []
    original, patched = timed_render(builds)
    metric_plot.build_strips = patched
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            if scenario == "idle":
                return await _record_idle(app, seconds)
            await pilot.press("s")
            deadline = time.monotonic() + 60
            while (app.lab.current is None or app.lab.current.status != "running") and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if app.lab.current is None or app.lab.current.status != "running":
                raise SystemExit(f"the run did not start: {app.lab.current and app.lab.current.status}; "
                                 f"log: {app.query_one('#log').history[-3:]}")
            await asyncio.sleep(0.5)
            builds.clear()
            start_step = app.lab.current.step
            app.recording = True
            t0 = time.monotonic()
            await asyncio.sleep(seconds)
            app.recording = False
            elapsed = time.monotonic() - t0
            steps = app.lab.current.step - start_step
            app.lab.control.cancel()
            await app.workers.wait_for_complete()
    finally:
        metric_plot.build_strips = original
    lat_ms = [v * 1000 for v in app.lateness]
    return {
        "ticks": len(lat_ms),
        "p50_ms": pct(lat_ms, 0.50),
        "p95_ms": pct(lat_ms, 0.95),
        "max_ms": max(lat_ms) if lat_ms else float("nan"),
        "steps_per_s": steps / elapsed,
        "batches_per_s": app.batches / elapsed,
        "plot_builds_per_s": len(builds) / elapsed,
        "plot_build_ms_p50": pct([b * 1000 for b in builds], 0.5),
        "plot_build_ms_max": max(builds) * 1000 if builds else float("nan"),
    }


async def _record_idle(app: BenchApp, seconds: float) -> dict[str, float]:
    deadline = time.monotonic() + 60
    while not (app.lab.task_infos or app.lab.engine_error) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # the engine preload (torch import) stalls the GIL: not part of "idle"
    await asyncio.sleep(1.0)
    app.recording = True
    await asyncio.sleep(seconds)
    app.recording = False
    lat_ms = [v * 1000 for v in app.lateness]
    nan = float("nan")
    return {"ticks": len(lat_ms), "p50_ms": pct(lat_ms, 0.5), "p95_ms": pct(lat_ms, 0.95),
            "max_ms": max(lat_ms) if lat_ms else nan, "steps_per_s": 0.0, "batches_per_s": 0.0,
            "plot_builds_per_s": 0.0, "plot_build_ms_p50": nan, "plot_build_ms_max": nan}


if __name__ == "__main__":
    sys.exit(main())
