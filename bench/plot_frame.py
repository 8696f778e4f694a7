"""Benchmark: what one terminal-plot frame costs (the MetricPlot builder thread's work).

Four curves of N points in a 118 × 18 plot, built the way MetricPlot builds them
(``rnntui.render.plot_frame.prepare`` then plotext, the ANSI decode and the
strips): plain, smoothed (the raw curve drawn faint underneath), with ± bands
(the Experiment and Compare views), and both.  Cases are interleaved round by
round; the median CPU time of the calling thread per frame is printed, and the
ratio of each case to the plain one measured in the same run.

    python bench/plot_frame.py [--points 2000] [--rounds 9]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

from rnntui.app.widgets.metric_plot import _Snapshot, build_strips  # noqa: E402
from rnntui.render.plot_data import FRACTION, PlotLine, RefLine  # noqa: E402


def snapshot(points: int, smooth: bool, band: bool) -> _Snapshot:
    xs = list(range(points))
    lines = []
    for k, color in enumerate(("cyan", "orange", "green", "magenta")):
        ys = [0.5 + 0.4 * (1 - math.exp(-x / (points / 6 + 50 * k))) + 0.02 * math.sin(x) for x in xs]
        spread = ([y - 0.03 for y in ys], [y + 0.03 for y in ys]) if band else None
        lines.append(PlotLine(f"point {k}", xs, ys, color, band=spread))
    return _Snapshot((0,), tuple(lines), (RefLine("baseline 0.5", 0.5),), 118, 18, False, smooth, 0.9,
                     "textual-dark", FRACTION, (30, 30, 30))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    cases = {
        "plain": snapshot(args.points, False, False),
        "smoothed (+ faint raw)": snapshot(args.points, True, False),
        "bands": snapshot(args.points, False, True),
        "smoothed + bands": snapshot(args.points, True, True),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    build_strips(cases["plain"])  # warm-up (imports, the plotext figure)
    for _ in range(args.rounds):
        for name, snap in cases.items():
            start = time.thread_time()
            build_strips(snap)
            times[name].append(time.thread_time() - start)
    plain = statistics.median(times["plain"])
    print(f"4 curves × {args.points} points, 118 × 18 cells, median of {args.rounds} interleaved rounds (CPU time)")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:24s} {1000 * median:7.1f} ms   × {median / plain:.2f} plain")


if __name__ == "__main__":
    main()
