"""Experiments: a grid over config keys × trials, run in parallel processes.

    exp = Experiment.create(cfg, grid={"cell": ["lstm", "gru"], "seq_len": [50, 100]},
                            trials=3, out_dir="runs/x")
    runner = ExperimentRunner(exp, on_event=print)
    for outcome in runner.run():       # outcomes arrive as runs finish
        rows = exp.rows()              # the results table so far

* Grid points are the cartesian product of the grid lists, in the order the keys
  are given.  To compare combinations that are not a product (seed 003's
  rnn/lstm/gru/bi-rnn/bi-lstm) grid over ``cell`` × ``bidirectional``: the
  product holds all five plus bi-gru.
* Trial ``k`` of a point uses ``seed = seed + k`` (``seed`` from the point's config).
* Runs execute in worker processes from the *spawn* context (a forked torch is
  not safe), one torch thread each (``threads`` from the config), as many
  workers as cores // threads.  The longest runs start first, so the whole grid
  finishes sooner.  ``workers=0`` runs everything in this process (tests, debugging).
* A run that fails (NaN loss, an exception, a crashed worker) is a failed
  outcome; the others carry on.  Each run writes its own run directory
  ``<out_dir>/<run>/`` (config, metrics, summary, checkpoint) and the experiment
  keeps ``results.csv`` / ``results.json`` up to date as runs finish.
* Worker events (started, eval, finished, failed; step metrics at most twice a
  second) reach ``on_event`` in the calling process with ``run_id`` set to the
  run's id, so a UI can fold them into ``RunRecord`` objects.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import json
import multiprocessing as mp
import os
import queue
import re
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TextIO

from rnntui.config import Config, build_config
from rnntui.engine.aggregate import (
    GridPoint,
    Row,
    RunOutcome,
    aggregate,
    choose_columns,
    format_table,
    format_value,
    metric_names,
    write_results,
)
from rnntui.engine.events import EVENT_TYPES, Event

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

# relative cost of one time step per hidden unit², for ordering runs longest-first
_CELL_COST = {"rnn": 1.0, "gru": 3.0, "lstm": 4.0, "mgru": 4.0, "mlstm": 5.0}


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: a grid point's config with the trial's seed."""

    run_id: str
    point: int
    trial: int
    config: dict[str, Any]
    out_dir: str

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    def cost(self) -> float:
        c = self.config
        steps = c["steps"] if not c["epochs"] else c["epochs"] * 200
        width = c["hidden_size"] * (c["hidden_size"] + 8) * c["num_layers"] * (2 if c["bidirectional"] else 1)
        return steps * c["batch_size"] * c["seq_len"] * width * _CELL_COST.get(c["cell"], 4.0)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def expand_grid(base: Config, grid: dict[str, list[Any]]) -> list[tuple[GridPoint, Config]]:
    """The grid points (cartesian product, first key slowest) with their configs.
    Raises ConfigError for a combination that is invalid as a whole."""
    keys = list(grid)
    out = []
    for index, combo in enumerate(itertools.product(*(grid[k] for k in keys))):
        values = dict(zip(keys, combo))
        cfg = build_config(base.to_dict(), values)
        out.append((GridPoint(index, values), cfg))
    return out


def _slug(point: GridPoint, trial: int) -> str:
    parts = [f"p{point.index:02d}"] + [re.sub(r"[^A-Za-z0-9.+-]", "", format_value(v)) for v in point.values.values()]
    return "-".join(p for p in parts if p) + f"-t{trial}"


@dataclass
class Experiment:
    """A grid × trials over a base config, and what is known of its runs so far."""

    name: str
    base: Config
    grid: dict[str, list[Any]]
    trials: int
    out_dir: Path
    points: list[GridPoint]
    configs: list[Config]
    specs: list[RunSpec]
    exp_id: str = ""
    outcomes: dict[str, RunOutcome] = field(default_factory=dict)
    started_at: float = 0.0
    wall_time_s: float = 0.0
    _baselines: list[dict[str, float]] | None = field(default=None, repr=False)

    @classmethod
    def create(cls, base: Config, grid: dict[str, list[Any]], trials: int = 1,
               out_dir: str | Path | None = None, name: str = "experiment",
               check: bool = True) -> "Experiment":
        """Expand and validate the grid (every point's task is built once when
        ``check``, so a bad combination fails now, before anything is written)."""
        pairs = expand_grid(base, grid)
        if check:
            from rnntui.engine.trainer import check_runnable

            for _, cfg in pairs:
                check_runnable(cfg)
        exp_id = uuid.uuid4().hex[:4]
        path = Path(out_dir) if out_dir else default_experiment_dir(name)
        specs = []
        for point, cfg in pairs:
            for trial in range(trials):
                config = cfg.to_dict()
                config["seed"] = cfg.seed + trial
                specs.append(RunSpec(f"{exp_id}.p{point.index:02d}t{trial}", point.index, trial, config,
                                     str(path / _slug(point, trial))))
        return cls(name, base, dict(grid), trials, path, [p for p, _ in pairs], [c for _, c in pairs],
                   specs, exp_id)

    @classmethod
    def from_request(cls, request: Any, out_dir: str | Path | None = None, check: bool = True) -> "Experiment":
        name = request.preset.name if getattr(request, "preset", None) else "experiment"
        return cls.create(request.config, request.grid, request.trials, out_dir, name, check)

    @property
    def total(self) -> int:
        return len(self.specs)

    @property
    def done(self) -> int:
        return len(self.outcomes)

    def spec(self, run_id: str) -> RunSpec | None:
        return next((s for s in self.specs if s.run_id == run_id), None)

    def rows(self) -> list[Row]:
        return aggregate(self.points, self.trials, self.outcomes.values())

    def metric_names(self) -> list[str]:
        return metric_names(self.outcomes.values())

    def columns(self, limit: int = 4) -> list[str]:
        """Metrics worth showing: the task's own metrics first."""
        preferred: list[str] = []
        try:
            from rnntui.tasks import task_class

            for task in dict.fromkeys(c.task for c in self.configs):
                preferred += [m.name for m in task_class(task).metric_infos]
        except Exception:  # noqa: BLE001 - display only
            pass
        return choose_columns(self.metric_names(), preferred, limit)

    def baselines(self) -> list[dict[str, float]]:
        """Each grid point's trivial-predictor scores (they can depend on the
        point: the copy task's cross-entropy baseline falls with the delay)."""
        if self._baselines is None:
            from rnntui.tasks import build_task

            out = []
            for cfg in self.configs:
                try:
                    out.append({k: float(v) for k, v in build_task(cfg).baseline().items()})
                except Exception:  # noqa: BLE001 - display only
                    out.append({})
            self._baselines = out
        return self._baselines

    def baseline_text(self) -> str:
        """One line: a metric's baseline value, or its range when it varies by point."""
        parts = []
        names: list[str] = []
        for b in self.baselines():
            names += [k for k in b if k not in names]
        for name in names:
            values = [b[name] for b in self.baselines() if name in b]
            lo, hi = min(values), max(values)
            parts.append(f"{name} {lo:.4g}" if hi - lo <= 1e-12 * max(1.0, abs(hi))
                         else f"{name} {lo:.4g}..{hi:.4g} (by grid point)")
        return "  ".join(parts)

    def meta(self) -> dict[str, Any]:
        return {"experiment": self.name, "id": self.exp_id, "grid": self.grid, "trials": self.trials,
                "runs": self.total, "base_config": self.base.to_dict(), "baselines": self.baselines(),
                "wall_time_s": round(self.wall_time_s, 3)}

    def write(self) -> tuple[Path, Path]:
        """(Re)write results.csv and results.json with what is known now."""
        meta = self.meta()
        meta["runs_total"] = meta.pop("runs")
        meta["runs_done"] = self.done
        return write_results(self.out_dir, self.rows(), list(self.outcomes.values()), meta)


def default_experiment_dir(name: str, root: str | Path = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stamp}-{name}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = Path(f"{base}-{n}")
    return path


# ------------------------------------------------------------ worker side
_WORKER: dict[str, Any] = {}


def _init_worker(events: Any, cancel: Any, quiet: bool = False) -> None:
    """Runs once in each worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    if quiet:  # under the TUI a stray warning on the terminal would garble the screen
        import warnings

        warnings.simplefilter("ignore")
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    import torch

    torch.set_num_threads(1)
    # warm the imports a run would otherwise pay for in its wall time: the first
    # optimiser imports torch._dynamo (seconds), which would skew seed001's timings
    import rnntui.engine.trainer  # noqa: F401

    try:
        import torch._dynamo  # noqa: F401
    except Exception:  # pragma: no cover - a speed-up only
        pass
    _WORKER["events"] = events
    _WORKER["cancel"] = cancel


def _make_control(cancel: Any):
    from rnntui.engine.control import RunControl

    class SharedCancel(RunControl):
        """A RunControl that is also cancelled by the experiment's shared flag."""

        @property
        def cancelled(self) -> bool:  # type: ignore[override]
            return super().cancelled or (cancel is not None and cancel.is_set())

    return SharedCancel()


def run_spec(spec: RunSpec, send: Callable[[dict[str, Any]], None] | None = None,
             cancel: Any = None) -> RunOutcome:
    """Train one run of an experiment into its run directory; never raises."""
    start = time.perf_counter()
    outcome = RunOutcome(spec.run_id, spec.point, spec.trial, spec.seed, "failed", path=spec.out_dir)
    if cancel is not None and cancel.is_set():
        outcome.status, outcome.reason = "cancelled", "experiment stopped before this run began"
        return outcome
    writer = None
    try:
        from rnntui.engine.events import Samples, StepMetrics
        from rnntui.engine.rundir import RunWriter
        from rnntui.engine.trainer import Trainer

        cfg = build_config(spec.config)
        writer = RunWriter(spec.out_dir, cfg)
        last_step = [0.0]

        def callback(event: Event) -> None:
            writer(event)
            if send is None or isinstance(event, Samples):
                return
            if isinstance(event, StepMetrics):
                now = time.monotonic()
                if now - last_step[0] < 0.5:
                    return
                last_step[0] = now
            send(event.to_json())

        trainer = Trainer(cfg, callback, _make_control(cancel), run_id=spec.run_id,
                          checkpoint_path=writer.checkpoint_path)
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
    finally:
        if writer is not None:
            writer.close()
    return outcome


def _run_in_worker(spec: RunSpec) -> RunOutcome:
    events = _WORKER.get("events")
    send = (lambda data: events.put(data)) if events is not None else None
    return run_spec(spec, send, _WORKER.get("cancel"))


def event_from_json(data: dict[str, Any]) -> Event | None:
    """Rebuild an event sent by a worker (None for kinds the parent does not need)."""
    cls = EVENT_TYPES.get(data.get("event", ""))
    if cls is None:
        return None
    fields = {k: v for k, v in data.items() if k != "event"}
    try:
        return cls(**fields)
    except TypeError:
        return None


# ------------------------------------------------------------ parent side
class ExperimentRunner:
    """Runs an experiment's specs; :meth:`run` yields outcomes as runs finish."""

    def __init__(self, experiment: Experiment, on_event: Callable[[Event], None] | None = None,
                 workers: int | None = None, quiet: bool = False) -> None:
        self.experiment = experiment
        self.on_event = on_event
        self.quiet = quiet
        threads = max(1, int(experiment.base.threads))
        auto = max(1, available_cores() // threads)
        self.workers = auto if workers is None else workers
        self.workers = min(self.workers, experiment.total) if self.workers else 0
        self._cancel: Any = threading.Event()
        self._stop_requested = False
        self.poll: Callable[[], None] | None = None
        """Called often (every ~0.1 s and with every event) in the thread that runs
        :meth:`run`; a UI sets it to cancel when its worker is cancelled."""

    def cancel(self) -> None:
        """Stop: running runs end at their next step (status stopped), queued ones never start."""
        self._stop_requested = True
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._stop_requested

    def _poll(self) -> None:
        if self.poll is not None and not self._stop_requested:
            self.poll()

    def _emit(self, data: dict[str, Any]) -> None:
        self._poll()
        if self.on_event is None:
            return
        event = event_from_json(data)
        if event is not None:
            self.on_event(event)

    def _record(self, outcome: RunOutcome) -> RunOutcome:
        exp = self.experiment
        exp.outcomes[outcome.run_id] = outcome
        exp.wall_time_s = time.perf_counter() - exp.started_at
        exp.write()
        return outcome

    def run(self) -> Iterator[RunOutcome]:
        exp = self.experiment
        exp.out_dir.mkdir(parents=True, exist_ok=True)
        exp.started_at = time.perf_counter()
        exp.write()
        order = sorted((s for s in exp.specs if s.run_id not in exp.outcomes), key=lambda s: -s.cost())
        if self.workers == 0:
            yield from self._run_here(order)
        else:
            yield from self._run_pool(order)
        exp.wall_time_s = time.perf_counter() - exp.started_at
        exp.write()

    def _run_here(self, order: Sequence[RunSpec]) -> Iterator[RunOutcome]:
        for spec in order:
            yield self._record(run_spec(spec, self._emit, self._cancel))

    def _run_pool(self, order: Sequence[RunSpec]) -> Iterator[RunOutcome]:
        _start_resource_tracker()
        ctx = mp.get_context("spawn")
        events = ctx.Queue()
        self._cancel = ctx.Event()
        if self._stop_requested:
            self._cancel.set()
        pool = cf.ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                      initargs=(events, self._cancel, self.quiet))
        futures = {pool.submit(_run_in_worker, spec): spec for spec in order}
        pending = set(futures)
        try:
            while pending:
                done, pending = cf.wait(pending, timeout=0.1, return_when=cf.FIRST_COMPLETED)
                self._drain(events)
                self._poll()
                if self._stop_requested:
                    for fut in pending:
                        fut.cancel()
                for fut in done:
                    yield self._record(self._outcome_of(fut, futures[fut]))
            self._drain(events)
        finally:
            self._cancel.set()  # a generator closed early (Ctrl-C twice, app exit) stops its workers
            _shutdown(pool, events)

    def _outcome_of(self, fut: cf.Future, spec: RunSpec) -> RunOutcome:
        if fut.cancelled():
            return RunOutcome(spec.run_id, spec.point, spec.trial, spec.seed, "cancelled",
                              reason="experiment stopped before this run began", path=spec.out_dir)
        try:
            return fut.result()
        except BaseException as exc:  # noqa: BLE001 - a worker died (memory, a signal)
            reason = f"worker process failed: {type(exc).__name__}: {exc}".strip()
            self._emit({"event": "failed", "run_id": spec.run_id, "step": 0, "reason": reason, "wall_time_s": 0.0})
            return RunOutcome(spec.run_id, spec.point, spec.trial, spec.seed, "failed", reason=reason,
                              path=spec.out_dir)

    def _drain(self, events: Any) -> None:
        while True:
            try:
                data = events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return
            self._emit(data)


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with a real stderr.

    The tracker is spawned with ``sys.stderr.fileno()`` among the descriptors it
    keeps; under the TUI, Textual has replaced ``sys.stderr`` with a capture
    object whose ``fileno()`` is -1, and every spawn would fail with "bad
    value(s) in fds_to_keep".  Started once here with /dev/null, it is reused."""
    from multiprocessing import resource_tracker

    try:
        usable = sys.stderr is not None and sys.stderr.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = False
    if usable:
        return
    saved = sys.stderr
    with open(os.devnull, "w") as devnull:
        sys.stderr = devnull
        try:
            resource_tracker.ensure_running()
        finally:
            sys.stderr = saved


def _shutdown(pool: cf.ProcessPoolExecutor, events: Any) -> None:
    """Wait for the workers to exit while emptying the event queue: a worker
    exits only once its queued events are written, so nobody reading them
    could leave it (and this wait) blocked on a full pipe."""
    stop = threading.Event()

    def discard() -> None:
        while not stop.is_set():
            try:
                events.get(timeout=0.05)
            except (queue.Empty, OSError, ValueError, EOFError):
                pass

    drainer = threading.Thread(target=discard, name="rnntui-experiment-drain", daemon=True)
    drainer.start()
    try:
        pool.shutdown(wait=True, cancel_futures=True)
    finally:
        stop.set()
        drainer.join()
        events.close()
        events.join_thread()


# ---------------------------------------------------------------- headless
def run_experiment_headless(
    request: Any,
    out_dir: str | Path | None = None,
    json_lines: bool = False,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    workers: int | None = None,
) -> int:
    """Run ``request``'s experiment without the UI; return the exit code.

    Exit codes: 0 every run finished; 1 at least one run failed (the results
    table is still complete for the others and says which failed); 2 bad input
    (raised as ConfigError before anything is written); 130 interrupted (the
    first Ctrl-C stops the runs cleanly and keeps what finished).
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    exp = Experiment.from_request(request, out_dir)
    runner = ExperimentRunner(exp, workers=workers)
    say = lambda text: (print(text, file=stderr), stderr.flush())  # noqa: E731

    def emit_json(data: dict[str, Any]) -> None:
        if json_lines:
            stdout.write(json.dumps(data, default=str) + "\n")
            stdout.flush()

    if json_lines:
        def forward(event: Event) -> None:
            if event.kind != "step":
                spec = exp.spec(event.run_id)
                emit_json({**event.to_json(), "point": spec.point if spec else None,
                           "trial": spec.trial if spec else None})
        runner.on_event = forward

    grid_text = " × ".join(f"{k} {len(v)}" for k, v in exp.grid.items()) or "base config"
    say(f"[rnntui] experiment {exp.name}: {grid_text} × {exp.trials} trials = {exp.total} runs "
        f"on {runner.workers or 1} worker{'s' if runner.workers != 1 else ''} -> {exp.out_dir}")
    emit_json({"event": "experiment_started", "experiment": exp.name, "grid": exp.grid, "trials": exp.trials,
               "runs": exp.total, "workers": runner.workers, "out_dir": str(exp.out_dir)})
    restore = _cancel_on_sigint(runner, say)
    interrupted = False
    try:
        for outcome in runner.run():
            point = exp.points[outcome.point]
            cols = exp.columns(3)
            result = "  ".join(f"{c} {outcome.final[c]:.4g}" for c in cols if c in outcome.final)
            extra = f": {outcome.reason}" if outcome.status != "finished" and outcome.reason else ""
            say(f"  [{exp.done}/{exp.total}] {point.label} trial {outcome.trial} (seed {outcome.seed}) "
                f"{outcome.status} in {outcome.wall_time_s:.1f}s  {result}{extra}")
            emit_json({"event": "run_done", **outcome.summary()})
            row = exp.rows()[outcome.point]
            if row.complete:
                say(f"  = {point.label}: " + "  ".join(f"{c} {row.metrics[c].format()}"
                                                       for c in cols if c in row.metrics)
                    + f"  (n={row.finished}, {row.status})")
                emit_json({"event": "row", **row.to_json()})
    except KeyboardInterrupt:
        interrupted = True
    finally:
        restore()
    rows = exp.rows()
    interrupted = interrupted or runner.cancelled
    say("")
    say(format_table(rows, exp.columns(), exp.baselines()))
    if exp.baseline_text():
        say(f"baseline (trivial predictor): {exp.baseline_text()}")
    csv_path, json_path = exp.write()
    say(f"[rnntui] {exp.done}/{exp.total} runs in {exp.wall_time_s:.1f}s; results in {csv_path} and {json_path.name}")
    failed = sum(r.failed for r in rows)
    if failed:
        say(f"[rnntui] {failed} run{'s' if failed != 1 else ''} failed:")
        for row in rows:
            for reason in row.reasons:
                say(f"  {row.point.label} {reason}")
    emit_json({"event": "experiment_finished", "runs_done": exp.done, "runs": exp.total, "failed": failed,
               "wall_time_s": round(exp.wall_time_s, 3), "results_csv": str(csv_path),
               "results_json": str(json_path)})
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed else EXIT_OK


def _cancel_on_sigint(runner: ExperimentRunner, say: Callable[[str], None]):
    """First Ctrl-C stops the experiment cleanly; a second aborts."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: Any) -> None:
        if runner.cancelled:
            raise KeyboardInterrupt
        say("[rnntui] stopping: running runs end at their next step (Ctrl-C again to abort)")
        runner.cancel()

    previous = signal.signal(signal.SIGINT, handler)
    return lambda: signal.signal(signal.SIGINT, previous)
