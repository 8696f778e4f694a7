"""``rnntui conv``: seed 004's convolution primitives in the terminal.

    rnntui conv [--image bundled:shapes|PATH.png|PATH.npy] [--kernel sobel-x|sobel-y|edge|blur|random|PATH.npy ...]
                [--stride 1] [--padding 0] [--activation relu] [--pool max:2|avg:2|global] [--json]
    rnntui conv --cnn [--image ...] [--seed 0] [--json]

Shows the input image, the kernel(s) and the activation map(s), with their
shapes and the size formula H′ = ⌊(H − K + 2P)/S⌋ + 1; with ``--pool`` the pooled
maps too.  ``--cnn`` runs seed 004's CNN (conv 16 → max pool → conv 32 → max pool
→ global average pool → MLP 20 tanh → 1000) and shows every layer's maps and the
output with and without softmax.  ``--json`` prints the numbers instead.
Pictures are half-block heatmaps in colour on a terminal and character shades
when the output is a pipe or a file (``--color`` chooses).  Bad input: one line
naming the flag, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from typing import Any

from rnntui.cli.exit_codes import EXIT_BAD_INPUT, EXIT_OK

NAME = "conv"
PROG = "rnntui conv"
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky-relu", "none")  # = engine.conv.spec.ACTIVATIONS (a test checks)
KERNELS = "edge|sobel-x|sobel-y|blur|random[:K]|PATH.npy"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        NAME, help="convolution, pooling and a small CNN from scratch, drawn in the terminal",
        description="Convolve an image with kernels (stride, padding, activation), pool the maps, "
        "or run seed 004's CNN, and draw the input, kernels and activation maps.",
    )
    parser.add_argument("--image", default="bundled:shapes", metavar="SPEC",
                        help="bundled:shapes (64×64 RGB), bundled:rings (48×48 gray), a .png (8-bit) "
                        "or a .npy array (H, W, C) (default bundled:shapes)")
    parser.add_argument("--kernel", action="append", metavar="SPEC",
                        help=f"{KERNELS}: a .npy holds (kh, kw, C) or (F, kh, kw, C); named kernels are "
                        "put in every channel / C; repeat for several maps (default sobel-x)")
    parser.add_argument("--stride", default="1", metavar="S", help="stride S >= 1 (default 1)")
    parser.add_argument("--padding", default="0", metavar="P", help="zero padding P >= 0 (default 0)")
    parser.add_argument("--activation", default="relu", choices=ACTIVATIONS,
                        help="non-linearity after the convolution (default relu; leaky-relu slope 0.01)")
    parser.add_argument("--pool", metavar="SPEC", help="pool the maps: max:K, avg:K, max:K:S, avg:K:S "
                        "(window K, stride S, default K) or global (global average)")
    parser.add_argument("--cnn", action="store_true", help="run seed 004's CNN on the image instead")
    parser.add_argument("--seed", default="0", metavar="N", help="seed of random kernels and the CNN's weights")
    parser.add_argument("--json", action="store_true", help="print shapes and values as one JSON object")
    parser.add_argument("--width", metavar="N", help="columns to draw in (default: the terminal's)")
    parser.add_argument("--max-lines", dest="max_lines", default="32", metavar="N",
                        help="lines per picture at most (default 32: 64 pixel rows)")
    parser.add_argument("--color", default="auto", choices=("auto", "always", "never"),
                        help="half-block colours (always), character shades (never), or colours only "
                        "on a terminal (auto)")
    return parser


class BadInput(Exception):
    """A flag's value is unusable (``key: message``)."""


def _int(key: str, text: str | None, low: int, default: int | None = None) -> int:
    if text is None:
        assert default is not None
        return default
    try:
        value = int(str(text).strip())
    except ValueError:
        raise BadInput(f"{key}: got {text!r}; allowed: an integer >= {low}") from None
    if value < low:
        raise BadInput(f"{key}: got {value}; allowed: an integer >= {low}")
    return value


def run(ns: argparse.Namespace) -> int:
    from rnntui.engine.conv.spec import ConvError, Pool  # no torch: flags are checked before it loads

    try:
        stride = _int("stride", ns.stride, 1)
        padding = _int("padding", ns.padding, 0)
        seed = _int("seed", ns.seed, 0)
        width = _int("width", ns.width, 20, shutil.get_terminal_size((100, 24)).columns)
        max_lines = _int("max-lines", ns.max_lines, 2)
        pool = Pool.parse(ns.pool) if ns.pool is not None else None
        if ns.cnn:
            for flag, given in (("--kernel", ns.kernel), ("--pool", ns.pool),
                                ("--stride", ns.stride != "1"), ("--padding", ns.padding != "0"),
                                ("--activation", ns.activation != "relu")):
                if given:
                    raise BadInput(f"{flag.lstrip('-')}: does not apply with --cnn "
                                   "(the CNN's layers are fixed: see --help)")
        colour = ns.color == "always" or (ns.color == "auto" and sys.stdout.isatty()
                                          and not os.environ.get("NO_COLOR"))
        import torch

        torch.set_num_threads(1)  # small tensors: threads cost more than they give
        from rnntui.engine.conv.inputs import load_image

        image = load_image(ns.image)
        if ns.cnn:
            data, blocks = _cnn(image, seed, width, max_lines, colour)
        else:
            data, blocks = _conv(image, ns.kernel or ["sobel-x"], stride, padding, ns.activation, pool, seed,
                                 width, max_lines, colour)
    except (BadInput, ConvError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        if ns.json:
            print(json.dumps(data))
        else:
            _print(blocks, colour, width)
        sys.stdout.flush()
    except BrokenPipeError:  # `rnntui conv | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def _print(blocks: list[Any], colour: bool, width: int) -> None:
    if not colour:
        sys.stdout.write("\n\n".join(block.plain.rstrip("\n") for block in blocks) + "\n")
        return
    from rich.console import Console

    console = Console(force_terminal=True, color_system="truecolor", width=width, highlight=False,
                      soft_wrap=False)
    for k, block in enumerate(blocks):
        if k:
            console.print()
        console.print(block, end="" if block.plain.endswith("\n") else "\n", crop=True)


def _conv(image: Any, kernel_specs: list[str], stride: int, padding: int, activation: str, pool: Any,
          seed: int, width: int, max_lines: int, colour: bool) -> tuple[dict[str, Any], list[Any]]:
    from rnntui.engine.conv.lab import convolve_image
    from rnntui.render.conv_report import conv_blocks
    from rnntui.render.maps import MapView

    run = convolve_image(image, kernel_specs, stride, padding, activation, pool, seed)
    one = len(run.kernels) == 1  # one kernel: H′ × W′, several: H′ × W′ × n
    maps = run.maps[:, :, 0] if one else run.maps
    data: dict[str, Any] = {
        "image": image.label, "input_shape": list(image.pixels.shape),
        "kernels": [{"name": label, "shape": list(k.shape)} for label, k in run.kernels],
        "stride": stride, "padding": padding, "activation": activation,
        "output_shape": list(maps.shape), "output": maps.tolist(),
    }
    if run.pool is not None and run.pooled is not None:
        pooled = run.pooled[:, :, 0] if one and run.pooled.ndim == 3 else run.pooled
        data.update({"pool": run.pool.describe(), "pooled_shape": list(pooled.shape), "pooled": pooled.tolist()})
    return data, conv_blocks(run, MapView(width, max_lines, colour))


def _cnn(image: Any, seed: int, width: int, max_lines: int, colour: bool) -> tuple[dict[str, Any], list[Any]]:
    from rnntui.engine.conv.cnn import cnn_forward
    from rnntui.render.conv_report import cnn_blocks
    from rnntui.render.maps import MapView

    out = cnn_forward(image.pixels, seed=seed)
    data: dict[str, Any] = {
        "image": image.label, "seed": seed,
        "layers": [{"name": s.name, "description": s.description, "shape": list(s.value.shape)} for s in out.stages],
    }
    data.update({s.name: s.value.tolist() for s in out.stages if s.value.dim() == 1})  # gap, hidden, logits
    data["softmax"] = out.probabilities.tolist()
    return data, cnn_blocks(out, image.label, seed, MapView(width, max_lines, colour))
