"""A config key: declared once, read by validation, the flags, the form and the docs.

A :class:`Key` says everything about one setting: its type and default, what it
allows (choices or bounds), one line of help, its form label and section.  The
common keys are declared in :mod:`rnntui.config.schema`; a task declares its own
options in its spec (:mod:`rnntui.tasks.spec`).  Imports neither torch nor textual.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any, Callable

SECTIONS = ("run", "model", "training", "task", "evaluation", "advanced")
"""Form sections, in order: ``task`` holds the current task's own options."""


class ConfigError(ValueError):
    """A configuration value is invalid.  ``key`` names the offending field."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class Key:
    """One setting.

    ``type`` is ``int``, ``float``, ``bool``, ``str`` or ``list`` (a list of
    integers); ``optional`` also allows ``None`` (written ``none``).  A value is
    valid when it has the type and lies in ``choices`` or between ``lo`` and
    ``hi`` (open ends with ``lo_open``/``hi_open``); ``item_lo`` bounds the items
    of a list.  ``check`` names an extra rule in :data:`CHECKS` for what bounds
    cannot say.  ``section`` places the key in the form (``advanced`` keys are
    edited there too, folded away).
    """

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    item_lo: int | None = None
    item_hi: int | None = None
    optional: bool = False
    check: str = ""
    label: str = ""
    section: str = "advanced"

    # ------------------------------------------------------------ presentation
    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def form_label(self) -> str:
        return self.label or self.name.replace("_", " ")

    def allowed(self) -> str:
        """What the key allows, in words (the tail of every error message)."""
        if self.choices:
            return ", ".join(self.choices)
        if self.check in CHECKS:
            return CHECKS[self.check][1]
        if self.type is bool:
            return "true or false"
        if self.type is str:
            return "a string"
        if self.type is list:
            lo = self.item_lo if self.item_lo is not None else "any"
            span = f">= {lo}" if self.item_hi is None else f"from {lo} to {self.item_hi}"
            return f"a list of integers {span}, e.g. [16, 32]"
        kind = "an integer" if self.type is int else "a number"
        if self.type is float and (self.lo is not None or self.hi is not None):
            left, right = ("(" if self.lo_open else "["), (")" if self.hi_open else "]")
            lo = self.lo if self.lo is not None else "-inf"
            hi = self.hi if self.hi is not None else "inf"
            span = f" in {left}{lo}, {hi}{right}"
        elif self.lo is not None and self.hi is not None:
            span = f" from {_num(self.lo)} to {_num(self.hi)}"
        elif self.lo is not None:
            span = f" >= {_num(self.lo)}"
        else:
            span = ""
        return kind + span + (" or none" if self.optional else "")

    # ------------------------------------------------------------- conversion
    def parse(self, value: Any) -> Any:
        """``value`` from TOML, a flag string or a form field -> this key's type
        (not yet range-checked).  Raises ConfigError naming the key."""
        try:
            if isinstance(value, str):
                return self._parse_text(value.strip())
            if self.type is float and isinstance(value, int) and not isinstance(value, bool):
                return float(value)
            return value
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise ConfigError(self.name, f"got {value!r}; allowed: {self.kind()}") from None

    def kind(self) -> str:
        """The type in words (what a value that does not even parse is told)."""
        text = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
                list: "a list of integers such as [16,32] or 16,32"}[self.type]
        return text + (" or none" if self.optional else "")

    def _parse_text(self, text: str) -> Any:
        if self.optional and text.lower() in ("", "none", "null"):
            return None
        if self.type is bool:
            low = text.lower()
            if low in ("true", "yes", "on", "1"):
                return True
            if low in ("false", "no", "off", "0"):
                return False
            raise ValueError(text)
        if self.type is int:
            return int(text)
        if self.type is float:
            return float(text)
        if self.type is list:
            if text in ("", "[]"):
                return []
            parsed = ast.literal_eval(text if text.startswith("[") else f"[{text}]")
            if not isinstance(parsed, list) or not all(_is_int(v) for v in parsed):
                raise ValueError(text)
            return parsed
        return text

    def validate(self, value: Any) -> None:
        """Raise ConfigError unless ``value`` (already parsed) is allowed."""
        bad = ConfigError(self.name, f"got {value!r}; allowed: {self.allowed()}")
        if value is None:
            if not self.optional:
                raise bad
            return
        if self.type is bool:
            if not isinstance(value, bool):
                raise bad
        elif self.type is int:
            if not _is_int(value) or not self._in_range(value):
                raise bad
        elif self.type is float:
            if not _is_number(value) or not math.isfinite(value) or not self._in_range(value):
                raise bad
        elif self.type is list:
            if not isinstance(value, list) or not all(
                _is_int(v) and (self.item_lo is None or v >= self.item_lo)
                and (self.item_hi is None or v <= self.item_hi) for v in value
            ):
                raise bad
        elif not isinstance(value, str):
            raise bad
        if self.choices and value not in self.choices:
            raise bad
        if self.check:
            rule, _ = CHECKS[self.check]
            if not rule(value):
                raise bad

    def _in_range(self, value: float) -> bool:
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        if self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi):
            return False
        return True


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _device(value: Any) -> bool:
    return value in ("cpu", "cuda", "auto") or (value.startswith("cuda:") and value[5:].isdigit())


def _ray_address(value: Any) -> bool:
    if value in ("", "auto"):
        return True
    host, sep, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):  # [::1]:6379
        host = host[1:-1]
    return bool(sep and host and port.isdigit() and 0 < int(port) < 65536
                and not any(c.isspace() or c in "/@" for c in host))


CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "device": (_device, "cpu, cuda, cuda:N, auto"),
    "ray_address": (_ray_address, "empty (start a local Ray), auto, or HOST:PORT such as 127.0.0.1:6379"),
}
"""Named extra rules: (predicate, what it allows in words)."""
