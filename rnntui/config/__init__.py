"""Configuration: every run setting declared once (``schema``, ``keys``), presets,
and what a command asks for (``request``).  Imports neither torch nor textual.

The common names are re-exported here lazily, so that the cell and task specs
(which declare their own keys with :class:`~rnntui.config.keys.Key`) can import
``rnntui.config.keys`` while the schema is being built from them.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Config", "ConfigError", "KEYS", "build_config", "coerce", "diff", "field_names", "field_type", "key",
           "to_toml"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("rnntui.config.schema"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
