"""Argument-parser pieces the subcommands share: one-line errors, the config flags."""

from __future__ import annotations

import argparse
from typing import Any

from rnntui.cli.exit_codes import EXIT_BAD_INPUT
from rnntui.config.keys import one_line
from rnntui.config.schema import KEYS


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit with EXIT_BAD_INPUT."""

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        # argparse drops a "--" value ("--bidirectional=--" would silently mean true)
        for arg in args or ():
            if isinstance(arg, str) and arg.startswith("--") and arg.endswith("=--"):
                self.error(f"argument {arg[:-3]}: got '--'; allowed: a value")
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {one_line(message)} (see --help)\n")


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """A flag per config key (``--hidden-size 20``) and ``--set key=value``."""
    group = parser.add_argument_group("run settings (each also works as --set key=value)")
    for key in KEYS.values():
        if key.type is bool:
            group.add_argument(key.flag, dest=key.name, nargs="?", const="true", metavar="BOOL",
                               default=argparse.SUPPRESS, help=key.help)
        else:
            group.add_argument(key.flag, dest=key.name, metavar=key.name.upper(), default=argparse.SUPPRESS,
                               help=key.help)
    group.add_argument("--set", dest="set_", action="append", default=[], metavar="KEY=VALUE",
                       help="set any key; also trials=N and grid.KEY=[v1,v2] for experiments")


def config_flags(ns: argparse.Namespace) -> dict[str, Any]:
    """The config keys given as flags."""
    return {k: v for k, v in vars(ns).items() if k in KEYS}
