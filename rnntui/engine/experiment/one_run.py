"""Training one run of an experiment, wherever it executes.

:func:`run_spec` trains a :class:`~rnntui.engine.experiment.grid.RunSpec` into
its run directory and returns its :class:`RunOutcome`; it never raises.  The
local worker processes (:mod:`rnntui.engine.experiment.runner`), the in-process
runner and the Ray tasks (:mod:`rnntui.engine.experiment.ray_worker`) all call
it, so a run's numbers do not depend on where it ran.  ``cancel`` and ``abort``
are anything with ``is_set()`` (a threading or multiprocessing Event, or the Ray
tasks' view of the driver's stop level).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from rnntui.config import build_config
from rnntui.engine.events import Event
from rnntui.engine.experiment.grid import RunSpec
from rnntui.engine.experiment.results import RunOutcome

_warm = False


def warm_worker() -> None:
    """Once per worker process (local or Ray): one torch thread until a run sets
    its own, and the imports a run would otherwise pay for in its wall time (the
    first optimiser imports torch._dynamo, seconds, which would skew seed001's timings)."""
    global _warm
    if _warm:
        return
    import torch

    torch.set_num_threads(1)
    import rnntui.engine.trainer  # noqa: F401

    try:
        import torch._dynamo  # noqa: F401
    except Exception:  # pragma: no cover - a speed-up only
        pass
    _warm = True


def is_set(flag: Any) -> bool:
    return flag is not None and flag.is_set()


def make_control(cancel: Any, abort: Any = None):
    """A RunControl for one run that also obeys the experiment's ``cancel`` and ``abort`` flags."""
    from rnntui.engine.control import RunControl

    class SharedCancel(RunControl):
        """A RunControl that is also cancelled, or aborted (no closing evaluation
        or checkpoint), by the experiment's shared flags."""

        @property
        def cancelled(self) -> bool:  # type: ignore[override]
            return super().cancelled or is_set(cancel) or is_set(abort)

        @property
        def aborted(self) -> bool:  # type: ignore[override]
            return super().aborted or is_set(abort)

    return SharedCancel()


def run_spec(spec: RunSpec, send: Callable[[dict[str, Any]], None] | None = None,
             cancel: Any = None, abort: Any = None) -> RunOutcome:
    """Train one run of an experiment into its run directory; never raises."""
    start = time.perf_counter()
    outcome = RunOutcome(spec.run_id, spec.point, spec.trial, spec.seed, "failed", path=spec.out_dir)
    if is_set(cancel) or is_set(abort):
        outcome.status, outcome.reason = "cancelled", "experiment stopped before this run began"
        return outcome
    try:
        from rnntui.engine.events import Samples, StepMetrics
        from rnntui.engine.launch import open_run

        cfg = build_config(spec.config)
        last_step = [0.0]

        def forward(event: Event) -> None:
            if send is None or isinstance(event, Samples):
                return
            if isinstance(event, StepMetrics):
                now = time.monotonic()
                if now - last_step[0] < 0.5:
                    return
                last_step[0] = now
            send(event.to_json())

        with open_run(cfg, [forward], run_dir=spec.out_dir, control=make_control(cancel, abort),
                      run_id=spec.run_id) as trainer:
            result = trainer.run()
        outcome.status, outcome.reason = result.status, result.reason
        outcome.final, outcome.step, outcome.params = dict(result.final), result.step, result.params
        outcome.wall_time_s, outcome.steps, outcome.evals = result.wall_time_s, result.steps, result.evals
    except BaseException as exc:  # noqa: BLE001 - one bad run must not stop the others
        outcome.reason = f"{type(exc).__name__}: {exc}".strip()
        outcome.wall_time_s = time.perf_counter() - start
        if send is not None:
            send({"event": "failed", "run_id": spec.run_id, "step": outcome.step,
                  "reason": outcome.reason, "wall_time_s": outcome.wall_time_s})
    return outcome
