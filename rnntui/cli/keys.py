"""``rnntui keys``: every config key, cell and task, as the specs declare them.

``--markdown`` prints the tables the README carries (a test checks that the
README matches this output).
"""

from __future__ import annotations

import argparse

from rnntui.config.keys import Key
from rnntui.config.schema import KEYS, cells, tasks

NAME = "keys"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(NAME, help="list every setting, cell and task",
                            description="List every config key (flag, allowed values, default, help), "
                                        "every cell and every task, as their specs declare them.")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (the README's)")
    return parser


def _default(key: Key) -> str:
    if key.default is None:
        return "none"
    if key.default == "":
        return '""'
    if isinstance(key.default, bool):
        return str(key.default).lower()
    return str(key.default) if key.default != [] else "[]"


def _used_by(key: Key) -> str:
    users = [t.name for t in tasks().values() if key.name in t.option_names]
    users += [c.name for c in cells().values() if key.name in c.option_names]
    return ", ".join(users)


def _row(*cells: str) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def cells_table() -> list[str]:
    rows = ["| cell | what | gates (rows of `weight_ih`) | state | torch twin | own keys |", "|---|---|---|---|---|---|"]
    for c in cells().values():
        gates = ", ".join(f"{g.name} {g.meaning}" for g in c.gates) or "one block: the hidden pre-activation"
        twin = f"`nn.{c.builtin}`" if c.builtin else "–"
        own = ", ".join(f"`{n}`" for n in c.option_names) or "–"
        rows.append(_row(f"`{c.name}`", c.title, gates, ", ".join(c.state), twin, own))
    return rows


def tasks_table() -> list[str]:
    rows = ["| task | what | metrics (main first) | baseline | losses | own keys |", "|---|---|---|---|---|---|"]
    for t in tasks().values():
        metrics = ", ".join(f"{m.name} ({'↑' if m.higher_is_better else '↓'})" for m in t.metrics)
        own = ", ".join(f"`{n}`" for n in t.option_names) or "–"
        rows.append(_row(f"`{t.name}`", t.title, metrics, t.baseline, ", ".join(t.losses), own))
    return rows


def keys_table() -> list[str]:
    rows = ["| key | allowed | default | meaning |", "|---|---|---|---|"]
    for key in KEYS.values():
        used = _used_by(key)
        where = f" (used by {used})" if used else ""
        rows.append(_row(f"`{key.name}`", key.allowed(), _default(key), key.help + where))
    return rows


def markdown() -> str:
    return "\n".join(["### Cells", "", *cells_table(), "", "### Tasks", "", *tasks_table(), "",
                      "### Settings", "", *keys_table()]) + "\n"


def run(ns: argparse.Namespace) -> int:
    if ns.markdown:
        print(markdown(), end="")
        return 0
    width = max(len(k.flag) for k in KEYS.values())
    for key in KEYS.values():
        used = _used_by(key)
        print(f"{key.flag:<{width}}  {key.help}{f' (used by {used})' if used else ''}")
        print(f"{'':<{width}}  allowed: {key.allowed()}; default: {_default(key)}")
    return 0
