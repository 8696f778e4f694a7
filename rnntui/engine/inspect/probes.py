"""What happens inside a recurrent model over time: gradients per step, gates.

Pure engine code (no Textual): the trainer and the TUI's Inspect view call it.

* :func:`hidden_grad_norms` — ``‖∂L/∂h_t‖`` for every time step ``t`` (seed
  001's open question: can we *see* vanishing/exploding gradients?).
* :func:`gate_traces` — gate activations and hidden state over time, one sample.
* :func:`inspect_probe` / :func:`gate_probe` — trainer probes (called after each
  evaluation in the training thread) that turn the two above into events.

Nothing here changes training: the probes run the model in eval mode and put
its mode back, compute gradients with ``torch.autograd.grad`` (``.grad`` of the
parameters is untouched) and never draw from the global random generator (a
builtin module's from-scratch twin is built on ``meta`` and then filled).
"""

from __future__ import annotations

import copy
import math
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnntui.cells import RecurrentBase, scratch_twin, spec_of
from rnntui.engine.events import GateTrace, HiddenGradients, Log
from rnntui.engine.inspect.tables import cell_name_of, fill_params, find_cell
from rnntui.tasks.base import Batch, Task



class ProbeTarget(Protocol):
    """What a probe reads from the trainer it is attached to (``Trainer.add_probe``)."""

    model: Any
    task: Any
    eval_sets: dict
    device: Any
    run_id: str
    step: int

PROBE_SEQUENCES = 16
"""Held-out sequences the gradient probe uses (the first ones of the first batch)."""
MAX_TRACE_STEPS = 256
MAX_TRACE_UNITS = 64
"""Gate traces in events are block-averaged down to this many steps × units."""



# ---------------------------------------------------------------- over time
def take(batch: Batch, n: int) -> Batch:
    """The first ``n`` sequences of ``batch`` (per-sample ``meta`` entries too)."""
    if batch.size <= n:
        return batch
    size = batch.size

    def cut(value: Any) -> Any:
        if isinstance(value, (Tensor, list, tuple)) and len(value) == size:
            return value[:n]
        return value

    return Batch(batch.x[:n], batch.y[:n], None if batch.mask is None else batch.mask[:n],
                 {k: cut(v) for k, v in batch.meta.items()})


def _traceable(cell: nn.Module) -> RecurrentBase:
    """A from-scratch module that computes what ``cell`` computes, built without
    drawing from torch's global generator (the training thread may be using it):
    the twin is made on ``meta``, then given copies of ``cell``'s weights."""
    if isinstance(cell, RecurrentBase):
        return cell
    twin = scratch_twin(copy.deepcopy(cell).to("meta"))
    fill_params(twin, cell.state_dict())
    twin.train(cell.training)
    return twin


def readout(model: nn.Module, seq: Tensor) -> Tensor:
    """The head of a SequenceModel applied to the cell outputs ``seq`` (B, T, F),
    exactly as ``SequenceModel.forward`` does."""
    if not getattr(model, "per_step", True):
        seq = seq[:, -1]
    return model.head(seq)


class _EvalMode:
    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __enter__(self) -> nn.Module:
        self.was_training = self.model.training
        self.model.eval()
        return self.model

    def __exit__(self, *exc: Any) -> None:
        self.model.train(self.was_training)


def trace_model(model: nn.Module, x: Tensor) -> dict:
    """``trace_cell`` of the model's cell on ``x`` (batch-first), in eval mode."""
    from rnntui.cells import trace_cell

    cell = find_cell(model)
    with _EvalMode(model):
        return trace_cell(_traceable(cell), x)


def grad_profile(model: nn.Module, task: Task, batch: Batch) -> tuple[Tensor, float]:
    """``(norms, loss)``: see :func:`hidden_grad_norms`; ``loss`` is ``L`` itself."""
    with torch.enable_grad():
        tr = trace_model(model, batch.x)
        loss = task.loss(readout(model, tr["output"]), batch)
        grads = torch.autograd.grad(loss, tr["h_steps"], allow_unused=True)
    # float64 norms: vanishing gradients reach 1e-20 and below, whose squares underflow float32
    zero = torch.zeros((), device=batch.x.device, dtype=torch.float64)
    norms = torch.stack([zero if g is None else g.detach().double().norm() for g in grads])
    return norms.cpu(), float(loss.detach())


def hidden_grad_norms(model: nn.Module, task: Task, batch: Batch) -> Tensor:
    """``norms[t] = ‖∂L/∂h_t‖`` (Frobenius over batch and units), shape ``(T,)``.

    ``L = task.loss(model(batch.x), batch)`` in eval mode; ``h_t`` is the top
    layer's forward-direction hidden state (after the projection for an LSTM
    with ``proj_size``).  The derivative is the total one: through the read-out
    at every later step and through ``h_{t+1}, h_{t+2}, ...``.  Parameters'
    ``.grad`` are left untouched.
    """
    return grad_profile(model, task, batch)[0]


def gate_traces(model: nn.Module, batch: Batch, sample: int = 0) -> dict[str, Tensor]:
    """Gates, modulation and hidden state over time for ``batch`` item ``sample``.

    Returns name -> ``(T, units)`` in display order: the cell's gates (``i, f, o``
    for the LSTM family, ``r, z`` for the GRU family; all in [0, 1]), ``m`` for
    mLSTM/mGRU (``(T, I)``, unbounded), then ``h``.
    """
    x = batch.x[sample: sample + 1]
    with torch.no_grad():
        tr = trace_model(model, x)
    names = list(spec_of(find_cell(model)).unit_gates) + (["m"] if "m" in tr else []) + ["h"]
    return {name: tr[name][:, 0].detach().cpu() for name in names}


def _shrink(values: Tensor, steps: int, units: int) -> Tensor:
    T, U = values.shape
    if T <= steps and U <= units:
        return values
    return F.adaptive_avg_pool2d(values[None, None].float(), (min(T, steps), min(U, units)))[0, 0]


# --------------------------------------------------------------------- probes
def probe_batch(trainer: ProbeTarget, n: int = PROBE_SEQUENCES) -> Batch:
    """The first ``n`` sequences of the first held-out batch (fixed for the run)."""
    return take(trainer.eval_sets[None][0], n).to(trainer.device)


def _guard(name: str, trainer: ProbeTarget, exc: Exception) -> Log | None:
    """A probe that fails logs once and then stays quiet; the run goes on."""
    flag = f"_inspect_{name}_failed"
    if getattr(trainer, flag, False):
        return None
    setattr(trainer, flag, True)
    return Log(trainer.run_id, f"inspect: {name} probe failed ({type(exc).__name__}: {exc})", level="warning")


def inspect_probe(trainer: ProbeTarget) -> HiddenGradients | Log | None:
    """Trainer probe: the gradient profile ``‖∂L/∂h_t‖`` on a fixed held-out batch."""
    if trainer.model is None or trainer.task is None:
        return None
    try:
        batch = probe_batch(trainer)
        norms, loss = grad_profile(trainer.model, trainer.task, batch)
    except Exception as exc:  # never let a display probe fail a run
        return _guard("gradient", trainer, exc)
    return HiddenGradients(trainer.run_id, step=trainer.step, norms=[float(v) for v in norms],
                           loss=loss if math.isfinite(loss) else float("nan"), sequences=batch.size)


def gate_trace_event(model: nn.Module, batch: Batch, run_id: str, step: int, sample: int = 0) -> GateTrace:
    """:func:`gate_traces` as an event, block-averaged to at most
    ``MAX_TRACE_STEPS`` × ``MAX_TRACE_UNITS`` per trace."""
    traces = gate_traces(model, batch, sample)
    length = next(iter(traces.values())).shape[0]
    return GateTrace(
        run_id, step=step, cell=cell_name_of(find_cell(model)),
        traces={k: _shrink(v, MAX_TRACE_STEPS, MAX_TRACE_UNITS).tolist() for k, v in traces.items()},
        length=length, units={k: int(v.shape[1]) for k, v in traces.items()},
    )


def gate_probe(trainer: ProbeTarget, sample: int = 0) -> GateTrace | Log | None:
    """Trainer probe: gate traces of held-out sequence ``sample`` (the Inspect
    view adds it while it is open, so headless runs do not pay for it)."""
    if trainer.model is None or trainer.task is None:
        return None
    try:
        batch = probe_batch(trainer)
        return gate_trace_event(trainer.model, batch, trainer.run_id, trainer.step, min(sample, batch.size - 1))
    except Exception as exc:
        return _guard("gate", trainer, exc)


def snapshot(model: nn.Module) -> nn.Module:
    """A copy of a model another thread may be training (no RNG draw)."""
    with torch.no_grad():
        return copy.deepcopy(model)
