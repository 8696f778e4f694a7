"""The ``rnntui`` command: the TUI, headless runs and experiments, subcommands.

    rnntui [--preset NAME|PATH] [--start] [overrides]            the TUI
    rnntui --headless --preset NAME|PATH [overrides] [--json] [--out DIR] [--resume CKPT]
    rnntui presets                                               list the presets
    rnntui keys [--markdown]                                     every setting, cell and task
    rnntui inspect [overrides] [--json]                          parameter and shape tables
    rnntui plot RUN_DIR [RUN_DIR...] -o fig.svg|fig.png          a figure of saved runs

Every config key is a flag (``--hidden-size 20``) and ``--set key=value`` works
for any key, plus ``trials`` and ``grid.KEY=[...]`` for experiments.  Bad input
exits with code 2 and a one-line message naming the problem.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from rnntui.cli import conv as conv_cmd
from rnntui.cli import inspect as inspect_cmd
from rnntui.cli import keys as keys_cmd
from rnntui.cli import plot as plot_cmd
from rnntui.cli import presets as presets_cmd
from rnntui.cli.exit_codes import EXIT_BAD_INPUT, EXIT_INTERRUPTED
from rnntui.cli.flags import Parser, add_config_flags, config_flags
from rnntui.cli.signals import release_startup, say
from rnntui.config import ConfigError
from rnntui.config.keys import PATH_RULE, show, usable_path
from rnntui.config.request import Request, make_request

SUBCOMMANDS = (presets_cmd, keys_cmd, inspect_cmd, conv_cmd, plot_cmd)
"""Modules with ``NAME``, ``add_parser(subparsers)`` and ``run(ns) -> exit code``."""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="rnntui",
        description="A terminal lab for recurrent neural networks. Without a subcommand: the TUI "
        "(or, with --headless, a run or experiment without it).",
    )
    parser.add_argument("--preset", help="preset name (see `rnntui presets`) or path to a .toml file")
    parser.add_argument("--start", action="store_true", help="TUI: start training at once")
    parser.add_argument("--headless", action="store_true", help="train without the UI")
    parser.add_argument("--json", action="store_true", help="headless: print events as JSON lines on stdout")
    parser.add_argument("--out", metavar="DIR", help="headless: run directory (default runs/<time>-<task>-<cell>)")
    parser.add_argument("--resume", metavar="CHECKPOINT", help="continue from a checkpoint.pt")
    parser.add_argument("--overwrite", action="store_true",
                        help="headless: write into --out even if it holds files rnntui did not write")
    add_config_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(m.NAME for m in SUBCOMMANDS) + "}",
                                parser_class=Parser)
    for module in SUBCOMMANDS:
        sub_parser = module.add_parser(sub)
        sub_parser.set_defaults(handler=module.run, parser=sub_parser)
    return parser


def request_from_args(ns: argparse.Namespace) -> Request:
    """The request the flags make; the TUI without ``--preset`` opens on its task's preset."""
    for name in ("out", "resume"):
        value = getattr(ns, name)
        if value is not None and not (value.strip() and usable_path(value)):
            raise ConfigError(name, f"got {show(value)}; allowed: a path ({PATH_RULE})")
    return make_request(ns.preset, config_flags(ns), ns.set_, task_defaults=not ns.headless)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        try:
            ns, extra = parser.parse_known_args(args)
            if extra:  # reported by the parser of the subcommand they were given to
                getattr(ns, "parser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
        except SystemExit as exc:  # --help (0), or a bad flag whose one-line message is printed
            return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
        handler = getattr(ns, "handler", None)
        if handler is not None:
            return handler(ns)
        request = request_from_args(ns)
        if ns.headless:
            return run_headless(request, ns)
        for flag, given in (("--json", ns.json), ("--out", ns.out), ("--overwrite", ns.overwrite)):
            if given:
                raise ConfigError(flag, "works only with --headless (the TUI saves its runs under runs/)")
        if ns.resume and request.is_experiment:
            raise ConfigError("resume", "an experiment cannot resume from one checkpoint")
        from rnntui.app.app import run_app

        release_startup()  # the TUI reads Ctrl-C as a key
        return run_app(request, start=ns.start, resume=ns.resume)
    except ConfigError as exc:
        say(f"rnntui: error: {exc}")
        return EXIT_BAD_INPUT
    except (RecursionError, MemoryError) as exc:  # an input too deep or too large for any check to see
        what = "nested too deeply" if isinstance(exc, RecursionError) else "too large for this machine's memory"
        say(f"rnntui: error: the input is {what}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        say("rnntui: interrupted")
        return EXIT_INTERRUPTED


def run_headless(request: Request, ns: argparse.Namespace) -> int:
    from rnntui.engine.checkpoint import CheckpointError

    try:
        if request.is_experiment:
            if ns.resume:
                raise ConfigError("resume", "an experiment cannot resume from one checkpoint; "
                                  "resume a single run (drop the grid/trials) instead")
            from rnntui.cli.experiment import run_experiment_headless

            try:
                return run_experiment_headless(request, out_dir=ns.out, json_lines=ns.json,
                                               overwrite=ns.overwrite)
            except OSError as exc:
                where = exc.filename or ns.out or "runs/"
                raise ConfigError("out", f"cannot write the experiment directory {str(where)!r}: "
                                  f"{exc.strerror or exc}") from None
        from rnntui.cli.run import run_single

        return run_single(request.config, out_dir=ns.out, json_lines=ns.json, resume=ns.resume,
                          overwrite=ns.overwrite)
    except CheckpointError as exc:
        say(f"rnntui: error: resume: {exc}")
        return EXIT_BAD_INPUT
