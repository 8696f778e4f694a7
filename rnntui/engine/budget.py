"""Will it fit?  The memory a run or an Inspect table needs, estimated before it starts.

Every size key is bounded on its own, but together they can still ask for
more than any machine has (``hidden_size = 8192`` with ``num_layers = 16`` is
8.6 billion weights; ``batch_size = 65536`` at ``seq_len = 100000``).  Such a
run would die in the allocator half-way through its set-up, or swap the
machine to a halt; instead :func:`check_memory` refuses it up front with a
ConfigError naming the key that contributes most.

The estimate counts float32 values (4 bytes each):

* **weights**: the parameters, counted exactly by building the cell on torch's
  ``meta`` device (no memory), plus the read-out head; times 2 for the
  gradients, plus Adam's two moments or SGD's momentum buffer;
* **activations** kept for backpropagation through time: for every sequence,
  step, layer and direction, the gate pre-activations, the cell state and the
  output — ``B·T·L·D·H·(G + 3)`` values, doubled for the temporaries of the
  from-scratch cells — plus the input and target batch;
* **held-out data**: ``eval_size`` sequences per evaluation length (inputs and
  targets), and one evaluation chunk's activations without gradients.

It errs low (what torch and Python add is not counted), so a refused run
would certainly not have fitted.
"""

from __future__ import annotations

import os
from typing import Any

from rnntui.config import Config, ConfigError

BYTES = 4
EVAL_CHUNK = 500  # sequences per evaluation forward pass (tasks.base chunks held-out sets so)


def available_memory() -> int | None:
    """Bytes of memory free for a new allocation (MemAvailable), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def parameter_count(cfg: Config, input_size: int, output_size: int) -> int:
    """Weights of the cell (built on the meta device) and of the read-out head."""
    from rnntui.engine.inspect.tables import meta_cell

    try:
        cell = meta_cell(cfg, input_size)
    except ValueError as exc:
        raise ConfigError(cfg.cell, str(exc).splitlines()[0]) from None
    features = (cfg.proj_size or cfg.hidden_size) * (2 if cfg.bidirectional else 1)
    return sum(p.numel() for p in cell.parameters()) + features * output_size + output_size


def _fmt(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # pragma: no cover


def _train_length(cfg: Config, task: Any) -> int:
    if task.finite:  # a dataset's sequence length is its own (digit rows), not seq_len
        import torch

        return task.make_batch(1, cfg.seq_len, torch.Generator().manual_seed(0)).length
    return cfg.seq_len


def training_bytes(cfg: Config, task: Any) -> dict[str, int]:
    """Estimated bytes of a training run, by the key that drives each part."""
    from rnntui.cells.spec import cell_spec

    spec = cell_spec(cfg.cell)
    I, O = task.input_size, task.output_size  # noqa: E741
    H, L, D = cfg.hidden_size, cfg.num_layers, 2 if cfg.bidirectional else 1
    G = spec.gate_count + (1 if spec.multiplicative else 0)
    T = _train_length(cfg, task)
    P = parameter_count(cfg, I, O)
    copies = 4 if cfg.optimizer == "adam" else (3 if cfg.momentum else 2)
    per_step = L * D * H * (G + 3) * 2 + I + (O if task.per_step else 0)
    parts = {
        "hidden_size": P * copies * BYTES,
        "batch_size": cfg.batch_size * T * per_step * BYTES,
    }
    if not task.finite:
        lengths = [T] + [n for n in cfg.eval_lengths if n != T]
        data = sum(cfg.eval_size * n * (I + (O if task.per_step else 1)) for n in lengths) * BYTES
        chunk = min(cfg.eval_size, EVAL_CHUNK) * max(lengths) * L * D * H * (G + 3) * BYTES
        key = "eval_lengths" if cfg.eval_lengths and max(cfg.eval_lengths) > T else "eval_size"
        parts[key] = data + chunk
    return parts


def check_fits(parts: dict[str, int], what: str, values: dict[str, Any], free: int | None = None) -> None:
    """ConfigError naming the largest part's key when the parts add up to more
    than the memory free here (``free``: bytes, default :func:`available_memory`)."""
    free = available_memory() if free is None else free
    total = sum(parts.values())
    if free is None or total <= free:
        return
    key = max(parts, key=lambda k: parts[k])
    raise ConfigError(key, f"got {values.get(key)!r}: {what} would need about {_fmt(total)} of memory "
                           f"({_fmt(parts[key])} of it from {key}), more than the {_fmt(free)} free here; "
                           f"allowed: a smaller {key} (or fewer/smaller layers, batch, lengths)")


def device_memory(device: Any) -> int | None:
    """Bytes free on ``device``: the GPU's own memory for a CUDA device, else the host's."""
    if getattr(device, "type", "cpu") == "cuda":
        import torch

        try:
            return int(torch.cuda.mem_get_info(device)[0])
        except (RuntimeError, AssertionError):
            return None
    return available_memory()


def check_memory(cfg: Config, task: Any, free: int | None = None, device: Any = None) -> None:
    """Refuse (ConfigError) a run of ``cfg`` on ``task`` that cannot fit in the
    memory of ``device`` (free: bytes, default: what the device has free now)."""
    check_fits(training_bytes(cfg, task), "this run", cfg.to_dict(), device_memory(device) if free is None else free)
