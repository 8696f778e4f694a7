"""Running an experiment's runs as tasks on a Ray cluster (``executor = "ray"``).

The driver is the process running the :class:`~rnntui.engine.experiment.runner.ExperimentRunner`;
this module is its Ray half, and the runner's interface does not change: ``run()``
yields outcomes as runs finish, ``on_event`` gets the runs' events while they
train, ``cancel()`` and ``abort()`` stop.

* **Where.** ``ray_address`` empty: a private Ray instance on this machine,
  started here, bound to the loopback interface and shut down when the
  experiment ends.  ``auto``: the cluster ``ray start`` left on this machine.
  ``HOST:PORT``: that cluster's head.  A wrong address is bad input
  (ConfigError, key ``ray_address``) within a bounded time: nothing listening
  is known at once (a TCP probe), a listener that is not a Ray head after
  ``CONNECT_TIMEOUT_S``.
* **Tasks.** One Ray generator task per run (:func:`~rnntui.engine.experiment.ray_worker.train_in_ray`)
  asking for ``threads`` CPUs, and one GPU when the device is cuda.  At most
  ``2 ×`` as many tasks as the cluster has slots are submitted at a time (the
  rest wait here, longest first, so Stop can drop them and a 10⁵-run grid does
  not sit in Ray's queues).
* **Events** stream back from each task as it yields them; the run directory
  comes back as bytes with the outcome and is written into the experiment
  directory here, so no filesystem is shared.
* **Faults.** A task whose worker process or node dies (a Ray system error) is
  tried once more; a second loss marks the run failed with the reason.  A run
  that fails by itself (NaN loss) is an ordinary failed outcome, not retried.
* **Stop** sets the stop level in a small actor that the tasks read between
  steps (see :mod:`~rnntui.engine.experiment.ray_worker`); queued runs are
  cancelled here.  A generator closed early, or Ctrl-C twice, also cancels the
  remote tasks with ``ray.cancel(force=True)``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from rnntui.config import ConfigError, build_config
from rnntui.engine.events import Log
from rnntui.engine.experiment.grid import RunSpec
from rnntui.engine.experiment.results import RunOutcome
from rnntui.engine.rundir import RunWriter, unpack_run_dir

INSTALL_HINT = "pip install 'rnntui[ray]'"
CONNECT_TIMEOUT_S = 30.0
"""How long ray.init may take to reach a head that accepted the TCP probe."""
PROBE_TIMEOUT_S = 5.0
RETRIES = 1
SLOTS_REFRESH_S = 10.0


def require_ray() -> None:
    """ConfigError (key ``executor``) with the install command when ray is not
    installed; cheap: finds the package without importing it."""
    if importlib.util.find_spec("ray") is None:
        raise ConfigError("executor", f"got 'ray', but Ray is not installed; install it with: {INSTALL_HINT}")


def _import_ray(private_local: bool) -> Any:
    if private_local and "ray" not in sys.modules:
        # Ray binds a node to the machine's network address, even a single-node
        # instance; this (Ray's switch for single-machine platforms) keeps the
        # private instance on 127.0.0.1, out of reach of the network.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise ConfigError("executor", f"got 'ray', but Ray is not installed; install it with: {INSTALL_HINT}") from None
    return ray


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def _probe(address: str) -> None:
    """ConfigError unless something accepts a TCP connection at ``address``."""
    host, port = split_address(address)
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ConfigError("ray_address", f"got {address!r}, but no Ray head answers there ({why}); start one with "
                                         f"`ray start --head` and give its address") from None


def _reason(exc: BaseException) -> str:
    """The first line of what went wrong, looking through Ray's wrapped causes."""
    chain, seen = [], exc
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(type(e).__name__ == "AuthenticationError" or "InvalidAuthToken" in str(e) for e in chain):
        return ("the cluster wants its authentication token: set RAY_AUTH_MODE=token and give the token "
                "(RAY_AUTH_TOKEN, or ~/.ray/auth_token; `ray get-auth-token` prints it on the head)")
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip(": ")


def connect(address: str) -> tuple[Any, bool]:
    """``ray``, connected as ``address`` says; True when this call started a
    private local instance (which the caller then shuts down)."""
    ray = _import_ray(private_local=not address)
    if ray.is_initialized():  # an instance this process already has (a test's, an earlier experiment's)
        current = ray.get_runtime_context().gcs_address
        if not address or address == "auto" or current == address:
            return ray, False
        raise ConfigError("ray_address", f"got {address!r}, but this process is already connected to the Ray "
                                         f"cluster at {current}; restart to use another")
    if not address:
        # In this thread: Ray ties the processes it starts to the life of the
        # thread that starts them (PR_SET_PDEATHSIG), so not in a helper thread.
        try:
            ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        except Exception as exc:  # noqa: BLE001 - reported as bad set-up, not a traceback
            raise ConfigError("executor", f"got 'ray', but a local Ray could not start: {_reason(exc)}") from None
        return ray, True
    if address != "auto":
        _probe(address)
    box: dict[str, Any] = {}

    def init() -> None:  # in a thread: ray.init retries a head that does not answer for minutes
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
            box["ok"] = True
        except BaseException as exc:  # noqa: BLE001 - reported below
            box["error"] = exc

    thread = threading.Thread(target=init, name="rnntui-ray-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT_S)
    if thread.is_alive():
        raise ConfigError("ray_address", f"got {address!r}, but no Ray cluster answered there within "
                                         f"{CONNECT_TIMEOUT_S:.0f} s (is it the head's GCS port, 6379 by default?)")
    if "error" in box:
        raise ConfigError("ray_address", f"cannot connect to the Ray cluster at {address!r}: {_reason(box['error'])}")
    return ray, False


@dataclass
class _Try:
    spec: RunSpec
    attempt: int


class RayExecutor:
    """Runs ``runner``'s specs on Ray (see the module docstring); built by the
    ExperimentRunner, which it reports through (``_emit``, ``_record``, ``_poll``)."""

    def __init__(self, runner: Any) -> None:
        require_ray()
        self.runner = runner
        base = runner.experiment.base
        self.address: str = base.ray_address
        self.threads = max(1, int(base.threads))
        self.gpu = base.device.startswith("cuda")
        self.ray: Any = None
        self.owned = False
        self.slots = 0
        self._slots_at = 0.0
        self._flags: Any = None
        self._level_sent = 0

    # ------------------------------------------------------------ set-up
    def connect(self) -> None:
        if self.ray is None:
            self.ray, self.owned = connect(self.address)
            self._refresh_slots(force=True)

    def where(self) -> str:
        nodes = len([n for n in self.ray.nodes() if n.get("Alive")]) if self.ray else 0
        place = "a private local Ray" if self.owned else f"the Ray cluster at {self.ray.get_runtime_context().gcs_address}"
        return f"{place} ({nodes} node{'s' if nodes != 1 else ''}, {self.slots} run slot{'s' if self.slots != 1 else ''})"

    def _refresh_slots(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._slots_at < SLOTS_REFRESH_S:
            return
        self._slots_at = now
        resources = self.ray.cluster_resources()
        slots = int(resources.get("CPU", 0) // self.threads)
        if self.gpu:
            slots = min(slots, int(resources.get("GPU", 0)))
        self.slots = max(1, slots)

    def _task(self) -> Any:
        from rnntui.engine.experiment import ray_worker

        return self.ray.remote(ray_worker.train_in_ray).options(
            num_cpus=self.threads, num_gpus=1 if self.gpu else 0, max_retries=0)

    # -------------------------------------------------------------- run
    def run(self, order: Sequence[RunSpec]) -> Iterator[RunOutcome]:
        from rnntui.engine.experiment.ray_worker import StopFlags

        self.connect()
        ray, runner = self.ray, self.runner
        self._flags = ray.remote(num_cpus=0)(StopFlags).remote()
        self._level_sent = 0
        task = self._task()
        queued: deque[_Try] = deque(_Try(spec, 0) for spec in order)
        running: dict[Any, _Try] = {}
        try:
            while queued or running:
                runner._poll()
                self._send_stop_level()
                if runner.cancelled:
                    while queued:
                        yield runner._record(_cancelled(queued.popleft().spec))
                self._refresh_slots()
                while queued and len(running) < 2 * self.slots:
                    attempt = queued.popleft()
                    running[task.remote(attempt.spec, self._flags, attempt.attempt)] = attempt
                if not running:
                    continue
                ready, _ = ray.wait(list(running), num_returns=len(running), timeout=0.1)
                for gen in ready:
                    outcome, retry = self._take(gen, running[gen])
                    if outcome is None and retry is None:
                        continue  # events only; the task goes on
                    del running[gen]
                    if retry is not None:
                        queued.appendleft(retry)
                    else:
                        yield runner._record(outcome)
        except KeyboardInterrupt:  # a second Ctrl-C that got through: stop the remote tasks now
            runner.abort()
            raise
        finally:
            self._close(running)

    def _take(self, gen: Any, attempt: _Try) -> tuple[RunOutcome | None, _Try | None]:
        """Read what ``gen`` has ready: (outcome, None) when the run is done,
        (None, retry) when its worker was lost and it gets another try, (None, None)
        when only events came (they go to the runner)."""
        ray, spec = self.ray, attempt.spec
        try:
            item = ray.get(next(gen))
        except StopIteration:  # ended without an outcome: treat as a lost worker
            return self._lost(attempt, RuntimeError("the task ended without reporting its run"))
        except ray.exceptions.TaskCancelledError:
            return _cancelled(spec, "cancelled on the cluster"), None
        except ray.exceptions.RayTaskError as exc:  # our code raised on the worker: not worth a retry
            return self._failed(spec, f"the Ray task failed: {_reason(exc.cause or exc)}"), None
        except ray.exceptions.RayError as exc:  # the worker process or its node went away
            return self._lost(attempt, exc)
        if "events" in item:
            for data in item["events"]:
                self.runner._emit(data)
            return None, None
        outcome: RunOutcome = item["outcome"]
        unpack_run_dir(item["files"], spec.out_dir)
        return outcome, None

    def _lost(self, attempt: _Try, exc: BaseException) -> tuple[RunOutcome | None, _Try | None]:
        spec, why = attempt.spec, _reason(exc)
        if attempt.attempt < RETRIES and not self.runner.cancelled:
            self.runner._emit(Log(spec.run_id, f"worker lost ({why}); trying the run again", "warning").to_json())
            return None, _Try(spec, attempt.attempt + 1)
        tries = attempt.attempt + 1
        return self._failed(spec, f"worker lost on {tries} tr{'ies' if tries > 1 else 'y'}: {why}"), None

    def _failed(self, spec: RunSpec, reason: str) -> RunOutcome:
        """A run that never came back: its directory still says why (config and summary)."""
        from rnntui.engine.events import RunFailed

        outcome = RunOutcome(spec.run_id, spec.point, spec.trial, spec.seed, "failed", reason=reason,
                             path=spec.out_dir)
        event = RunFailed(spec.run_id, step=0, reason=reason, wall_time_s=0.0)
        try:
            writer = RunWriter(spec.out_dir, build_config(spec.config))
            writer(event)
            writer.close()
        except OSError:  # the outcome in results.json still says why
            pass
        self.runner._emit(event.to_json())
        return outcome

    def _send_stop_level(self) -> None:
        level = 2 if self.runner.aborted else 1 if self.runner.cancelled else 0
        if level > self._level_sent:
            self._flags.set.remote(level)
            self._level_sent = level

    def _close(self, running: dict[Any, _Try]) -> None:
        ray = self.ray
        try:
            if running:  # closed early (app exit, Ctrl-C twice): nothing may go on training out there
                self._flags.set.remote(2)
                for gen in running:
                    ray.cancel(gen, force=True)
            ray.kill(self._flags)
        except Exception:  # noqa: BLE001 - the cluster may be gone already
            pass
        if self.owned:
            ray.shutdown()
            self.ray, self.owned = None, False


def _cancelled(spec: RunSpec, reason: str = "experiment stopped before this run began") -> RunOutcome:
    return RunOutcome(spec.run_id, spec.point, spec.trial, spec.seed, "cancelled", reason=reason, path=spec.out_dir)
