"""``rnntui inspect``: a model's parameter table and its input/output/state shapes.

    rnntui inspect --cell lstm --input-size 10 --hidden-size 20 --num-layers 2
    rnntui inspect --preset smoke --bidirectional --batch 5 --seq-len 8 --json

Takes the same keys as a run (flags, ``--set key=value``, ``--preset``).
``--input-size`` defaults to the task's input size; ``--batch`` (default: the
config's ``batch_size``) and ``--seq-len`` set B and T of the shape table.
Bad input: one line naming the key, exit code 2.  Nothing is trained: the
modules are built and run on torch's ``meta`` device (no memory, no time).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rnntui.cli.exit_codes import EXIT_BAD_INPUT
from rnntui.cli.flags import add_config_flags, config_flags
from rnntui.config.request import make_request
from rnntui.config import ConfigError
from rnntui.config.keys import Key

NAME = "inspect"
PROG = "rnntui inspect"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        NAME, help="print a model's parameter and shape tables",
        description="Print a recurrent model's parameters (name, shape, count, total) and its "
        "input, output and state shapes for batch_first true/false, bidirectional, an LSTM "
        "projection and a packed batch of variable lengths.",
    )
    parser.add_argument("--preset", default=argparse.SUPPRESS,
                        help="preset name or .toml path to take the settings from")
    parser.add_argument("--input-size", dest="input_size", metavar="N",
                        help="features per input step (default: the task's input size)")
    parser.add_argument("--batch", metavar="B", help="batch size B of the shape table (default: batch_size)")
    parser.add_argument("--json", action="store_true", help="print the tables as one JSON object")
    add_config_flags(parser)
    return parser


INPUT_SIZE = Key("input_size", int, 0, "features per input step", lo=1, hi=1_000_000)
BATCH = Key("batch", int, 0, "batch size B of the shape table", lo=1, hi=65536)
"""The options only ``inspect`` has, declared like config keys (parsing, bounds, messages)."""


def _option(key: Key, text: str | None) -> int:
    if text is None:
        return 0
    value = key.parse(text)
    key.validate(value)
    return value


def _shape(shape: list[int]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _lengths(lengths: list[int]) -> str:
    if len(lengths) <= 8:
        return "[" + ", ".join(map(str, lengths)) + "]"
    return "[" + ", ".join(map(str, lengths[:4])) + ", ..., " + ", ".join(map(str, lengths[-2:])) + "]"


def _group(p: dict[str, Any]) -> str:
    return f"layer {p['layer']}" + (" reverse" if p["direction"] == "reverse" else "")


def format_report(data: dict[str, Any]) -> str:
    """The human-readable tables."""
    out: list[str] = []
    direction = "bidirectional" if data["bidirectional"] else "unidirectional"
    proj = f", proj_size {data['proj_size']}" if data["proj_size"] else ""
    source = f"from task {data['task']!r}" if data["input_size_source"] == "task" else "given"
    out.append(f"{data['cell']} ({data['backend']} backend): input_size {data['input_size']} ({source}), "
               f"hidden_size {data['hidden_size']}, num_layers {data['num_layers']}, {direction}{proj}")
    out.append("")
    out.append("Parameters")
    params = data["parameters"]
    groups = {g["group"]: g["count"] for g in data["groups"]}
    subtotal = len(groups) > 1
    wn = max([len("name")] + [len(p["name"]) for p in params] + [len(g) + 8 for g in groups if subtotal])
    ws = max([len("shape")] + [len(_shape(p["shape"])) for p in params])
    wc = max(len("count"), len(str(data["model_total"])))
    out.append(f"  {'name':<{wn}}  {'shape':<{ws}}  {'count':>{wc}}  role")
    for i, p in enumerate(params):
        out.append(f"  {p['name']:<{wn}}  {_shape(p['shape']):<{ws}}  {p['count']:>{wc}}  {p['role']}")
        nxt = params[i + 1] if i + 1 < len(params) else None
        if subtotal and (nxt is None or _group(nxt) != _group(p)):
            out.append(f"  {'(' + _group(p) + ' total)':<{wn}}  {'':<{ws}}  {groups[_group(p)]:>{wc}}")
    out.append(f"  Total parameters: {data['total']}")
    head = data["head"]
    if head["parameters"]:
        parts = ", ".join(f"{r['name']} {_shape(r['shape'])} {r['count']}" for r in head["parameters"])
        out.append(f"  + read-out head for task {data['task']!r} (output {head['output_size']}): {parts}"
                   f" -> model total {data['model_total']}")
    out.append("")
    b, t = data["batch"], data["seq_len"]
    out.append(f"Shapes  (B = {b} sequences, T = {t} steps, I = {data['input_size']}, H = {data['hidden_size']}, "
               f"L = {data['num_layers']} layers, D = 2 if bidirectional else 1"
               + (f", P = {data['proj_size']}" if data["proj_size"] else "") + ")")
    for case in data["shapes"]:
        out.append(f"  {case['title']}")
        if case.get("lengths") is not None:
            out.append(f"    lengths {_lengths(case['lengths'])}")
        rows = case["rows"]
        if rows:
            wname = max(len(r["name"]) for r in rows)
            wshape = max(len(_shape(r["shape"])) for r in rows)
            for r in rows:
                out.append(f"    {r['name']:<{wname}}  {_shape(r['shape']):<{wshape}}  {r['symbolic']}")
        if case["note"]:
            out.append(f"    note: {case['note']}")
    return "\n".join(out)


def run(ns: argparse.Namespace) -> int:
    from rnntui.engine.inspect.describe import describe

    try:
        input_size = _option(INPUT_SIZE, ns.input_size)
        batch = _option(BATCH, ns.batch)
        cfg = make_request(ns.preset, config_flags(ns), ns.set_).config
        data = describe(cfg, input_size or None, batch or None).to_json()
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if ns.json:
        print(json.dumps(data, indent=2))
    else:
        print(format_report(data))
    return 0
