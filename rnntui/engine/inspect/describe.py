"""What ``rnntui inspect`` prints and the TUI's Inspect view shows, as plain data.

Both call :func:`describe`.  The tables -- every parameter's name, shape, count
and role, with the read-out head, and the input/output/state shapes of each
calling convention -- come from the modules built on torch's ``meta`` device (no
memory, no random draw).  With ``sample``, :func:`describe` also looks inside a
model with weights: a run's (a :class:`~rnntui.engine.inspect.snapshot.RunModel`)
or, when there is none, the untrained model the settings would start with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from rnntui.config import Config, ConfigError

if TYPE_CHECKING:
    from torch import nn

    from rnntui.engine.events import GateTrace
    from rnntui.engine.inspect.snapshot import RunModel
    from rnntui.engine.inspect.tables import ParamRow, ShapeCase
    from rnntui.tasks.base import Task


@dataclass
class ModelDescription:
    """The tables of one model, and what was seen inside it.

    ``rows`` are the recurrent module's parameters (names as torch gives them:
    ``weight_ih_l0`` ...), ``head`` the read-out's (``head.weight``,
    ``head.bias``; none when the task could not be built).  ``source`` is
    ``"run"`` when ``gates`` come from a run's model at ``step``, else
    ``"settings"``; ``grad_profile`` is the untrained model's
    ``‖∂L/∂h_t‖`` per time step (None for a run: its profiles are events)."""

    cfg: Config
    input_size: int
    input_size_source: str  # "task" or "given"
    output_size: int
    batch: int
    seq_len: int
    rows: list["ParamRow"]
    head: list["ParamRow"]
    shapes: list["ShapeCase"] = field(default_factory=list)
    source: str = "settings"
    run_id: str = ""
    step: int = 0
    gates: "GateTrace | None" = None
    grad_profile: list[float] | None = None

    @property
    def total(self) -> int:
        """Parameters of the recurrent module."""
        return sum(r.count for r in self.rows)

    @property
    def model_total(self) -> int:
        """Parameters of the whole model: the recurrent module and the head."""
        return self.total + sum(r.count for r in self.head)

    @property
    def params(self) -> list["ParamRow"]:
        """Every parameter of the model, the head's last."""
        return self.rows + self.head

    @property
    def groups(self) -> list[tuple[str, int]]:
        """Parameter count per layer and direction, then the head's."""
        from rnntui.engine.inspect.tables import group_totals

        return group_totals(self.params)

    @property
    def summary(self) -> str:
        cfg = self.cfg
        proj = f" P={cfg.proj_size}" if cfg.proj_size else ""
        bi = " bidirectional" if cfg.bidirectional else ""
        return (f"{cfg.cell} ({cfg.backend}) I={self.input_size} H={cfg.hidden_size}{proj} "
                f"L={cfg.num_layers}{bi} · {cfg.task} · {self.model_total} parameters")

    @property
    def shape_header(self) -> str:
        cfg = self.cfg
        return (f"B = {self.batch} (batch_size), T = {self.seq_len} (seq_len), I = {self.input_size}, "
                f"H = {cfg.hidden_size}, L = {cfg.num_layers}, D = 2 if bidirectional else 1"
                + (f", P = {cfg.proj_size}" if cfg.proj_size else ""))

    def to_json(self) -> dict[str, Any]:
        """``rnntui inspect --json``: the tables."""
        from rnntui.engine.inspect.tables import group_totals

        cfg = self.cfg
        return {
            "cell": cfg.cell,
            "backend": cfg.backend,
            "task": cfg.task,
            "input_size": self.input_size,
            "input_size_source": self.input_size_source,
            "hidden_size": cfg.hidden_size,
            "num_layers": cfg.num_layers,
            "bidirectional": cfg.bidirectional,
            "proj_size": cfg.proj_size,
            "batch": self.batch,
            "seq_len": self.seq_len,
            "parameters": [r.to_json() for r in self.rows],
            "groups": [{"group": g, "count": n} for g, n in group_totals(self.rows)],
            "total": self.total,
            "head": {"output_size": self.output_size,
                     "parameters": [{"name": r.name, "shape": list(r.shape), "count": r.count} for r in self.head],
                     "total": self.model_total - self.total},
            "model_total": self.model_total,
            "shapes": [case.to_json() for case in self.shapes],
        }


def task_sizes(cfg: Config) -> tuple[int, int]:
    """(input_size, output_size) of the config's task (raises ConfigError)."""
    from rnntui.tasks import build_task

    task = build_task(cfg)
    return task.input_size, task.output_size


def describe(cfg: Config, input_size: int | None = None, batch: int | None = None, seq_len: int | None = None,
             *, shapes: bool = True, sample: int | None = None, run: "RunModel | None" = None,
             run_started: Callable[[], bool] = lambda: False) -> ModelDescription:
    """The tables of ``cfg``'s model (B = ``batch`` or ``batch_size``, T = ``seq_len``
    or the config's, I = ``input_size`` or the task's); ``shapes=False`` leaves out the
    shape table.

    With ``sample``, also the gate traces of held-out sequence ``sample``:

    * of ``run``'s model when given (``cfg`` should be ``run.cfg``);
    * else of the untrained model the settings would start with, plus its gradient
      profile.  It is built exactly as a run builds it -- seeded with ``cfg.seed``
      under the engine's ``BUILD_LOCK``, with torch's global generator forked so it
      is left as it was.  ``run_started()`` true means a run has got past building
      its model and trains on that generator now: forking it could rewind the run's
      draws, so this raises RuntimeError instead.
    """
    task: "Task | None" = run.task if run is not None else None
    model: "nn.Module | None" = run.model if run is not None else None
    if sample is not None and run is None:
        task, model = _untrained(cfg, run_started)
    if task is not None:
        task_in, task_out = task.input_size, task.output_size
    else:
        try:
            task_in, task_out = task_sizes(cfg)
        except ConfigError:
            if input_size is None:
                raise
            task_in, task_out = 0, 0  # a task that cannot be built here: no read-out head
    desc = _tables(cfg, input_size, task_in, task_out, batch or cfg.batch_size, seq_len or cfg.seq_len, shapes)
    if sample is not None and task is not None and model is not None:
        _look_inside(desc, cfg, task, model, sample, run)
    return desc


def _tables(cfg: Config, input_size: int | None, task_in: int, task_out: int, batch: int, seq_len: int,
            shapes: bool) -> ModelDescription:
    import torch

    from rnntui.engine.inspect.tables import ParamRow, meta_cell, parameter_table, shape_cases

    source = "given" if input_size else "task"
    input_size = input_size or task_in
    _check_fits(cfg, input_size, task_out, batch, seq_len if shapes else 0)
    cell = meta_cell(cfg, input_size)
    head: list[ParamRow] = []
    if task_out:
        features = (getattr(cell, "proj_size", 0) or cell.hidden_size) * (2 if cfg.bidirectional else 1)
        with torch.device("meta"):
            linear = torch.nn.Linear(features, task_out)
        head = [ParamRow(f"head.{n}", tuple(p.shape), p.numel(), role="read-out")
                for n, p in linear.named_parameters()]
    cases = shape_cases(cfg, input_size, batch, seq_len) if shapes else []
    return ModelDescription(cfg, input_size, source, task_out, batch, seq_len, parameter_table(cell), head, cases)


def _untrained(cfg: Config, run_started: Callable[[], bool]) -> tuple["Task", "nn.Module"]:
    """The task and the model a run of ``cfg`` starts with (see :func:`describe`)."""
    import torch

    from rnntui.engine.model import BUILD_LOCK, build_model
    from rnntui.tasks import build_task

    with BUILD_LOCK:  # a starting run seeds and builds under it too: neither disturbs the other
        if run_started():
            raise RuntimeError("a run has just started; r reloads")
        with torch.random.fork_rng(devices=[]):  # the global generator is restored on the way out
            torch.manual_seed(cfg.seed)
            task = build_task(cfg)
            model = build_model(cfg, task)
    return task, model


def _look_inside(desc: ModelDescription, cfg: Config, task: "Task", model: "nn.Module", sample: int,
                 run: "RunModel | None") -> None:
    """Gate traces of one held-out sequence (and the untrained model's gradient profile)."""
    import torch

    from rnntui.engine.inspect.probes import PROBE_SEQUENCES, gate_trace_event, hidden_grad_norms, take
    from rnntui.engine.trainer import EVAL_SEED_OFFSET

    if run is not None:
        batch = run.batch
        desc.source, desc.run_id, desc.step = "run", run.run_id, run.step
    else:  # the held-out data a run of cfg would draw
        sets = task.eval_sets(torch.Generator().manual_seed(cfg.seed + EVAL_SEED_OFFSET))
        batch = take(sets[None][0], PROBE_SEQUENCES)
        desc.grad_profile = [float(v) for v in hidden_grad_norms(model, task, batch)]
    desc.gates = gate_trace_event(model, batch, desc.run_id, desc.step, min(sample, batch.size - 1))


def _check_fits(cfg: Config, input_size: int, output_size: int, batch: int, seq_len: int) -> None:
    """Refuse (ConfigError naming the key) tables whose model or example batch would
    not fit in memory: the weights are made real (zeros) to run the shape cases,
    and the packed case pads a full ``(B, T, I)`` batch."""
    from rnntui.engine.budget import BYTES, check_fits, parameter_count

    data_key = "input_size" if input_size > batch else "batch"
    parts = {"hidden_size": parameter_count(cfg, input_size, output_size) * BYTES * 2,
             data_key: batch * seq_len * input_size * BYTES * 3}
    check_fits(parts, "this table", {**cfg.to_dict(), "batch": batch, "input_size": input_size})
