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


MAX_TEXT = 10_000
"""Longest value text a key parses: anything longer is refused before parsing
(a 30,000-character list would otherwise be evaluated, then echoed whole)."""
MAX_ECHO = 60
"""Longest echo of a bad value in a message (then ``…`` and its length)."""
MAX_MESSAGE = 400
"""Longest message a ConfigError carries (its middle is cut beyond that)."""


def printable(text: str) -> str:
    """``text`` with control and other non-printable characters escaped
    (``\\x1b``, ``\\n``...), so a message is one line and cannot drive the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def shorten(text: str, limit: int = MAX_ECHO) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def show(value: Any, limit: int = MAX_ECHO) -> str:
    """A bad value as a message echoes it: its repr, escaped, at most ``limit``
    characters (then ``…`` and the value's length)."""
    if isinstance(value, str):
        if len(value) <= limit:
            return printable(repr(value))
        return f"{printable(repr(value[:limit]))[:limit]}… ({len(value):,} characters)"
    if isinstance(value, int) and value.bit_length() > 4 * limit:
        return f"<an integer of about {int(value.bit_length() * 0.30103):,} digits>"
    try:
        text = repr(value)
    except (RecursionError, ValueError):  # a pathologically nested value
        text = f"<{type(value).__name__}>"
    return shorten(printable(text), limit)


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` as one printable line of at most about ``limit`` characters
    (the middle is cut: the start names the key, the end says what is allowed)."""
    message = printable(str(message).strip())
    if len(message) > limit:
        message = message[:limit // 2] + " … " + message[-limit // 3:]
    return message


class ConfigError(ValueError):
    """A configuration value is invalid.  ``key`` names the offending field.

    The message is made one printable line of at most :data:`MAX_MESSAGE`
    characters, whoever built it."""

    def __init__(self, key: str, message: str) -> None:
        key, message = shorten(printable(str(key)), 80), one_line(message)
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
    of a list (``item_hi`` from above) and ``max_items`` its length.  ``check`` names an extra rule in :data:`CHECKS` for what bounds
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
    max_items: int | None = None
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
            most = f"at most {self.max_items} " if self.max_items is not None else ""
            return f"a list of {most}integers {span}, e.g. [16, 32]"
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
                if len(value) > MAX_TEXT:
                    raise ValueError(value)
                return self._parse_text(value.strip())
            if self.type is float and isinstance(value, int) and not isinstance(value, bool):
                return float(value)
            return value
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError, OverflowError):
            raise ConfigError(self.name, f"got {show(value)}; allowed: {self.kind()}") from None

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
        bad = ConfigError(self.name, f"got {show(value)}; allowed: {self.allowed()}")
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
            if not isinstance(value, list) or (self.max_items is not None and len(value) > self.max_items) \
                    or not all(_is_int(v) and (self.item_lo is None or v >= self.item_lo)
                               and (self.item_hi is None or v <= self.item_hi) for v in value):
                raise bad
        elif not isinstance(value, str) or len(value) > MAX_TEXT:
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
    return value in ("cpu", "cuda", "auto") or (value.startswith("cuda:") and value[5:].isdigit()
                                                 and len(value) <= 12)


PATH_MAX = 4096
NAME_MAX = 255
"""Linux's limits on a path and on one of its names, in bytes."""


PATH_RULE = f"printable, at most {PATH_MAX} bytes, each name at most {NAME_MAX}"


def usable_path(value: Any) -> bool:
    """A path the operating system can take: no NUL or control characters,
    at most PATH_MAX bytes, each name at most NAME_MAX."""
    if not value.isprintable():
        return False
    raw = value.encode("utf-8", "surrogateescape")
    return len(raw) <= PATH_MAX and all(len(part) <= NAME_MAX for part in raw.split(b"/"))


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
    "path": (usable_path, f"a folder path ({PATH_RULE}), or empty for the default"),
}
"""Named extra rules: (predicate, what it allows in words)."""
