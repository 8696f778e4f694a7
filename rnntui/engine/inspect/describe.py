"""Everything ``rnntui inspect`` prints about a model, as plain data.

The command and the TUI's Inspect view both call :func:`describe_model`; it
builds the modules on torch's ``meta`` device (no memory, no random draw).
"""

from __future__ import annotations

from typing import Any

from rnntui.config import Config, ConfigError


def task_sizes(cfg: Config) -> tuple[int, int]:
    """(input_size, output_size) of the config's task (raises ConfigError)."""
    from rnntui.tasks import build_task

    task = build_task(cfg)
    return task.input_size, task.output_size


def describe_model(cfg: Config, input_size: int | None = None, batch: int | None = None,
           seq_len: int | None = None, shapes: bool = True) -> dict[str, Any]:
    """Everything ``rnntui inspect`` prints, as plain data (also the ``--json`` output);
    ``shapes=False`` leaves out the shape table."""
    import torch

    from rnntui.engine.inspect.tables import group_totals, meta_cell, parameter_table, parameter_total, shape_cases

    try:
        task_in, task_out = task_sizes(cfg)
    except ConfigError:
        if input_size is None:
            raise
        task_in, task_out = 0, 0  # a task that cannot be built here: no read-out head
    source = "given" if input_size else "task"
    input_size = input_size or task_in
    batch = batch or cfg.batch_size
    seq_len = seq_len or cfg.seq_len
    _check_fits(cfg, input_size, task_out, batch, seq_len if shapes else 0)
    cell = meta_cell(cfg, input_size)
    rows = parameter_table(cell)
    total = parameter_total(rows)
    features = cell.proj_size if getattr(cell, "proj_size", 0) else cell.hidden_size
    features *= 2 if cfg.bidirectional else 1
    head_rows: list[dict[str, Any]] = []
    if task_out:
        with torch.device("meta"):
            head = torch.nn.Linear(features, task_out)
        head_rows = [{"name": f"head.{n}", "shape": list(p.shape), "count": p.numel()}
                     for n, p in head.named_parameters()]
    head_total = sum(r["count"] for r in head_rows)
    return {
        "cell": cfg.cell,
        "backend": cfg.backend,
        "task": cfg.task,
        "input_size": input_size,
        "input_size_source": source,
        "hidden_size": cfg.hidden_size,
        "num_layers": cfg.num_layers,
        "bidirectional": cfg.bidirectional,
        "proj_size": cfg.proj_size,
        "batch": batch,
        "seq_len": seq_len,
        "parameters": [r.to_json() for r in rows],
        "groups": [{"group": g, "count": n} for g, n in group_totals(rows)],
        "total": total,
        "head": {"output_size": task_out, "parameters": head_rows, "total": head_total},
        "model_total": total + head_total,
        "shapes": [case.to_json() for case in shape_cases(cfg, input_size, batch, seq_len)] if shapes else [],
    }


def _check_fits(cfg: Config, input_size: int, output_size: int, batch: int, seq_len: int) -> None:
    """Refuse (ConfigError naming the key) tables whose model or example batch would
    not fit in memory: the weights are made real (zeros) to run the shape cases,
    and the packed case pads a full ``(B, T, I)`` batch."""
    from rnntui.engine.budget import BYTES, check_fits, parameter_count

    data_key = "input_size" if input_size > batch else "batch"
    parts = {"hidden_size": parameter_count(cfg, input_size, output_size) * BYTES * 2,
             data_key: batch * seq_len * input_size * BYTES * 3}
    check_fits(parts, "this table", {**cfg.to_dict(), "batch": batch, "input_size": input_size})
