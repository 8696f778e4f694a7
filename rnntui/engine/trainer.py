"""The training loop.  Plain Python: it reports through typed events.

    trainer = Trainer(cfg, callback=print)
    result = trainer.run()          # blocks; call from a worker thread in a UI

Seeding: ``torch.manual_seed(seed)`` before the model is built; training data
come from their own generator seeded with ``seed`` and held-out data from
another, so the same seed gives the same numbers and the validation set does
not depend on the model.  Validation metrics are computed on held-out batches
drawn once at the start (or the task's held-out split).
"""

from __future__ import annotations

import math
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import torch

from rnntui.cells import native
from rnntui.config import Config, ConfigError
from rnntui.engine.checkpoint import save_checkpoint
from rnntui.engine.control import RunControl
from rnntui.engine.evaluate import evaluate
from rnntui.engine.events import (
    EvalMetrics,
    Event,
    EventCallback,
    Log,
    RunFailed,
    RunFinished,
    RunStarted,
    Samples,
    StepMetrics,
)
from rnntui.engine.budget import check_memory
from rnntui.engine.files import NoSpace
from rnntui.engine.history import EVAL_ROWS, STEP_ROWS, Thinned
from rnntui.engine.model import BUILD_LOCK, SequenceModel, build_model, count_params
from rnntui.engine.resume import check_identity, drop_closing_eval, inherited_lines, load_optimizer, make_optimizer
from rnntui.engine.schedule import eval_due
from rnntui.tasks import Task, build_task

EVAL_SEED_OFFSET = 1_000_003

Probe = Callable[["Trainer"], "Event | None"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", f"got {name!r} but CUDA is not available here; allowed: cpu, auto")
    device = torch.device(name)
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise ConfigError("device", f"got {name!r} but this machine has {count} CUDA device{'s' * (count != 1)}; "
                                    f"allowed: cpu, auto, cuda, cuda:0..cuda:{count - 1}")
    return device


class HistoryStore(Protocol):
    """Where a run's metric lines live (the run directory's ``metrics.jsonl``)."""

    def snapshot(self) -> bytes: ...

    def write_lines(self, text: bytes) -> None: ...


def scheduled_lr(base_lr: float, schedule: str, step: int, total_steps: int) -> float:
    """The learning rate for the update made at 0-based ``step`` of ``total_steps``.

    A pure function of the step, so a resumed run follows the same curve with no
    scheduler state in the checkpoint.  ``cosine``: lr·½(1 + cos(π·step/total)).
    """
    if schedule == "cosine" and total_steps > 0:
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))
    return base_lr


def check_resume(cfg: Config, payload: dict[str, Any]) -> None:
    """Raise ConfigError now if ``payload`` cannot resume a run of ``cfg``, before
    any file is written: a set-up with the checkpoint loaded, then thrown away."""
    Trainer(cfg, resume=payload).setup()


def check_runnable(cfg: Config) -> None:
    """Raise ConfigError now for what only the task or the machine can judge
    (task options, an unavailable device, a run too large for this machine's
    memory), before any file is written."""
    device = resolve_device(cfg.device)
    check_memory(cfg, build_task(cfg), device=device)


def failure_reason(exc: BaseException) -> str:
    """One line for a run that failed with ``exc``: ``no space left on <path>`` for a
    full disk, ``out of memory`` for an allocation, else the exception's first line."""
    if isinstance(exc, NoSpace):
        return str(exc)
    text = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, MemoryError) or "can't allocate memory" in text or "out of memory" in text.lower():
        return f"out of memory ({text[:160]})" if text else "out of memory"
    return f"{type(exc).__name__}: {text[:300]}".rstrip(": ")


def planned_steps(cfg: Config) -> tuple[int, int]:
    """(steps the run will take, steps per epoch; 0 for generated data): a dataset
    task trained in ``epochs`` runs ``epochs × steps_per_epoch`` steps.  Builds the
    task (loads its data; raises ConfigError)."""
    spe = build_task(cfg).steps_per_epoch
    return (cfg.epochs * spe if (cfg.epochs and spe) else cfg.steps), spe


@dataclass
class RunResult:
    status: str  # "finished" | "stopped" | "failed"
    step: int
    final: dict[str, float]
    wall_time_s: float
    params: int
    reason: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """Trains one model on one task as ``cfg`` says, reporting to ``callback``."""

    def __init__(
        self,
        cfg: Config,
        callback: EventCallback | None = None,
        control: RunControl | None = None,
        run_id: str | None = None,
        checkpoint_path: str | Path | None = None,
        resume: dict[str, Any] | None = None,
        history: HistoryStore | None = None,
    ) -> None:
        self.cfg = cfg
        self.callback = callback or (lambda event: None)
        self.control = control or RunControl()
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.resume = resume
        self.history = history
        # in memory, bounded (engine.history); the whole curve is in the history store
        self.steps: list[dict[str, Any]] = Thinned(cap=STEP_ROWS)
        self.evals: list[dict[str, Any]] = Thinned(cap=EVAL_ROWS)
        self.step = 0
        self.elapsed_before = 0.0  # seconds trained before a resume: elapsed times continue
        self._inherited = b""  # the metric lines a resumed run starts its history with
        # training loss summed since the last logged row; saved in checkpoints so a
        # resumed run logs exactly the rows an uninterrupted one would
        self.window_loss, self.window_n = 0.0, 0
        self.model: SequenceModel | None = None
        self.task: Task | None = None
        self.probes: list[Probe] = []
        """Listeners called after each evaluation, in the training thread, with the
        trainer; an event they return is emitted (see :meth:`add_probe`)."""

    def add_probe(self, probe: "Probe") -> None:
        """Call ``probe(trainer)`` after every evaluation, in the training thread (the
        Inspect probes attach here).  A probe must not change the model or draw from
        the random generators; an event it returns is emitted."""
        if probe not in self.probes:
            self.probes.append(probe)  # list.append is atomic: safe from another thread

    def remove_probe(self, probe: "Probe") -> None:
        if probe in self.probes:
            self.probes.remove(probe)

    # ------------------------------------------------------------- set-up
    def _emit(self, event: Event) -> None:
        self.callback(event)

    def setup(self) -> None:
        """Seed, build task, model, optimiser and held-out data (raises ConfigError)."""
        cfg = self.cfg
        torch.set_num_threads(cfg.threads)
        self.device = resolve_device(cfg.device)
        with BUILD_LOCK:  # nothing else may draw from torch's global RNG between seed and init
            random.seed(cfg.seed)
            np.random.seed(cfg.seed % 2**32)
            torch.manual_seed(cfg.seed)
            self.task = build_task(cfg)
            self.model = build_model(cfg, self.task).to(self.device)
        self.optimizer = make_optimizer(cfg, self.model.parameters())
        self.data_gen = torch.Generator().manual_seed(cfg.seed)
        eval_gen = torch.Generator().manual_seed(cfg.seed + EVAL_SEED_OFFSET)
        self.eval_sets = self.task.eval_sets(eval_gen)
        spe = self.task.steps_per_epoch
        self.steps_per_epoch = spe
        self.total_steps = cfg.epochs * spe if (cfg.epochs and spe) else cfg.steps  # as planned_steps() says
        if self.resume is not None:
            self._load_resume(self.resume)

    def _load_resume(self, ckpt: dict[str, Any]) -> None:
        """Continue from ``ckpt`` (see :mod:`rnntui.engine.resume`); ConfigError when it does not fit."""
        assert self.model is not None and self.task is not None
        check_identity(self.cfg, ckpt)
        try:
            self.model.load_state_dict(ckpt["model"])
            note = load_optimizer(self.optimizer, self.cfg, ckpt)
            if note is not None:
                self._emit(Log(self.run_id, note))
            self.data_gen.set_state(ckpt["data_rng"])
            torch.set_rng_state(ckpt["torch_rng"])
            self.task.load_state_dict(ckpt.get("task_state", {}))
            self.step = int(ckpt["step"])
            self.steps = Thinned(ckpt.get("steps", []), cap=STEP_ROWS, seen=ckpt.get("steps_seen"))
            self.evals = Thinned(ckpt.get("evals", []), cap=EVAL_ROWS, seen=ckpt.get("evals_seen"))
            self.window_loss = float(ckpt.get("window_loss", 0.0))
            self.window_n = int(ckpt.get("window_n", 0))
            self.elapsed_before = float(ckpt.get("elapsed_s", 0.0))
        except (KeyError, RuntimeError, ValueError, TypeError, IndexError, OverflowError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConfigError("resume", f"the checkpoint does not fit this run ({first})") from None
        self.evals, dropped = drop_closing_eval(self.evals, self.step, self._on_schedule)
        self._inherited = inherited_lines(ckpt, self.step, dropped, self.steps, self.evals, self.run_id,
                                          lambda k: scheduled_lr(self.cfg.lr, self.cfg.lr_schedule, k - 1,
                                                                 self.total_steps))

    def _on_schedule(self, step: int) -> bool:
        return eval_due(step, self.cfg.eval_every, self.cfg.eval_early, self.total_steps)

    def checkpoint_payload(self) -> dict[str, Any]:
        assert self.model is not None
        payload = {
            "config": self.cfg.to_dict(),
            "run_id": self.run_id,
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "optimizer_name": self.cfg.optimizer,
            "data_rng": self.data_gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "steps": list(self.steps),
            "evals": list(self.evals),
            "steps_seen": self.steps.seen,
            "evals_seen": self.evals.seen,
            "window_loss": self.window_loss,
            "window_n": self.window_n,
            "elapsed_s": self.elapsed_s(),
            "task_state": self.task.state_dict(),
        }
        if self.history is not None:
            raw = self.history.snapshot()
            payload["metrics_log"] = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw \
                else torch.zeros(0, dtype=torch.uint8)
        return payload

    def elapsed_s(self) -> float:
        """Seconds of training so far, counting those before a resume."""
        start = getattr(self, "_start", None)
        return self.elapsed_before if start is None else time.perf_counter() - start

    def save(self, path: str | Path | None = None) -> Path | None:
        target = Path(path) if path else self.checkpoint_path
        if target is None or self.model is None:
            return None
        saved = save_checkpoint(target, self.checkpoint_payload())
        self._emit(Log(self.run_id, f"checkpoint saved at step {self.step}: {saved}"))
        return saved

    # ---------------------------------------------------------------- run
    def run(self) -> RunResult:
        """Train to the end, a stop or a failure.  Raises ConfigError (bad input,
        found in set-up); everything after that ends as a RunResult, with the
        history kept: a full disk or too little memory is a failed run.  The
        time-loop path (compiled or Python) is chosen once, at the start: the two
        agree to float32 rounding, not bit for bit, and a run stays reproducible."""
        with native.pinned(build=self.cfg.backend == "scratch" and native.has_loop(self.cfg.cell)):
            return self._run()

    def _run(self) -> RunResult:
        start = time.perf_counter()
        try:
            self.setup()
        except (MemoryError, RuntimeError) as exc:  # a model or data set too large to allocate
            return self._fail(start, 0, failure_reason(exc))
        assert self.model is not None and self.task is not None
        start -= self.elapsed_before
        self._start = start
        cfg, model, task = self.cfg, self.model, self.task
        params = count_params(model)
        self._emit(
            RunStarted(
                self.run_id,
                config=cfg.to_dict(),
                params=params,
                device=str(self.device),
                input_size=task.input_size,
                output_size=task.output_size,
                total_steps=self.total_steps,
                steps_per_epoch=self.steps_per_epoch,
                start_step=self.step,
                baseline=task.baseline(),
            )
        )
        if cfg.backend == "scratch" and native.has_loop(cfg.cell) and self.device.type == "cpu":
            self._emit(Log(self.run_id, native.describe()))
        window_start = time.perf_counter()
        final: dict[str, float] = self.evals[-1]["metrics"] if self.evals else {}
        try:
            if self.history is not None and self._inherited:
                self.history.write_lines(self._inherited)
            self._inherited = b""
            while self.step < self.total_steps:
                if self.control.paused:
                    self.control.wait_while_paused()
                    window_start = time.perf_counter()
                if self.control.cancelled:
                    break
                loss_value, grad_norm = self._train_step()
                self.step += 1
                if not math.isfinite(loss_value):
                    return self._fail(start, params, f"loss became {loss_value} at step {self.step}")
                self.window_loss += loss_value
                self.window_n += 1
                # rows at multiples of log_every (not every log_every steps since this
                # process started), so a resumed run logs the same rows
                if self.step % cfg.log_every == 0 or self.step == self.total_steps:
                    now = time.perf_counter()
                    self._log_step(self.window_loss / self.window_n, grad_norm,
                                   self.window_n / max(now - window_start, 1e-9), start)
                    self.window_loss, self.window_n, window_start = 0.0, 0, now
                if self._on_schedule(self.step):
                    final = self._evaluate()
                self.control.run_calls()
                if self.control.take_checkpoint_request() or (
                    cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0
                ):
                    self.save()
            aborted = self.control.aborted
            if not aborted and self.step > 0 and (not self.evals or self.evals[-1]["step"] != self.step):
                final = self._evaluate()
            if not aborted:
                self.save()
        except Exception as exc:  # a full disk, a bug, a runtime error: report it, keep the history
            return self._fail(start, params, failure_reason(exc))
        wall = time.perf_counter() - start
        stopped = self.control.cancelled and self.step < self.total_steps
        self._emit(RunFinished(self.run_id, step=self.step, final=final, wall_time_s=wall, stopped=stopped))
        return RunResult("stopped" if stopped else "finished", self.step, final, wall, params,
                         steps=self.steps, evals=self.evals)

    def _train_step(self) -> tuple[float, float]:
        assert self.model is not None and self.task is not None
        model, cfg = self.model, self.cfg
        model.train()
        batch = self.task.train_batch(self.step, self.data_gen).to(self.device)
        out, _ = model(batch.x)
        loss = self.task.loss(out, batch)
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            return loss_value, float("nan")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        max_norm = cfg.clip if cfg.clip > 0 else float("inf")
        grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm))
        lr = scheduled_lr(cfg.lr, cfg.lr_schedule, self.step, self.total_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        return loss_value, grad_norm

    def _epoch(self) -> int:
        return self.step // self.steps_per_epoch if self.steps_per_epoch else 0

    def _log_step(self, loss: float, grad_norm: float, steps_per_s: float, start: float) -> None:
        row = {"step": self.step, "epoch": self._epoch(), "loss": loss, "grad_norm": grad_norm}
        self.steps.append(row)
        lr = self.optimizer.param_groups[0]["lr"]
        self._emit(StepMetrics(self.run_id, **row, lr=lr, elapsed_s=time.perf_counter() - start,
                               steps_per_s=steps_per_s))

    def _evaluate(self) -> dict[str, float]:
        assert self.model is not None and self.task is not None
        metrics, samples = evaluate(self.model, self.task, self.eval_sets, self.device,
                                    segment=self.cfg.seq_len, n_samples=self.cfg.n_samples)
        self.evals.append({"step": self.step, "epoch": self._epoch(), "metrics": metrics})
        self._emit(EvalMetrics(self.run_id, step=self.step, epoch=self._epoch(), metrics=metrics))
        if samples:
            self._emit(Samples(self.run_id, step=self.step, samples=[t for t, _ in samples],
                               correct=[ok for _, ok in samples]))
        for probe in self.probes:
            event = probe(self)
            if event is not None:
                self._emit(event)
        return metrics

    def _fail(self, start: float, params: int, reason: str) -> RunResult:
        wall = time.perf_counter() - start
        self._emit(RunFailed(self.run_id, step=self.step, reason=reason, wall_time_s=wall))
        final = self.evals[-1]["metrics"] if self.evals else {}
        return RunResult("failed", self.step, final, wall, params, reason=reason,
                         steps=self.steps, evals=self.evals)
