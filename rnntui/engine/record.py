"""RunRecord: everything known about one run, folded from its events.

The TUI keeps one record per run of the session (and per run directory loaded
from disk); the plots, the Compare and the Experiment views read records.
Folding events is all it does, so it is cheap to call on the UI thread.  What
grows with a run's length is bounded (:mod:`rnntui.engine.history`): the metric
rows and gradient profiles are thinned evenly, the log keeps its last lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rnntui.engine.history import EVAL_ROWS, LOG_LINES, PROFILES, STEP_ROWS, Recent, Thinned
from rnntui.engine.events import (
    EvalMetrics,
    Event,
    HiddenGradients,
    Log,
    RunFailed,
    RunFinished,
    RunStarted,
    Samples,
    StepMetrics,
)


@dataclass
class RunRecord:
    run_id: str
    config: dict[str, Any]
    status: str = "ready"  # ready | running | paused | finished | stopped | failed
    params: int = 0
    device: str = ""
    total_steps: int = 0
    steps_per_epoch: int = 0
    baseline: dict[str, float] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=lambda: Thinned(cap=STEP_ROWS))
    evals: list[dict[str, Any]] = field(default_factory=lambda: Thinned(cap=EVAL_ROWS))
    samples: list[tuple[Any, bool]] = field(default_factory=list)
    logs: Recent = field(default_factory=lambda: Recent(cap=LOG_LINES))
    grad_profiles: list[tuple[int, list[float]]] = field(default_factory=lambda: Thinned(cap=PROFILES))
    """(step, ‖∂L/∂h_t‖ for every t) after each evaluation (Inspect's heatmap)."""
    final: dict[str, float] = field(default_factory=dict)
    step: int = 0
    steps_per_s: float = 0.0
    elapsed_s: float = 0.0
    wall_time_s: float = 0.0
    reason: str = ""
    path: str | None = None

    @property
    def label(self) -> str:
        c = self.config
        return f"{self.run_id} {c.get('task', '?')}/{c.get('cell', '?')} h{c.get('hidden_size', '?')}"

    @property
    def done(self) -> bool:
        return self.status in ("finished", "stopped", "failed")

    @property
    def eta_s(self) -> float | None:
        if self.steps_per_s <= 0 or self.total_steps <= 0:
            return None
        return max(self.total_steps - self.step, 0) / self.steps_per_s

    def apply(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.status = "running"
            self.params = event.params
            self.device = event.device
            self.total_steps = event.total_steps
            self.steps_per_epoch = event.steps_per_epoch
            self.baseline = dict(event.baseline)
            self.step = event.start_step
        elif isinstance(event, StepMetrics):
            self.steps.append({"step": event.step, "epoch": event.epoch, "loss": event.loss,
                               "grad_norm": event.grad_norm})
            self.step = event.step
            self.steps_per_s = event.steps_per_s
            self.elapsed_s = event.elapsed_s
        elif isinstance(event, EvalMetrics):
            self.evals.append({"step": event.step, "epoch": event.epoch, "metrics": dict(event.metrics)})
            self.final = dict(event.metrics)
        elif isinstance(event, Samples):
            self.samples = list(zip(event.samples, event.correct))
        elif isinstance(event, HiddenGradients):
            self.grad_profiles.append((event.step, list(event.norms)))
        elif isinstance(event, RunFinished):
            self.status = "stopped" if event.stopped else "finished"
            self.final = dict(event.final)
            self.step = event.step
            self.wall_time_s = event.wall_time_s
        elif isinstance(event, RunFailed):
            self.status = "failed"
            self.reason = event.reason
            self.step = event.step
            self.wall_time_s = event.wall_time_s
        if isinstance(event, Log):
            self.logs.append(event.message)

    def series(self, key: str) -> tuple[list[float], list[float]]:
        """(steps, values) of ``loss``/``grad_norm`` (training) or an eval metric."""
        if key in ("loss", "grad_norm"):
            return [r["step"] for r in self.steps], [r[key] for r in self.steps]
        xs, ys = [], []
        for row in self.evals:
            if key in row["metrics"]:
                xs.append(row["step"])
                ys.append(row["metrics"][key])
        return xs, ys

    def metric_names(self) -> list[str]:
        names: list[str] = []
        for row in self.evals:
            for key in row["metrics"]:
                if key not in names:
                    names.append(key)
        return names

    @classmethod
    def from_run_dir(cls, path: str) -> "RunRecord":
        """The record of a run directory; RunDirError (one line) when it is not
        one rnntui wrote or its files are damaged."""
        from rnntui.engine.rundir import read_run_dir

        data = read_run_dir(path)
        s = data["summary"]
        record = cls(
            run_id=s["run_id"],
            config=s["config"],
            status=s["status"],
            params=s["params"],
            device=s["device"],
            baseline=s["baseline"],
            final=s["final"],
            step=s["steps"],
            total_steps=s["steps"],
            wall_time_s=s["wall_time_s"],
            reason=s["reason"],
            path=data["path"],
        )
        record.steps = Thinned(({k: r[k] for k in ("step", "epoch", "loss", "grad_norm") if k in r}
                                for r in data["steps"]), cap=STEP_ROWS)
        record.evals = Thinned(({"step": r["step"], "epoch": r["epoch"], "metrics": r["metrics"]}
                                for r in data["evals"]), cap=EVAL_ROWS)
        return record
