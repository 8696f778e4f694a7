"""Parameter and shape tables of a recurrent model, as seed 002 printed them.

Pure engine code (no Textual): the ``rnntui inspect`` command and the TUI's
Inspect view both call it.

* :func:`parameter_table` — every parameter's name, shape, count and role;
  :func:`parameter_total` is ``sum(p.numel())``.
* :func:`shape_cases` — input, output and state shapes for ``batch_first``
  true and false, bidirectional, an LSTM projection and a padded/packed batch of
  variable lengths.  The modules are built on the ``meta`` device (no random
  draw), given zero weights on the CPU and really run, for 2 time steps (cheap
  at any size); the time axes are then set to T.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from rnntui.cells import build_cell, cell_spec, cell_specs, spec_of, supports_builtin

if TYPE_CHECKING:
    from rnntui.config import Config



# ------------------------------------------------------------------ parameters
@dataclass(frozen=True)
class ParamRow:
    """One parameter: ``layer``/``direction`` are None/"" outside the recurrent layers."""

    name: str
    shape: tuple[int, ...]
    count: int
    layer: int | None = None
    direction: str = ""
    role: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "count": self.count,
                "layer": self.layer, "direction": self.direction, "role": self.role}


def cell_name_of(module: nn.Module) -> str:
    """Registry name of a recurrent module (scratch or torch built-in)."""
    return spec_of(module).name


def find_cell(model: nn.Module) -> nn.Module:
    """The recurrent module of ``model`` (``model.rnn``), or ``model`` itself."""
    rnn = getattr(model, "rnn", None)
    return rnn if isinstance(rnn, nn.Module) else model


_NAME = re.compile(r"^(?:(?P<prefix>.*)\.)?(?P<stem>[a-z]+_[a-z]+)_l(?P<layer>\d+)(?P<rev>_reverse)?$")


def _role(stem: str, cell: str) -> str:
    rows = cell_spec(cell).gate_rows if cell else ""
    gates = f"gates {rows}" if rows else "hidden"
    return {
        "weight_ih": f"input → {gates}",
        "weight_hh": f"hidden → {gates}",
        "bias_ih": f"input-side bias of {gates}",
        "bias_hh": f"hidden-side bias of {gates}",
        "weight_hr": "projection h → h_proj",
        "weight_im": "input → modulation m",
        "weight_hm": "hidden → modulation m",
        "bias_m": "bias of modulation m",
    }.get(stem, "")


def parameter_table(model: nn.Module) -> list[ParamRow]:
    """Every trainable parameter of ``model`` in registration order (torch's)."""
    try:
        cell = cell_name_of(find_cell(model))
    except TypeError:
        cell = ""
    rows = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        m = _NAME.match(name)
        if m:
            rows.append(ParamRow(name, tuple(p.shape), p.numel(), int(m["layer"]),
                                 "reverse" if m["rev"] else "forward", _role(m["stem"], cell)))
        else:
            role = "read-out" if name.startswith("head.") else ""
            rows.append(ParamRow(name, tuple(p.shape), p.numel(), role=role))
    return rows


def parameter_total(rows: list[ParamRow]) -> int:
    return sum(r.count for r in rows)


def group_label(row: ParamRow) -> str:
    """``layer 0``, ``layer 0 reverse`` or the module prefix (``head``)."""
    if row.layer is not None:
        return f"layer {row.layer}" + (" reverse" if row.direction == "reverse" else "")
    return row.name.rsplit(".", 1)[0] if "." in row.name else "other"


def group_totals(rows: list[ParamRow]) -> list[tuple[str, int]]:
    """Parameter count per layer and direction (and per other module), in order."""
    totals: dict[str, int] = {}
    for row in rows:
        label = group_label(row)
        totals[label] = totals.get(label, 0) + row.count
    return list(totals.items())


def meta_cell(cfg: "Config", input_size: int, **changes: Any) -> nn.Module:
    """The config's recurrent module built on the ``meta`` device (shapes only)."""
    kw = dict(backend=cfg.backend, input_size=input_size, hidden_size=cfg.hidden_size,
              num_layers=cfg.num_layers, bidirectional=cfg.bidirectional, dropout=0.0,
              bias=cfg.bias, batch_first=True)
    kw.update({k: getattr(cfg, k) for k in cell_spec(cfg.cell).option_names if k != "forget_bias"})
    kw.update(changes)
    with torch.device("meta"):
        return build_cell(cfg.cell, **kw)


def fill_params(module: nn.Module, state: dict[str, Tensor] | None = None) -> nn.Module:
    """Give a meta-built module real parameters: copies from ``state``, or zeros on
    the CPU.  (Not ``to_empty``: ``empty_like`` on meta imports sympy, ~1 s.)"""
    for name, p in list(module._parameters.items()):
        if p is not None:
            value = state[name].detach().clone() if state is not None else torch.zeros(p.shape)
            setattr(module, name, nn.Parameter(value, requires_grad=p.requires_grad))
    return module


# ---------------------------------------------------------------------- shapes
@dataclass
class ShapeCase:
    """Shapes of one way to call the module.  Rows: (what, shape, symbolic shape)."""

    title: str
    rows: list[tuple[str, tuple[int, ...], str]] = field(default_factory=list)
    note: str = ""
    lengths: list[int] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "title": self.title,
            "rows": [{"name": n, "shape": list(s), "symbolic": f} for n, s, f in self.rows],
            "note": self.note,
        }
        if self.lengths is not None:
            data["lengths"] = list(self.lengths)
        return data


def packed_lengths(batch: int, seq_len: int) -> list[int]:
    """``batch`` lengths spread from ``seq_len`` down to about half of it, descending."""
    low = max(1, (seq_len + 1) // 2)
    if batch == 1:
        return [seq_len]
    return [seq_len - round(k * (seq_len - low) / (batch - 1)) for k in range(batch)]


def _state_rows(cell: nn.Module, h: Tensor, c: Tensor | None) -> list[tuple[str, tuple[int, ...], str]]:
    hsym = "(L*D, B, P)" if getattr(cell, "proj_size", 0) else "(L*D, B, H)"
    rows = [("h_0 and h_n", tuple(h.shape), hsym)]
    if c is not None:
        rows.append(("c_0 and c_n", tuple(c.shape), "(L*D, B, H)"))
    return rows


def _materialise(cell: nn.Module) -> nn.Module:
    """A meta-built module with zero weights on the CPU, to run for the shapes.

    Ops on meta tensors go through Python decompositions (the first use imports
    ``torch._dynamo``, ~2 s, and the scratch cells' time loop costs ~0.5 ms per
    op), so the module runs on the CPU, for ``PROBE_STEPS`` steps: cheap at any
    size.  The time axes are then set to T."""
    for module in cell.modules():
        fill_params(module)
        for p in module.parameters(recurse=False):
            p.requires_grad_(False)
    return cell


PROBE_STEPS = 2


def _run_case(cell: nn.Module, title: str, batch: int, seq_len: int, input_size: int, note: str = "") -> ShapeCase:
    """Run ``cell`` (built on meta) on ``batch`` sequences and record the shapes."""
    D = 2 if cell.bidirectional else 1
    h_out = getattr(cell, "proj_size", 0) or cell.hidden_size
    LD = cell.num_layers * D
    steps = min(seq_len, PROBE_STEPS)
    time_axis = 1 if cell.batch_first else 0
    cell = _materialise(cell)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "LSTM with projections is not supported with oneDNN"
        x = torch.zeros((batch, steps, input_size) if cell.batch_first else (steps, batch, input_size))
        h0 = torch.zeros(LD, batch, h_out)
        tuple_state = isinstance(cell, nn.LSTM) or getattr(cell, "state_is_tuple", False)
        c0 = torch.zeros(LD, batch, cell.hidden_size) if tuple_state else None
        out, state = cell(x, (h0, c0) if c0 is not None else h0)
    h_n, c_n = state if isinstance(state, tuple) else (state, None)
    assert tuple(h_n.shape) == tuple(h0.shape) and out.shape[time_axis] == steps

    def full(t: Tensor) -> tuple[int, ...]:
        shape = list(t.shape)
        shape[time_axis] = seq_len
        return tuple(shape)

    order = "(B, T, {})" if cell.batch_first else "(T, B, {})"
    out_sym = "D*P" if getattr(cell, "proj_size", 0) else "D*H"
    rows = [("input x", full(x), order.format("I"))]
    rows += _state_rows(cell, h_n, c_n)
    rows.append(("output", full(out), order.format(out_sym)))
    return ShapeCase(title, rows, note)


def _packed_case(cell: nn.Module, batch: int, seq_len: int, input_size: int, lengths: list[int]) -> ShapeCase:
    """Shapes through ``pack_padded_sequence``.  The packing is done at full size;
    the module runs on the same batch cut to 2 steps, and its output is checked
    to keep one row per real step, so the full output has ``sum(lengths)`` rows."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    x = torch.zeros(batch, seq_len, input_size)
    packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=True)
    steps = min(seq_len, PROBE_STEPS)
    short = [min(n, steps) for n in lengths]
    small = pack_padded_sequence(x[:, :steps], torch.tensor(short), batch_first=True, enforce_sorted=True)
    cell = _materialise(cell)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, state = cell(small)
    padded, out_lengths = pad_packed_sequence(out, batch_first=True, total_length=steps)
    assert out.data.shape[0] == small.data.shape[0] and out_lengths.tolist() == short
    features = int(out.data.shape[1])
    h_n, c_n = state if isinstance(state, tuple) else (state, None)
    out_sym = "D*P" if getattr(cell, "proj_size", 0) else "D*H"
    rows = [
        ("padded input", tuple(x.shape), "(B, T_max, I)"),
        ("packed.data", tuple(packed.data.shape), "(sum(lengths), I)"),
        ("packed.batch_sizes", tuple(packed.batch_sizes.shape), "(T_max,)"),
        ("output packed.data", (int(packed.data.shape[0]), features), f"(sum(lengths), {out_sym})"),
        ("output padded back", (batch, seq_len, int(padded.shape[2])), f"(B, T_max, {out_sym})"),
    ]
    rows += _state_rows(cell, h_n, c_n)
    name = type(cell).__name__
    return ShapeCase(
        f"variable lengths, packed (torch nn.{name}, backend=builtin)", rows,
        "pack_padded_sequence(x, lengths, batch_first=True); the module skips the padding, so "
        "h_n holds each sequence's state at its own last step; pad_packed_sequence gives "
        "zeros after each length.",
        lengths=list(lengths),
    )


def _padded_case(cell: nn.Module, batch: int, seq_len: int, input_size: int, lengths: list[int]) -> ShapeCase:
    case = _run_case(cell, "variable lengths, padded (from-scratch cell)", batch, seq_len, input_size)
    case.rows[0] = ("padded input", case.rows[0][1], "(B, T_max, I)")
    case.rows[-1] = ("output", case.rows[-1][1], case.rows[-1][2].replace("T", "T_max"))
    case.lengths = list(lengths)
    case.note = (
        "From-scratch cells take no PackedSequence: they run all T_max steps of the padded "
        "batch, so output rows past a sequence's length and h_n include the padding steps. "
        "Read sequence b's result at output[b, len_b - 1] (forward direction). rnntui's tasks "
        "need no padding: every batch holds sequences of one length."
    )
    return case


def shape_cases(cfg: "Config", input_size: int, batch: int, seq_len: int) -> list[ShapeCase]:
    """Input/output/state shapes of the config's cell in every calling convention.

    ``B = batch``, ``T = seq_len``, ``I = input_size``, ``H = hidden_size``,
    ``P = proj_size``, ``L = num_layers``, ``D = 2 if bidirectional else 1``.
    """
    cases = []
    here = "this model" if not cfg.bidirectional else "this model (bidirectional)"
    cell = meta_cell(cfg, input_size, batch_first=True)
    cases.append(_run_case(cell, f"batch_first=True ({here}; rnntui's models run batch-first)",
                           batch, seq_len, input_size,
                           "h_0/h_n/c_n are never batch-first, even with batch_first=True."))
    cell = meta_cell(cfg, input_size, batch_first=False)
    cases.append(_run_case(cell, "batch_first=False (torch's default)", batch, seq_len, input_size))
    flip = not cfg.bidirectional
    cell = meta_cell(cfg, input_size, bidirectional=flip)
    cases.append(_run_case(
        cell, f"bidirectional={flip}", batch, seq_len, input_size,
        "D = 2: output concatenates the forward and backward halves; h_n stacks "
        "[layer0 fwd, layer0 bwd, layer1 fwd, ...]." if flip else
        "D = 1: one direction; output has H features per step."))
    if "proj_size" in cell_spec(cfg.cell).option_names:
        if cfg.proj_size:
            cell = meta_cell(cfg, input_size, proj_size=0)
            cases.append(_run_case(cell, "proj_size=0 (no projection)", batch, seq_len, input_size,
                                   "Without a projection h has H features."))
        elif cfg.hidden_size > 1:
            proj = max(1, cfg.hidden_size // 2)
            cell = meta_cell(cfg, input_size, proj_size=proj)
            cases.append(_run_case(cell, f"proj_size={proj} (LSTM projection)", batch, seq_len, input_size,
                                   "h_t = W_hr (o * tanh(c_t)): h and the output have P features, c keeps H."))
    else:
        users = ", ".join(n for n, s in cell_specs().items() if "proj_size" in s.option_names)
        cases.append(ShapeCase("projection", [], f"proj_size exists only for the {users} cell; "
                                                 f"{cfg.cell}'s h has hidden_size features."))
    lengths = packed_lengths(batch, seq_len)
    if supports_builtin(cfg.cell):
        cell = meta_cell(cfg, input_size, backend="builtin", batch_first=True)
        cases.append(_packed_case(cell, batch, seq_len, input_size, lengths))
    if cfg.backend == "scratch":
        cell = meta_cell(cfg, input_size, batch_first=True)
        cases.append(_padded_case(cell, batch, seq_len, input_size, lengths))
    return cases
