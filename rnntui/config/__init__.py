"""Configuration: the schema of every run setting, presets, and what a command asks for.

Imports neither torch nor textual.
"""

from rnntui.config.schema import (
    Config,
    ConfigError,
    build_config,
    coerce,
    diff,
    field_names,
    field_type,
    to_toml,
)

__all__ = ["Config", "ConfigError", "build_config", "coerce", "diff", "field_names", "field_type", "to_toml"]
