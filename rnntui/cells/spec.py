"""What a recurrent cell is, in one torch-free declaration per cell module.

Every module of this package that defines a cell starts with::

    SPEC = CellSpec(name="gru", cls="GRU", title="GRU", gates=(Gate("r", ...), ...), ...)

and its class is declared with ``class GRU(RecurrentBase, spec=SPEC)``.  Config
validation, the form, the flags, Inspect, the probes, the experiment scheduler
and the docs read these specs (through :func:`cell_specs`, which reads them
without importing torch — see :mod:`rnntui.config.declared`).  Adding a cell is
adding one module (and its tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from rnntui.config.declared import declared_specs
from rnntui.config.keys import Key
from rnntui.config.spec_base import SpecBase

INIT_SCHEMES = ("default", "normal", "chrono")
"""Every init scheme :func:`rnntui.cells.registry.init_cell` implements."""


class Gate(NamedTuple):
    """One block of ``weight_ih`` rows (in torch's row order)."""

    name: str
    meaning: str
    unit_interval: bool = True
    """A sigmoid gate with values in [0, 1] (drawn in Inspect's gate heatmaps)."""


@dataclass(frozen=True)
class CellSpec(SpecBase):
    """The facts about one cell.

    ``gates``: the blocks of ``weight_ih``'s rows, in order (``()`` for the Elman
    RNN, whose one block is the hidden pre-activation).  ``state``: the names of
    the recurrent state (``("h",)`` or ``("h", "c")``).  ``builtin``: the name of
    the torch.nn module with the same equations (``None`` when torch has none).
    ``cost``: relative cost of one step per hidden unit² (longest runs start
    first).  ``options``: config keys beyond the common ones that this cell
    reads — a :class:`~rnntui.config.keys.Key` declares one, a name refers to a
    key another cell declares.  ``init_schemes``: the schemes it accepts.
    ``compiled_loop``: its fused kernel also has a compiled time loop
    (:mod:`rnntui.cells.native`).
    """

    KIND = "cell spec"

    name: str
    cls: str
    title: str
    gates: tuple[Gate, ...]
    state: tuple[str, ...]
    builtin: str | None
    cost: float
    options: tuple[Key | str, ...] = ()
    init_schemes: tuple[str, ...] = ("default", "normal")
    multiplicative: bool = False
    compiled_loop: bool = False
    module: str = ""

    def __post_init__(self) -> None:
        self.require("name", "cls", "title", "state")
        if not self.cost > 0:
            raise ValueError(f"cell spec {self.name!r}: cost must be > 0")
        unknown = set(self.init_schemes) - set(INIT_SCHEMES)
        if unknown:
            raise ValueError(f"cell spec {self.name!r}: unknown init schemes {sorted(unknown)}")

    @property
    def gate_count(self) -> int:
        """Rows of ``weight_ih`` per hidden unit."""
        return max(1, len(self.gates))

    @property
    def gate_rows(self) -> str:
        """The row blocks of ``weight_ih`` as Inspect labels them, e.g. ``i|f|g|o``."""
        return "|".join(g.name for g in self.gates)

    @property
    def unit_gates(self) -> tuple[str, ...]:
        """The gates with values in [0, 1]."""
        return tuple(g.name for g in self.gates if g.unit_interval)

    @property
    def state_is_tuple(self) -> bool:
        return len(self.state) > 1

    @property
    def has_builtin(self) -> bool:
        return self.builtin is not None


def cell_specs() -> dict[str, CellSpec]:
    """Every cell of this package by name (torch-free): the plain cells first,
    cheapest first, then the multiplicative ones."""
    specs = declared_specs(Path(__file__).parent, {"CellSpec": CellSpec, "Gate": Gate, "Key": Key}, __package__)
    return {s.name: s for s in sorted(specs, key=lambda s: (s.multiplicative, s.cost, s.name))}


def cell_spec(name: str) -> CellSpec:
    """The spec of cell ``name``; ValueError naming the allowed cells otherwise."""
    specs = cell_specs()
    if name not in specs:
        raise ValueError(f"cell name {name!r} is not known; allowed: {', '.join(specs)}")
    return specs[name]
