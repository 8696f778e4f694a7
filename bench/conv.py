"""Benchmark: the from-scratch convolution primitives against torch.nn.functional.

Each case is timed as the from-scratch op and its torch reference on the same
inputs, the runs interleaved (warm-up first), the median reported with the ratio
scratch / torch measured in the same run.  Cases: seed 004's first conv layer
(16 filters 3×3 on a 224×224×3 image), its second (32 filters on 111×111×16),
max pooling 2×2 of the 222×222×16 maps, the whole CNN on a 224×224×3 image
(no torch reference: a ms figure), and decoding a 512×512 RGB Paeth PNG.

    python bench/conv.py [--repeats 9] [--threads 1] [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from rnntui.engine.conv import png  # noqa: E402
from rnntui.engine.conv.cnn import cnn_forward  # noqa: E402
from rnntui.engine.conv.ops import convolve, pool2d  # noqa: E402


def cases():
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(224, 224, 3, generator=gen)
    f1, b1 = torch.randn(16, 3, 3, 3, generator=gen), torch.randn(16, generator=gen)
    maps = torch.rand(111, 111, 16, generator=gen)
    f2, b2 = torch.randn(32, 3, 3, 16, generator=gen), torch.randn(32, generator=gen)
    big = torch.rand(222, 222, 16, generator=gen)
    to_chw = lambda v: v.permute(2, 0, 1)[None].contiguous()  # noqa: E731
    x1, w1, x2, w2, xb = to_chw(image), f1.permute(0, 3, 1, 2).contiguous(), to_chw(maps), \
        f2.permute(0, 3, 1, 2).contiguous(), to_chw(big)
    rgb = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    encoded = png.encode(rgb, 4)
    return [
        ("conv1 16×3×3 on 224²×3", lambda: convolve(image, f1, b1, 1, 0, "relu"),
         lambda: F.relu(F.conv2d(x1, w1, b1))),
        ("conv2 32×3×3 on 111²×16", lambda: convolve(maps, f2, b2, 1, 0, "relu"),
         lambda: F.relu(F.conv2d(x2, w2, b2))),
        ("max pool 2×2 on 222²×16", lambda: pool2d(big, "max", 2), lambda: F.max_pool2d(xb, 2)),
        ("seed-004 CNN on 224²×3", lambda: cnn_forward(image, seed=0), None),
        ("PNG decode 512²×3 Paeth", lambda: png.decode(encoded), None),
    ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=9, help="interleaved runs (median)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    todo = cases()
    times: dict[tuple[str, str], list[float]] = {}
    with torch.inference_mode():
        for round_ in range(args.warmup + args.repeats):
            for name, scratch, reference in todo:
                for kind, fn in (("scratch", scratch), ("torch", reference)):
                    if fn is None:
                        continue
                    start = clock()
                    fn()
                    elapsed = clock() - start
                    if round_ >= args.warmup:
                        times.setdefault((name, kind), []).append(elapsed * 1e3)
    print(f"threads {args.threads}, clock {args.clock}, median of {args.repeats} interleaved runs")
    print(f"{'case':<26} {'scratch ms':>11} {'torch ms':>9} {'ratio':>6}")
    for name, _, reference in todo:
        ours = statistics.median(times[(name, "scratch")])
        if reference is None:
            print(f"{name:<26} {ours:>11.2f} {'-':>9} {'-':>6}")
        else:
            ref = statistics.median(times[(name, "torch")])
            print(f"{name:<26} {ours:>11.2f} {ref:>9.2f} {ours / ref:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
