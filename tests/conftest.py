"""Shared test set-up and helpers.

Ray: the tests' Ray instances are private and loopback-only.  The environment
is set here, before anything imports ray (Ray reads these when it is imported
or started): nodes on 127.0.0.1 (Ray's single-machine switch; otherwise even a
one-node instance binds the machine's network address), no token file written
into the home directory, no usage reporting.

Run directories: :func:`write_saved_run` writes one as a headless run leaves it,
with fixed curves, for the Compare/Experiment/figure tests.

The TUI: an app with recorded notices and fixed run ids (:func:`make_lab_app`),
waiting on a condition (:func:`wait_for`), and a replayed run whose every number,
id and time is fixed, so a screen after a run can be compared byte for byte.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from rich.text import Text

from rnntui.config import build_config
from rnntui.engine.events import EvalMetrics, RunFinished, RunStarted, Samples, StepMetrics
from rnntui.engine.rundir import RunWriter

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def import_ray():
    """ray, or a skip where the extra is not installed; under CI (which installs
    it) a missing ray fails instead of skipping."""
    if os.environ.get("CI"):
        return importlib.import_module("ray")
    return pytest.importorskip("ray")


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test (the float comparisons and timings assume it)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def local_ray():
    """One Ray instance for a test module (starting one costs seconds): 2 CPUs,
    no dashboard; shut down when the module's tests are done."""
    ray = import_ray()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        yield ray
    finally:
        ray.shutdown()


SAVED_CONFIG = dict(task="binary-addition", cell="gru", hidden_size=4, batch_size=8, seq_len=4, steps=40,
                    eval_every=10, eval_size=32, eval_lengths=[8], n_samples=0, lr=0.01, seed=0, log_every=5)
"""The config of the run directories :func:`saved_run` writes (overridable per run)."""


def write_saved_run(path: Path, run_id: str, *, rate: float = 1.0, final_exact: float | None = None,
                    **config) -> Path:
    """A run directory as a headless run leaves it (through RunWriter), with fixed
    curves: loss ``0.7 / (1 + rate·step/10)`` every 5 steps; at each evaluation
    (every 10 steps) ``val_loss`` 0.9·loss, ``exact`` and ``bit_acc`` rising with
    ``rate``, and the same at length 8 a little lower."""
    cfg = build_config(SAVED_CONFIG, config)
    writer = RunWriter(path, cfg)
    writer(RunStarted(run_id, config=cfg.to_dict(), params=100 + cfg.hidden_size, device="cpu", input_size=2,
                      output_size=1, total_steps=cfg.steps, baseline={"bit_acc": 0.5}))
    metrics: dict[str, float] = {}
    for step in range(5, cfg.steps + 1, 5):
        loss = 0.7 / (1 + rate * step / 10)
        writer(StepMetrics(run_id, step=step, epoch=0, loss=loss, grad_norm=1.0, lr=cfg.lr, elapsed_s=step / 100,
                           steps_per_s=100.0))
        if step % cfg.eval_every == 0:
            progress = min(1.0, rate * step / cfg.steps)
            exact = final_exact if final_exact is not None and step == cfg.steps else round(progress, 6)
            metrics = {"val_loss": 0.9 * loss, "exact": exact, "bit_acc": 0.5 + 0.5 * progress,
                       "val_loss@8": loss, "exact@8": round(0.8 * exact, 6), "bit_acc@8": 0.5 + 0.4 * progress}
            writer(EvalMetrics(run_id, step=step, epoch=0, metrics=metrics))
    writer(RunFinished(run_id, step=cfg.steps, final=metrics, wall_time_s=1.5))
    writer.close()
    return path


@pytest.fixture
def saved_run() -> Callable[..., Path]:
    """``saved_run(path, run_id, rate=..., **config)`` writes a run directory (see :func:`write_saved_run`)."""
    return write_saved_run


@pytest.fixture
def saved_experiment(tmp_path: Path) -> Path:
    """An experiment directory: cell rnn/gru × seeds 0, 1 (the gru learns twice as fast)."""
    root = tmp_path / "exp-cells"
    for point, (cell, rate) in enumerate((("rnn", 1.0), ("gru", 2.0))):
        for trial in range(2):
            write_saved_run(root / f"p{point:02d}-{cell}-t{trial}", f"ab12.p{point:02d}t{trial}",
                            rate=rate * (1 + 0.1 * trial), cell=cell, seed=trial)
    return root


RUN_ID = "run00001"


def make_lab_app(request: Any = None, runs_root: Path | None = None, **kw: Any):
    """``create_app`` with no run directories (unless ``runs_root``), fixed run ids
    and a list of the notices shown (``app.notes``: (severity, message))."""
    from rnntui.app.app import create_app

    app = create_app(request, runs_root=runs_root, **kw)
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


async def wait_for(pilot, condition, timeout: float = 60.0, what: str = "condition") -> None:
    """Let the app run until ``condition()`` holds; fail naming ``what`` after
    ``timeout`` seconds (generous: it only bounds a failing test on a loaded machine)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def form_ready(pilot, app) -> None:
    # its editors are there at compose; its values are checked (config or errors) once it is mounted
    await wait_for(pilot, lambda: app.form is not None and app.form.editor("task") is not None
                   and (app.form.config is not None or bool(app.form.errors)), 30, "the form")


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
