"""The Textual UI of rnntui.  ``create_app``/``run_app`` live in :mod:`rnntui.app.app`.

Nothing here imports torch: the engine is loaded in a worker thread after the
first frame.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "run_app"]


def __getattr__(name: str) -> Any:  # lazy, so `import rnntui.app.worker` stays light
    if name in __all__:
        from rnntui.app import app

        return getattr(app, name)
    raise AttributeError(name)
