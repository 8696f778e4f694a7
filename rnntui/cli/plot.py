"""``rnntui plot RUN_DIR [RUN_DIR...] -o fig.svg``: a figure of saved runs.

Loss and metric curves with their baselines, every evaluation length, and for
an experiment directory (or runs that differ only in their seed) each setting's
mean ± standard error over its seeds.  Needs matplotlib, the optional extra
``rnntui[plot]``; without it the command says how to install it and exits 2.
Drawing lives in :mod:`rnntui.render.figures` (the TUI saves its figures there
too); this module imports neither matplotlib nor torch.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnntui.cli.exit_codes import EXIT_BAD_INPUT, EXIT_OK

NAME = "plot"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        NAME, help="write a figure (SVG, PNG or PDF) of run or experiment directories",
        description="Write a figure of saved runs: loss and metric curves, baselines, evaluation lengths; "
                    "runs that differ only in their seed (an experiment's trials) as mean ± standard error "
                    "bands.  Needs matplotlib: pip install \"rnntui[plot]\".")
    parser.add_argument("plot_dirs", nargs="+", metavar="RUN_DIR",
                        help="a run directory (with summary.json) or an experiment directory")
    parser.add_argument("-o", "--output", dest="plot_output", metavar="FIGURE",
                        help="the figure to write: .svg, .png or .pdf (default: figure.svg in the first RUN_DIR)")
    parser.add_argument("--each", dest="plot_each", action="store_true",
                        help="one curve per run instead of mean ± standard error per setting")
    parser.add_argument("--title", dest="plot_title", metavar="TEXT", help="the figure's title")
    return parser


def run(ns: argparse.Namespace) -> int:
    from rnntui.engine.saved_runs import load_runs
    from rnntui.render.figure_data import figure_panels, figure_title
    from rnntui.render.figures import FigureError, check_path, write_figure

    output = Path(ns.plot_output) if ns.plot_output else Path(ns.plot_dirs[0]) / "figure.svg"
    try:
        check_path(output)
    except FigureError as exc:
        return _bad("-o", str(exc))
    records = []
    for directory in ns.plot_dirs:
        try:
            records += load_runs(directory)
        except ValueError as exc:
            return _bad("RUN_DIR", str(exc))
    experiment = None
    if len(ns.plot_dirs) == 1 and len(records) > 1:
        experiment = Path(ns.plot_dirs[0]).resolve().name
    title = ns.plot_title if ns.plot_title is not None else figure_title(records, experiment)
    try:
        panels = figure_panels(records, grouped=not ns.plot_each)
        path = write_figure(panels, output, title)
    except FigureError as exc:
        return _bad("plot", str(exc))
    print(f"wrote {path} ({len(panels)} panel{'s' * (len(panels) != 1)}, {len(records)} "
          f"run{'s' * (len(records) != 1)})")
    return EXIT_OK


def _bad(what: str, message: str) -> int:
    print(f"rnntui plot: error: {what}: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT
