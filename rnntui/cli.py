"""Command line: the TUI, the headless runner, ``presets`` and ``inspect``.

    rnntui [--preset NAME|PATH] [--start] [overrides]
    rnntui --headless --preset NAME|PATH [overrides] [--json] [--out DIR] [--resume CKPT]
    rnntui presets
    rnntui inspect [overrides] [--json]

Every config key is a flag (``--hidden-size 20``) and ``--set key=value`` works
for any key, plus ``trials`` and ``grid.KEY=[...]`` for experiments.  Bad input
exits with code 2 and a one-line message naming the problem.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

from rnntui.config import Config, ConfigError, build_config, field_names, field_type
from rnntui.config_help import HELP
from rnntui.exit_codes import EXIT_BAD_INPUT
from rnntui.presets import Preset, list_presets, load_preset, parse_experiment



class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("run settings (each also works as --set key=value)")
    for name in field_names():
        flag = "--" + name.replace("_", "-")
        kind = field_type(name)
        if kind is bool:
            group.add_argument(flag, dest=name, nargs="?", const="true", metavar="BOOL",
                               default=argparse.SUPPRESS, help=HELP.get(name, ""))
        else:
            group.add_argument(flag, dest=name, metavar=name.upper(), default=argparse.SUPPRESS,
                               help=HELP.get(name, ""))
    group.add_argument("--set", dest="set_", action="append", default=[], metavar="KEY=VALUE",
                       help="set any key; also trials=N and grid.KEY=[v1,v2] for experiments")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rnntui",
        description="A terminal lab for recurrent neural networks. "
        "Subcommands: `rnntui presets` lists presets; `rnntui inspect` prints parameter and shape tables.",
    )
    parser.add_argument("--preset", help="preset name (see `rnntui presets`) or path to a .toml file")
    parser.add_argument("--start", action="store_true", help="TUI: start training at once")
    parser.add_argument("--headless", action="store_true", help="train without the UI")
    parser.add_argument("--json", action="store_true", help="headless: print events as JSON lines on stdout")
    parser.add_argument("--out", metavar="DIR", help="headless: run directory (default runs/<time>-<task>-<cell>)")
    parser.add_argument("--resume", metavar="CHECKPOINT", help="continue from a checkpoint.pt")
    add_config_flags(parser)
    return parser


@dataclass
class Request:
    """What the command line asked for, validated."""

    config: Config
    preset: Preset | None = None
    grid: dict[str, list[Any]] = field(default_factory=dict)
    trials: int = 1

    @property
    def is_experiment(self) -> bool:
        return bool(self.grid) or self.trials > 1


def split_overrides(ns: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """Flags and ``--set`` pairs -> (config overrides, grid overrides, trials or None)."""
    overrides = {k: v for k, v in vars(ns).items() if k in field_names()}
    grid: dict[str, Any] = {}
    trials = None
    for item in ns.set_:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigError("--set", f"got {item!r}; expected KEY=VALUE, e.g. --set hidden_size=20")
        if key == "trials":
            trials = value.strip()
        elif key.startswith("grid."):
            grid[key[5:]] = value.strip()
        else:
            overrides[key] = value
    return overrides, grid, trials


def request_from_args(ns: argparse.Namespace) -> Request:
    preset = load_preset(ns.preset) if ns.preset else None
    overrides, grid_over, trials_over = split_overrides(ns)
    base = preset.values if preset else {}
    cfg = build_config(base, overrides)
    grid = dict(preset.grid) if preset else {}
    trials = preset.trials if preset else 1
    extra_grid, trials = parse_experiment(grid_over, trials if trials_over is None else trials_over)
    grid.update(extra_grid)
    for key in overrides:  # an explicit flag pins a key the preset's grid would vary
        if key not in grid_over:
            grid.pop(key, None)
    for key, options in grid.items():
        for option in options:
            build_config(cfg.to_dict(), {key: option})
    return Request(cfg, preset, grid, trials)


def cmd_presets(argv: Sequence[str]) -> int:
    parser = _Parser(prog="rnntui presets", description="List the presets, one line each.")
    parser.parse_args(argv)
    presets = list_presets()
    width = max((len(p.name) for p in presets), default=0)
    for preset in presets:
        kind = " [experiment]" if preset.is_experiment else ""
        print(f"{preset.name:<{width}}  {(preset.description.strip().splitlines() or [''])[0]}{kind}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] == "presets":
            return cmd_presets(args[1:])
        if args and args[0] == "inspect":
            from rnntui.inspect_cli import main as inspect_main

            return inspect_main(args[1:])
        ns = build_parser().parse_args(args)
        request = request_from_args(ns)
        if ns.headless:
            return run_headless(request, ns)
        for flag, given in (("--json", ns.json), ("--out", ns.out)):
            if given:
                raise ConfigError(flag, "works only with --headless (the TUI saves its runs under runs/)")
        if ns.resume and request.is_experiment:
            raise ConfigError("resume", "an experiment cannot resume from one checkpoint")
        from rnntui.app.app import run_app

        return run_app(request, start=ns.start, resume=ns.resume)
    except ConfigError as exc:
        print(f"rnntui: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("rnntui: interrupted", file=sys.stderr)
        return 130


def run_headless(request: Request, ns: argparse.Namespace) -> int:
    from rnntui.engine.checkpoint import CheckpointError

    try:
        if request.is_experiment:
            if ns.resume:
                raise ConfigError("resume", "an experiment cannot resume from one checkpoint; "
                                  "resume a single run (drop the grid/trials) instead")
            from rnntui.headless_experiment import run_experiment_headless

            try:
                return run_experiment_headless(request, out_dir=ns.out, json_lines=ns.json)
            except OSError as exc:
                where = exc.filename or ns.out or "runs/"
                raise ConfigError("out", f"cannot write the experiment directory {str(where)!r}: "
                                  f"{exc.strerror or exc}") from None
        from rnntui.headless import run_single

        return run_single(request.config, out_dir=ns.out, json_lines=ns.json, resume=ns.resume)
    except CheckpointError as exc:
        print(f"rnntui: error: resume: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
