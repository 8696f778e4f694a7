"""What cell and task specs have in common: a name, the options they accept
(config key names, or whole :class:`~rnntui.config.keys.Key` declarations of
keys only they use) and the module that declares them.  No torch."""

from __future__ import annotations

import dataclasses

from rnntui.config.keys import Key


class SpecBase:
    """Mixin for the frozen spec dataclasses (:class:`~rnntui.cells.spec.CellSpec`,
    :class:`~rnntui.tasks.spec.TaskSpec`), which define ``name``, ``options`` and
    ``module``."""

    KIND = "spec"
    """How error messages name the spec ("cell spec", "task spec")."""

    def require(self, *fields: str) -> None:
        """ValueError naming the first of ``fields`` that is empty."""
        for field in fields:
            if not getattr(self, field):
                raise ValueError(f"{self.KIND} {self.name!r}: {field} is empty")  # type: ignore[attr-defined]

    def with_module(self, module: str):
        return dataclasses.replace(self, module=module)  # type: ignore[call-arg]

    @property
    def option_names(self) -> tuple[str, ...]:
        return tuple(o if isinstance(o, str) else o.name for o in self.options)  # type: ignore[attr-defined]

    @property
    def declared_keys(self) -> tuple[Key, ...]:
        return tuple(o for o in self.options if isinstance(o, Key))  # type: ignore[attr-defined]
