"""Names of the registered cells and tasks, importable without torch.

The config validator needs the allowed names before torch is imported (the UI
imports torch lazily).  ``tests/test_registry.py`` checks these tuples against the
live registries, so adding a cell or task means adding its name here too.
"""

CELL_NAMES: tuple[str, ...] = ("rnn", "lstm", "gru", "mlstm", "mgru")
TASK_NAMES: tuple[str, ...] = (
    "adding",
    "binary-addition",
    "copy",
    "copy-memory",
    "digits",
    "echo",
    "recall",
    "xor",
)
