"""``rnntui presets``: the presets, one line each."""

from __future__ import annotations

import argparse

from rnntui.config.presets import list_presets

NAME = "presets"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return sub.add_parser(NAME, help="list the presets, one line each",
                          description="List the presets, one line each.")


def run(ns: argparse.Namespace) -> int:
    presets = list_presets()
    width = max((len(p.name) for p in presets), default=0)
    for preset in presets:
        kind = " [experiment]" if preset.is_experiment else ""
        print(f"{preset.name:<{width}}  {(preset.description.strip().splitlines() or [''])[0]}{kind}")
    return 0
