"""Running an experiment's runs in parallel processes.

    exp = Experiment.create(cfg, grid={"cell": ["lstm", "gru"]}, trials=3, out_dir="runs/x")
    runner = ExperimentRunner(exp, on_event=print)
    for outcome in runner.run():       # outcomes arrive as runs finish
        rows = exp.rows()              # the results table so far

* Runs execute in worker processes from the *spawn* context (a forked torch is
  not safe), one torch thread each (``threads`` from the config), as many
  workers as cores // threads.  The longest runs start first, so the whole grid
  finishes sooner.  ``workers=0`` runs everything in this process (tests, debugging).
* A run that fails (NaN loss, an exception, a crashed worker) is a failed
  outcome; the others carry on.  Each run writes its own run directory and the
  runner has the experiment rewrite its results files as runs finish (at most
  once a second, see WRITE_EVERY_S) and when it ends, however it ends.
* :meth:`ExperimentRunner.cancel` stops cleanly: running runs end at their next
  step with a closing evaluation and checkpoint, queued ones never start.
  :meth:`ExperimentRunner.abort` (a second Ctrl-C) also has the running runs skip
  that closing evaluation and checkpoint, so the workers exit at once.
* Worker events (started, eval, finished, failed; step metrics at most twice a
  second) reach ``on_event`` in the calling process with ``run_id`` set to the
  run's id, so a UI can fold them into ``RunRecord`` objects.
* ``executor = "ray"`` in the base config runs the same specs as tasks on a Ray
  cluster instead (:mod:`rnntui.engine.experiment.ray_executor`), behind the
  same interface; ``workers`` then means nothing (Ray schedules) and becomes the
  cluster's run slots once connected.

The grid, its run specs and the results so far are :mod:`rnntui.engine.experiment.grid`'s.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from typing import Any, Callable, Iterator, Sequence

from rnntui.engine.experiment.results import RunOutcome
from rnntui.engine.events import EVENT_TYPES, Event
from rnntui.engine.experiment.grid import Experiment, RunSpec
from rnntui.engine.experiment.one_run import run_spec, warm_worker
from rnntui.engine.tensorboard import require_tensorboard


WRITE_EVERY_S = 1.0
WRITE_COST_RATIO = 20
"""results.csv/json are rewritten as runs finish, at most every WRITE_EVERY_S and
no sooner than WRITE_COST_RATIO times the last write took: the files grow with
the runs, and at 10⁴ runs rewriting them after every run would be most of the
driver's work (bench/experiment_scale.py, docs/scaling.md)."""


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


# ------------------------------------------------------------ worker side
_WORKER: dict[str, Any] = {}


def _init_worker(events: Any, cancel: Any, abort: Any = None, quiet: bool = False) -> None:
    """Runs once in each worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # and SIGTERM (sent to the whole group by a service manager)
    if quiet:  # under the TUI a stray warning on the terminal would garble the screen
        import warnings

        warnings.simplefilter("ignore")
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    warm_worker()
    _WORKER["events"] = events
    _WORKER["cancel"] = cancel
    _WORKER["abort"] = abort


def _run_in_worker(spec: RunSpec) -> RunOutcome:
    events = _WORKER.get("events")
    send = (lambda data: events.put(data)) if events is not None else None
    return run_spec(spec, send, _WORKER.get("cancel"), _WORKER.get("abort"))


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
        base = experiment.base
        if base.tensorboard:
            require_tensorboard()
        self.executor: str = base.executor
        self._ray: Any = None
        if self.executor == "ray":  # ConfigError here when ray is not installed
            from rnntui.engine.experiment.ray_executor import RayExecutor

            self._ray = RayExecutor(self)
        threads = max(1, int(base.threads))
        auto = max(1, available_cores() // threads)
        self.workers = auto if workers is None else workers
        self.workers = min(self.workers, experiment.total) if self.workers else 0
        self._cancel: Any = threading.Event()
        self._abort: Any = threading.Event()
        self._stop_requested = False
        self._abort_requested = False
        self._next_write = 0.0
        self.poll: Callable[[], None] | None = None
        """Called often (every ~0.1 s and with every event) in the thread that runs
        :meth:`run`; a UI sets it to cancel when its worker is cancelled."""

    def connect(self) -> None:
        """executor = ray: reach the cluster (or start a private local Ray) now;
        ConfigError for a wrong or unreachable ``ray_address``.  :meth:`run` does
        it first; a front end calls it earlier to report the cluster before any
        output.  Nothing to do for the local executor."""
        if self._ray is not None:
            self._ray.connect()
            self.workers = self._ray.slots

    def where(self) -> str:
        """Where the runs execute, in words (after :meth:`connect`)."""
        if self._ray is not None and self._ray.ray is not None:
            return self._ray.where()
        n = self.workers or 1
        return f"{n} local worker{'s' if n != 1 else ''}" + ("" if self.workers else " (in this process)")

    def cancel(self) -> None:
        """Stop: running runs end at their next step (status stopped), queued ones never start."""
        self._stop_requested = True
        self._cancel.set()

    def abort(self) -> None:
        """Stop at once (a second Ctrl-C): as :meth:`cancel`, and running runs also
        skip their closing evaluation and checkpoint, so the workers exit promptly."""
        self._abort_requested = True
        self._abort.set()
        self.cancel()

    @property
    def cancelled(self) -> bool:
        return self._stop_requested

    @property
    def aborted(self) -> bool:
        return self._abort_requested

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
        if time.monotonic() >= self._next_write:
            took = time.perf_counter()
            exp.write()
            took = time.perf_counter() - took
            self._next_write = time.monotonic() + max(WRITE_EVERY_S, WRITE_COST_RATIO * took)
        return outcome

    def run(self) -> Iterator[RunOutcome]:
        exp = self.experiment
        self.connect()  # a bad Ray address fails before anything is written
        exp.claim_dir()  # locked until the runs end: a second experiment cannot write here meanwhile
        try:
            exp.started_at = time.perf_counter()
            exp.write()
            order = sorted((s for s in exp.specs if s.run_id not in exp.outcomes), key=lambda s: -s.cost())
            try:
                if self._ray is not None:
                    yield from self._ray.run(order)
                elif self.workers == 0:
                    yield from self._run_here(order)
                else:
                    yield from self._run_pool(order)
            finally:  # finished, stopped, or the generator closed early: the files hold every outcome
                exp.wall_time_s = time.perf_counter() - exp.started_at
                exp.write()
        finally:
            exp.release_dir()

    def _run_here(self, order: Sequence[RunSpec]) -> Iterator[RunOutcome]:
        for spec in order:
            yield self._record(run_spec(spec, self._emit, self._cancel, self._abort))

    def _run_pool(self, order: Sequence[RunSpec]) -> Iterator[RunOutcome]:
        _start_resource_tracker()
        ctx = mp.get_context("spawn")
        events = ctx.Queue()
        self._cancel, self._abort = ctx.Event(), ctx.Event()
        if self._stop_requested:
            self._cancel.set()
        if self._abort_requested:
            self._abort.set()
        pool = cf.ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                      initargs=(events, self._cancel, self._abort, self.quiet))
        futures = {pool.submit(_run_in_worker, spec): spec for spec in order}
        pending = set(futures)
        try:
            while pending:
                done, pending = cf.wait(pending, timeout=0.1, return_when=cf.FIRST_COMPLETED)
                self._drain(events)
                self._poll()
                if self._stop_requested:  # queued runs never start: report them now, not at the end
                    cancelled = {fut for fut in pending if fut.cancel()}
                    pending -= cancelled
                    done |= cancelled
                for fut in done:
                    yield self._record(self._outcome_of(fut, futures[fut]))
            self._drain(events)
        except KeyboardInterrupt:  # Ctrl-C that got through (a second one): don't wait for closing evals
            self.abort()
            raise
        finally:
            self._cancel.set()  # a generator closed early (Ctrl-C twice, app exit) stops its workers
            _shutdown(pool, events)
            del pool, events, futures, pending
            self._release_flags()

    def _release_flags(self) -> None:
        """Swap the process-shared stop flags for thread ones with the same state.

        A spawn-context Event is five named semaphores registered with
        multiprocessing's resource tracker; they are unlinked when the Event is
        freed or by an atexit finalizer.  The TUI ends its process with
        ``os._exit`` (no atexit), so flags kept on the runner after its workers
        are gone made the tracker report "leaked semaphore objects" at quit.
        Dropping them here, as soon as the pool is shut down, frees them."""
        cancel, abort = threading.Event(), threading.Event()
        if self._cancel.is_set():
            cancel.set()
        if self._abort.is_set():
            abort.set()
        self._cancel, self._abort = cancel, abort

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

