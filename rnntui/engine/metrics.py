"""Metric keys: which metric, measured at which sequence length.

Held-out evaluation runs at the training distribution's lengths and, with
``eval_lengths``, at extra lengths ``L``.  A :class:`MetricKey` names one
measured value: ``MetricKey("acc")`` on the training distribution,
``MetricKey("acc", 16)`` at length 16.  At the boundaries -- events, the run
directory (``metrics.jsonl``, ``summary.json``), ``results.csv``/``results.json``
and ``--json`` output -- it is written as the string ``"acc"`` or ``"acc@16"``
(:meth:`MetricKey.__str__`), and metric dictionaries stay keyed by that string;
code that needs the name or the length parses it here, nowhere else.

Pure Python: no torch, no Textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

SEPARATOR = "@"


@dataclass(frozen=True)
class MetricKey:
    """A metric's ``name`` and the evaluation ``length`` (None: the training distribution)."""

    name: str
    length: int | None = None

    @classmethod
    def parse(cls, text: str) -> MetricKey:
        """``"acc"`` -> ``MetricKey("acc")``, ``"acc@16"`` -> ``MetricKey("acc", 16)``.

        Total, so that any key read from a run directory parses: a suffix that is
        not a length >= 1 stays part of the name, and ``str(parse(s)) == s`` always."""
        name, sep, length = text.rpartition(SEPARATOR)
        if sep and name and length.isdigit() and int(length) >= 1 and str(int(length)) == length:
            return cls(name, int(length))
        return cls(text)

    def __str__(self) -> str:
        return self.name if self.length is None else f"{self.name}{SEPARATOR}{self.length}"

    @property
    def at_training_length(self) -> bool:
        """Measured on the training distribution (no ``@L`` suffix)."""
        return self.length is None

    def at(self, length: int | None) -> MetricKey:
        """The same metric at another evaluation length."""
        return MetricKey(self.name, length)


def keys_named(names: Iterable[str], metric: str) -> list[str]:
    """The keys among ``names`` (strings) that measure ``metric``, at any length, in order."""
    return [n for n in names if MetricKey.parse(n).name == metric]


def training_length_names(names: Iterable[str]) -> list[str]:
    """The keys among ``names`` measured on the training distribution, in order."""
    return [n for n in names if MetricKey.parse(n).at_training_length]
