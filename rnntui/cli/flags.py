"""Argument-parser pieces the subcommands share: one-line errors, the config flags."""

from __future__ import annotations

import argparse
from typing import Any

from rnntui.cli.exit_codes import EXIT_BAD_INPUT
from rnntui.config import field_names, field_type
from rnntui.config.help import HELP


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit with EXIT_BAD_INPUT."""

    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """A flag per config key (``--hidden-size 20``) and ``--set key=value``."""
    group = parser.add_argument_group("run settings (each also works as --set key=value)")
    for name in field_names():
        flag = "--" + name.replace("_", "-")
        if field_type(name) is bool:
            group.add_argument(flag, dest=name, nargs="?", const="true", metavar="BOOL",
                               default=argparse.SUPPRESS, help=HELP.get(name, ""))
        else:
            group.add_argument(flag, dest=name, metavar=name.upper(), default=argparse.SUPPRESS,
                               help=HELP.get(name, ""))
    group.add_argument("--set", dest="set_", action="append", default=[], metavar="KEY=VALUE",
                       help="set any key; also trials=N and grid.KEY=[v1,v2] for experiments")


def config_flags(ns: argparse.Namespace) -> dict[str, Any]:
    """The config keys given as flags."""
    return {k: v for k, v in vars(ns).items() if k in field_names()}
