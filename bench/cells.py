"""Benchmark: ms per training step for every cell x backend.

One training step = forward + backward + Adam step of a recurrent cell with a
linear readout and a cross-entropy loss on every time step, one-hot inputs.
Runs are interleaved across the configurations (warm-up first) and the
median is reported, with the ratio to the matching torch built-in measured in
the same run (mlstm -> nn.LSTM, mgru -> nn.GRU).

    python bench/cells.py [--batch 32] [--seq-len 100] [--hidden 128]
                          [--input 11] [--repeats 7] [--steps 3] [--threads 1]
                          [--clock wall|cpu] [--cells rnn,lstm,...] [--sizes lab]

``--sizes lab`` runs the lab matrix instead of one size: H in {16, 32, 64,
128, 256} x T in {100, 1000} at the given batch, every cell, and prints one
row of ratios (scratch / torch built-in, same run, interleaved, median) per
size.  Repeats and steps per run shrink with the size so that the whole
matrix stays affordable (T=1000 at H=256 is ~1 s per step); each row prints
the repeats x steps it used.

``--baseline DIR`` also times the scratch cells of another checkout (e.g.
``git worktree add /tmp/before main``), imported beside this tree's and
interleaved in the same rounds, so that before/after ratios share the load
(each row then shows ``this tree / baseline`` ratios to the built-in, and a last
table the time ratio this tree / baseline).

``--loops both`` (the default) also times the cells that have compiled loops
(``compiled_loop`` in their specs) on their Python time loops in the same rounds (the compiled
C++ loops are built first if missing; see :mod:`rnntui.cells.native`): lab
rows then show ``compiled / Python`` ratios; ``--loops compiled`` or
``--loops python`` time one path.

``--clock cpu`` measures the CPU time of the benchmarking thread instead of
wall time: on a busy machine it is not inflated by time spent waiting for a
core (use it with ``--threads 1``, where all the work runs on that thread).
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from rnntui.cells import build_cell, native, supports_builtin  # noqa: E402

REFERENCE = {"rnn": "rnn", "lstm": "lstm", "gru": "gru", "mlstm": "lstm", "mgru": "gru"}


class Model(nn.Module):
    def __init__(self, cell: nn.Module, hidden: int, n_out: int) -> None:
        super().__init__()
        self.cell = cell
        self.readout = nn.Linear(hidden, n_out)

    def forward(self, x):
        out, _ = self.cell(x)
        return self.readout(out)


def load_baseline(path: str):
    """``build_cell`` of the rnntui package under ``path`` (another checkout),
    imported beside this tree's: its modules are swapped out of
    ``sys.modules`` again once imported, so both sets live side by side."""
    root = os.path.realpath(path)

    def ours():
        return {k: v for k, v in sys.modules.items() if k == "rnntui" or k.startswith("rnntui.")}

    for name in REFERENCE:          # this tree's lazily imported modules, imported now
        build_cell(name, input_size=2, hidden_size=2)
    saved = ours()
    for k in saved:
        del sys.modules[k]
    sys.path.insert(0, root)
    try:
        cells = importlib.import_module("rnntui.cells")
        if not os.path.realpath(cells.__file__).startswith(root + os.sep):
            raise ValueError(f"--baseline: {path} holds no rnntui package (allowed: a checkout "
                             f"of this project)")
        for name in REFERENCE:      # modules the registry imports lazily: import them now
            cells.build_cell(name, input_size=2, hidden_size=2)
        theirs = ours()
    finally:
        sys.path.remove(root)
        for k in ours():
            del sys.modules[k]
        sys.modules.update(saved)

    def build(*args, **kwargs):
        """The baseline's build_cell, run with the baseline's modules in
        ``sys.modules`` (its registry resolves cell classes by import)."""
        mine = ours()
        sys.modules.update(theirs)
        try:
            return cells.build_cell(*args, **kwargs)
        finally:
            for k in ours():
                del sys.modules[k]
            sys.modules.update(mine)

    return build


def make_step(name: str, backend: str, args):
    torch.manual_seed(0)
    build = build_cell
    python_loops = backend == "python"
    if backend == "baseline":
        build, backend = args.baseline_build, "scratch"
    elif python_loops:
        backend = "scratch"
    cell = build(name, backend=backend, input_size=args.input, hidden_size=args.hidden,
                 batch_first=True)
    model = Model(cell, args.hidden, args.input)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)
    idx = torch.randint(0, args.input, (args.batch, args.seq_len), generator=gen)
    x = torch.nn.functional.one_hot(idx, args.input).float()
    y = torch.roll(idx, 1, dims=1)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = loss_fn(logits.reshape(-1, args.input), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    def python_step():
        with native.python_loops():
            return step()

    return python_step if python_loops else step


def measure(args, cells):
    """Median ms per step for every (cell, backend) config, interleaved runs."""
    configs = []
    for name in cells:
        configs.append((name, "scratch"))
        if args.both_paths and native.has_loop(name) and getattr(args, "baseline_build", None) is None:
            configs.append((name, "python"))
        if getattr(args, "baseline_build", None) is not None:
            configs.append((name, "baseline"))
        if supports_builtin(name):
            configs.append((name, "builtin"))
        ref = (REFERENCE[name], "builtin")
        if ref not in configs:
            configs.append(ref)
    steps = {c: make_step(*c, args) for c in configs}
    for c in configs:
        for _ in range(args.warmup):
            steps[c]()
    clock = time.perf_counter if args.clock == "wall" else time.thread_time
    times: dict = {c: [] for c in configs}
    for _ in range(args.repeats):
        for c in configs:
            t0 = clock()
            for _ in range(args.steps):
                steps[c]()
            times[c].append((clock() - t0) / args.steps * 1e3)
    return configs, times


#: (T, H) -> (repeats, steps, warmup) for ``--sizes lab``: ~equal time per row
LAB_T = (100, 1000)
LAB_H = (16, 32, 64, 128, 256)


def lab_budget(T: int, H: int) -> tuple[int, int, int]:
    if T <= 100:
        return (7, 3, 2) if H <= 64 else (5, 2, 1) if H <= 128 else (5, 1, 1)
    return (5, 1, 1) if H <= 64 else (3, 1, 1)


def lab_matrix(args, cells) -> None:
    base = getattr(args, "baseline_build", None) is not None
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, B={args.batch}, "
          f"I={args.input}; ratio = scratch / torch built-in ms per training step "
          f"(fwd+bwd+Adam), {args.clock} clock, median of interleaved runs")
    if base:
        print(f"each cell: this tree / baseline {args.baseline} (both measured in the same rounds)")
    elif args.both_paths:
        print(f"{', '.join(c for c in cells if native.has_loop(c))}: compiled loop / Python loop "
              f"(same rounds)")
    refname = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
    w = 16 if base or args.both_paths else 14
    head = "".join(f"{c + '/nn.' + refname[REFERENCE[c]]:>{w}}" for c in cells)
    print(f"{'T':>5}{'H':>5}{head}   {'nn ms/step (RNN LSTM GRU)':<28} reps x steps")
    speedup = []
    for T in LAB_T:
        for H in LAB_H:
            reps, nsteps, warm = lab_budget(T, H)
            a = argparse.Namespace(**{**vars(args), "seq_len": T, "hidden": H, "repeats": reps,
                                      "steps": nsteps, "warmup": warm})
            configs, times = measure(a, cells)
            med = {c: statistics.median(v) for c, v in times.items()}
            row = ""
            for c in cells:
                ref = med[(REFERENCE[c], "builtin")]
                cell = f"{med[(c, 'scratch')] / ref:.2f}x"
                if base:
                    cell += f"/{med[(c, 'baseline')] / ref:.2f}x"
                elif (c, "python") in med:
                    cell += f"/{med[(c, 'python')] / ref:.2f}x"
                row += f"{cell:>{w}}"
            if base:
                speedup.append((T, H, [med[(c, "scratch")] / med[(c, "baseline")] for c in cells]))
            nn_ms = " ".join(f"{med[(r, 'builtin')]:.1f}" if (r, "builtin") in med else "-"
                             for r in ("rnn", "lstm", "gru"))
            print(f"{T:>5}{H:>5}{row}   {nn_ms:<28} {reps} x {nsteps}", flush=True)
    if base:
        print("time ratio this tree / baseline (ms per training step, same rounds; < 1 = faster)")
        print(f"{'T':>5}{'H':>5}" + "".join(f"{c:>9}" for c in cells))
        for T, H, r in speedup:
            print(f"{T:>5}{H:>5}" + "".join(f"{x:>8.2f}x" for x in r))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--input", type=int, default=11)
    ap.add_argument("--repeats", type=int, default=7, help="interleaved runs (median)")
    ap.add_argument("--steps", type=int, default=3, help="training steps per run")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cells", default="rnn,lstm,gru,mlstm,mgru")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    ap.add_argument("--sizes", choices=("one", "lab"), default="one",
                    help="one: the size given by --seq-len/--hidden; lab: the H x T matrix")
    ap.add_argument("--baseline", metavar="DIR", default=None,
                    help="also time the scratch cells of the checkout in DIR (same rounds)")
    ap.add_argument("--loops", choices=("both", "compiled", "python"), default="both",
                    help="time loops of the cells with compiled ones: both (compiled and Python, same rounds; "
                         "builds the C++ loop if needed), compiled, or python")
    args = ap.parse_args(argv)
    try:
        args.baseline_build = load_baseline(args.baseline) if args.baseline else None
    except (ValueError, ImportError) as e:
        ap.error(str(e) if isinstance(e, ValueError) else f"--baseline: {e}")
    if args.repeats < 1 or args.steps < 1:
        ap.error("--repeats and --steps must be >= 1")
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    bad = [c for c in cells if c not in REFERENCE]
    if bad:
        ap.error(f"--cells: unknown {', '.join(bad)} (allowed: {', '.join(REFERENCE)})")
    torch.set_num_threads(args.threads)
    line = native.prepare(background=False) if args.loops != "python" else "time loop: Python (--loops python)"
    print(line)
    if args.loops == "python":
        native._python_only += 1
    args.both_paths = args.loops == "both" and native.loops() is not None
    if args.loops == "compiled" and native.loops() is None:
        ap.error(f"--loops compiled: {line}")
    if args.sizes == "lab":
        lab_matrix(args, cells)
        return 0

    configs, times = measure(args, cells)
    med = {c: statistics.median(v) for c, v in times.items()}

    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, B={args.batch}, "
          f"T={args.seq_len}, I={args.input}, H={args.hidden}; ms per training step "
          f"(fwd+bwd+Adam), {args.clock} clock, median of {args.repeats} interleaved runs x "
          f"{args.steps} steps")
    print(f"{'cell':<7}{'backend':<9}{'ms/step':>9}{'min':>9}{'max':>9}  ratio")
    for c in configs:
        name, backend = c
        ref = (REFERENCE[name], "builtin")
        ratio = med[c] / med[ref] if ref in med else float("nan")
        vs = f"{ratio:5.2f}x nn.{ {'rnn': 'RNN', 'lstm': 'LSTM', 'gru': 'GRU'}[ref[0]] }"
        print(f"{name:<7}{backend:<9}{med[c]:9.2f}{min(times[c]):9.2f}{max(times[c]):9.2f}  {vs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
