"""The process entry point of ``rnntui`` and ``python -m rnntui``.

Ctrl-C and SIGTERM are guarded before anything heavy is imported (see
:mod:`rnntui.cli.signals`): a signal that lands in the middle of ``import torch``
ends the process with one line, not a half-imported traceback.
"""

from __future__ import annotations


def main() -> int:
    from rnntui.cli.signals import guard_startup

    guard_startup()
    from rnntui.cli.main import main as cli_main

    return cli_main()
