"""Shared helpers of the TUI tests (Pilot and snapshot): an app with recorded
notices, waiting on a condition, and a replayed run whose every number, id and
time is fixed (so a screen after a run can be compared byte for byte)."""

from __future__ import annotations

import math
import time
from typing import Any

from rich.text import Text

from rnntui.engine.events import EvalMetrics, RunFinished, RunStarted, Samples, StepMetrics

RUN_ID = "run00001"


def make_lab_app(request: Any = None, **kw: Any):
    """``create_app`` with no run directories, fixed run ids and a list of the
    notices shown (``app.notes``: (severity, message))."""
    from rnntui.app.app import create_app

    app = create_app(request, runs_root=None, **kw)
    ids = iter(f"run{n:05d}" for n in range(1, 1000))
    app.lab.new_run_id = lambda: next(ids)
    notes: list[tuple[str, str]] = []
    original = app.notify

    def notify(message, *, title="", severity="information", timeout=None, markup=True):
        notes.append((severity, message))
        original(message, title=title, severity=severity, timeout=timeout, markup=markup)

    app.notify = notify  # type: ignore[method-assign]
    app.notes = notes  # type: ignore[attr-defined]
    return app


async def wait_for(pilot, condition, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def form_ready(pilot, app) -> None:
    await wait_for(pilot, lambda: app.form is not None and app.form.editor("task") is not None, 30, "the form")


async def engine_ready(pilot, app) -> None:
    await wait_for(pilot, lambda: bool(app.lab.task_infos or app.lab.engine_error), 60, "the engine preload")
    assert not app.lab.engine_error, app.lab.engine_error


def adding_run_events(run_id: str, config: dict[str, Any], steps: int = 400, wall_time_s: float = 9.5) -> list:
    """A finished run of the adding problem as its events, with made-up but fixed
    numbers: the MSE sits on the baseline (1/6), then drops (as the first run does)."""
    base = 1.0 / 6.0

    def mse(step: int) -> float:
        return base * (0.004 + 0.996 / (1.0 + math.exp((step - 160) / 18)))

    events: list[Any] = [RunStarted(run_id, config=config, params=3393, device="cpu", input_size=2,
                                    output_size=1, total_steps=steps, baseline={"mse": base})]
    for step in range(10, steps + 1, 10):
        events.append(StepMetrics(run_id, step=step, epoch=0, loss=mse(step) * 1.05, grad_norm=0.5, lr=0.01,
                                  elapsed_s=wall_time_s * step / steps, steps_per_s=42.0))
        if step <= 200 or step % 50 == 0:
            events.append(EvalMetrics(run_id, step=step, epoch=0,
                                      metrics={"val_loss": mse(step), "mse": mse(step),
                                               "acc": min(0.95, 0.07 + 0.9 * step / steps)}))
    rows = [Text(f"0.{31 + i}2 + 0.{47 - i}0 = 0.{78 + i}4  (true 0.{78 + i}2, len 30)") for i in range(4)]
    events.append(Samples(run_id, step=steps, samples=rows, correct=[True, True, True, False]))
    final = dict(events[-2].metrics)
    events.append(RunFinished(run_id, step=steps, final=final, wall_time_s=wall_time_s))
    return events


def replay_training(job) -> str:
    """A stand-in for ``worker.run_training``: posts :func:`adding_run_events` for
    the job (no torch, no timing), in one batch."""
    job.post(adding_run_events(job.run_id, job.cfg.to_dict(), steps=job.cfg.steps))
    return "finished"
