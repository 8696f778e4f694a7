"""A run directory: what a finished (or failed) run leaves on disk.

    config.toml     the full config of the run
    metrics.jsonl   one JSON object per step-window and per evaluation, as they happen
    summary.json    config, final validation metrics, params, steps, wall time, status
    checkpoint.pt   model/optimiser/RNG state (torch.load(weights_only=True))
    .rnntui         marks the directory as rnntui's, and locks it while a run writes

:class:`RunWriter` is an event consumer: the headless runner and the TUI both
feed it the trainer's events, so a run that fails half-way keeps its history.
It claims the directory first (:mod:`rnntui.engine.dirclaim`: one run at a
time, no one else's files).  Files are written so that a kill or a full disk
never leaves a part of one (:mod:`rnntui.engine.files`): config and summary
atomically, metrics a whole line at a time; a small reserve file is given up
when the disk is full, so the summary of a run that ran out of space is
still written.  :func:`read_run_dir` reads a directory back, checking what it
reads (Compare opens directories from anywhere).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from rnntui.config import Config, ConfigError, to_toml
from rnntui.config.keys import one_line, printable, show
from rnntui.engine.dirclaim import RESERVE, DirClaim, claim_dir
from rnntui.engine.events import EvalMetrics, Event, RunFailed, RunFinished, RunStarted, StepMetrics
from rnntui.engine.files import append_line, is_full, show_path, write_atomic
from rnntui.engine.history import EVAL_ROWS, STEP_ROWS, Thinned

CHECKPOINT_NAME = "checkpoint.pt"
RESERVE_BYTES = 64 * 1024
"""Room kept for the summary (a few kB) and its temporary copy on a full disk."""


def timestamped_dir(name: str, root: str | Path = "runs") -> Path:
    """``root/<YYYYmmdd-HHMMSS>-<name>``, with ``-2``, ``-3``... if it exists."""
    base = Path(root) / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = Path(f"{base}-{n}")
    return path


def default_run_dir(cfg: Config, root: str | Path = "runs") -> Path:
    return timestamped_dir(f"{cfg.task}-{cfg.cell}", root)


class RunWriter:
    """Claims ``path`` and writes the run's files into it (see the module docstring).

    Raises ConfigError (key ``out``) when the directory cannot be claimed or the
    disk is full before training starts; then nothing is left behind.  ``keep``:
    a checkpoint in the directory that the run resumes from (not removed)."""

    def __init__(self, path: str | Path, cfg: Config, *, overwrite: bool = False,
                 keep: tuple[str | Path, ...] = ()) -> None:
        self.path = Path(path)
        self.cfg = cfg
        self.started: RunStarted | None = None
        self.summary: dict[str, Any] | None = None
        self.failure: OSError | None = None
        """A summary that could not be written even with the reserve given up."""
        self.claim: DirClaim = claim_dir(self.path, overwrite=overwrite, keep=keep)
        self._fd: int | None = None
        self._end = 0
        try:
            write_atomic(self.path / "config.toml", to_toml(cfg))
            write_atomic(self.path / RESERVE, os.urandom(RESERVE_BYTES), sync=False)
            self._fd = os.open(self.path / "metrics.jsonl", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            self.claim.discard([self.path / n for n in ("config.toml", RESERVE, "metrics.jsonl")])
            if is_full(exc):
                raise ConfigError("out", f"no space left on {show_path(self.path)!r}") from None
            raise ConfigError("out", f"cannot write the run directory {show_path(self.path)!r}: "
                                     f"{exc.strerror or exc}") from None

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT_NAME

    # ------------------------------------------------------------ metrics
    def _append(self, row: dict[str, Any]) -> None:
        if self._fd is None:
            return
        line = (json.dumps(row) + "\n").encode("utf-8")
        self._end = append_line(self._fd, line, self._end, self.path / "metrics.jsonl")

    def write_lines(self, text: bytes) -> None:
        """Whole JSON lines a resumed run inherits (the rows of its checkpoint)."""
        if self._fd is not None and text:
            self._end = append_line(self._fd, text, self._end, self.path / "metrics.jsonl")

    def snapshot(self) -> bytes:
        """Every metrics line written so far (what a checkpoint carries for a resume)."""
        if self._fd is None:
            return b""
        return os.pread(self._fd, self._end, 0)

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.started = event
        elif isinstance(event, (StepMetrics, EvalMetrics)):
            self._append(event.to_json())
        elif isinstance(event, (RunFinished, RunFailed)):
            self._write_summary(event)

    # ------------------------------------------------------------ summary
    def _write_summary(self, event: RunFinished | RunFailed) -> None:
        if isinstance(event, RunFinished):
            status, final, reason = ("stopped" if event.stopped else "finished"), event.final, ""
        else:
            status, final, reason = "failed", {}, event.reason
        self.summary = {
            "run_id": event.run_id,
            "status": status,
            "reason": reason,
            "config": self.cfg.to_dict(),
            "final": final,
            "params": self.started.params if self.started else 0,
            "device": self.started.device if self.started else "",
            "baseline": self.started.baseline if self.started else {},
            "steps": event.step,
            "wall_time_s": round(event.wall_time_s, 3),
        }
        text = json.dumps(self.summary, indent=2) + "\n"
        try:
            write_atomic(self.path / "summary.json", text)
        except OSError:
            (self.path / RESERVE).unlink(missing_ok=True)  # give up the reserve: room for the summary
            try:
                write_atomic(self.path / "summary.json", text)
            except OSError as exc:
                self.failure = exc

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        (self.path / RESERVE).unlink(missing_ok=True)
        self.claim.release()


# ------------------------------------------------------------------ reading
class RunDirError(ValueError):
    """A run directory cannot be read: missing, not rnntui's, or damaged.  The
    message is one printable line naming the file and what is wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


MAX_SUMMARY_BYTES = 16 << 20
MAX_LINE_BYTES = 1 << 20
"""Longest metrics.jsonl line read (a row with every metric of 16 evaluation lengths is < 10 kB)."""
MAX_COUNT = 2**53
"""Largest step, epoch or parameter count read: every count up to it is exact as a float (the plots' x)."""
MAX_METRICS = 256
"""Most metrics in one row or summary table (a task's few metrics at up to 16 evaluation lengths)."""
MAX_NAME = 100
"""Longest metric name (``acc@100000`` is 10 characters)."""
MAX_TEXT = 10_000
"""Longest run id, reason or device string."""
STATUSES = ("ready", "running", "paused", "finished", "stopped", "failed")


def _number(v: Any) -> bool:
    """A JSON number (NaN and infinities included: a diverged run logs them)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and (
        isinstance(v, float) or abs(v) <= MAX_COUNT)


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_COUNT


def _text(v: Any) -> bool:
    return isinstance(v, str) and len(v) <= MAX_TEXT


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool)) or (
        isinstance(v, list) and all(x is None or isinstance(x, (str, int, float, bool)) for x in v))


def _table(value: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, dict) and all(isinstance(k, str) and value(x) for k, x in v.items())


def _metrics(v: Any) -> bool:
    return (isinstance(v, dict) and len(v) <= MAX_METRICS
            and all(isinstance(k, str) and 0 < len(k) <= MAX_NAME and _number(x) for k, x in v.items()))


METRICS_ALLOWED = f"a table of at most {MAX_METRICS} metric names (1-{MAX_NAME} characters) and numbers"
SUMMARY_FIELDS: dict[str, tuple[Any, Callable[[Any], bool], str]] = {
    "run_id": ("?", _text, f"a string of at most {MAX_TEXT:,} characters"),
    "status": ("finished", lambda v: v in STATUSES, ", ".join(STATUSES)),
    "reason": ("", _text, f"a string of at most {MAX_TEXT:,} characters"),
    "config": ({}, _table(_scalar), "a table of config keys and plain values"),
    "final": ({}, _metrics, METRICS_ALLOWED),
    "params": (0, _count, "an integer from 0 to 2^53"),
    "device": ("", _text, f"a string of at most {MAX_TEXT:,} characters"),
    "baseline": ({}, _metrics, METRICS_ALLOWED),
    "steps": (0, _count, "an integer from 0 to 2^53"),
    "wall_time_s": (0.0, lambda v: _number(v) and v >= 0, "a number >= 0"),
}
"""summary.json field -> (default when absent, check, what is allowed)."""


def _loads(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise RunDirError(f"{where}: nested too deeply to be an rnntui file") from None


def _shown(value: Any) -> Any:
    """Strings as the screens may print them: control characters escaped
    (a run id of ``\\x1b[2J`` must not clear the terminal)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [_shown(x) for x in value]
    if isinstance(value, dict):
        return {printable(k): _shown(x) for k, x in value.items()}
    return value


def read_summary(path: Path) -> dict[str, Any]:
    """summary.json, checked field by field (absent fields get their defaults;
    strings with their control characters escaped)."""
    where = show_path(path / "summary.json")
    try:
        with open(path / "summary.json", "rb") as fh:
            raw = fh.read(MAX_SUMMARY_BYTES + 1)
    except OSError as exc:
        raise RunDirError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_SUMMARY_BYTES:
        raise RunDirError(f"{where}: larger than {MAX_SUMMARY_BYTES >> 20} MB, not an rnntui summary")
    summary = _loads(raw.decode("utf-8", "replace"), where)
    if not isinstance(summary, dict):
        raise RunDirError(f"{where}: got {show(summary)}; allowed: a JSON object (an rnntui summary)")
    out = {}
    for name, (default, ok, allowed) in SUMMARY_FIELDS.items():
        value = summary.get(name, default)
        if not ok(value):
            raise RunDirError(f"{where}: field {name!r}: got {show(value)}; allowed: {allowed}")
        out[name] = _shown(value)
    return out


def _metric_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    where = show_path(path)
    with open(path, "rb") as fh:
        number = 0
        while raw := fh.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                raise RunDirError(f"{where} line {number}: longer than {MAX_LINE_BYTES >> 20} MB, "
                                  "not an rnntui metrics line")
            if not raw.strip():
                continue
            if not raw.endswith(b"\n"):
                return  # a last line cut short by a crash: the whole lines before it count
            row = _loads(raw.decode("utf-8", "replace"), f"{where} line {number}")
            yield number, row


def _check_row(row: Any, where: str) -> str:
    """The row's kind (``step`` or ``eval``); RunDirError unless it is a valid row."""
    if not isinstance(row, dict):
        raise RunDirError(f"{where}: got {show(row)}; allowed: a JSON object per line")
    kind = row.get("event")
    ok = _count(row.get("step")) and (row.get("epoch") is None or _count(row.get("epoch")))
    if kind == "step":
        ok = ok and _number(row.get("loss")) and (row.get("grad_norm") is None or _number(row.get("grad_norm")))
    elif kind == "eval":
        ok = ok and _metrics(row.get("metrics"))
    else:
        raise RunDirError(f"{where}: event {show(kind)}; allowed: step, eval")
    if not ok:
        what = "loss (a number)" if kind == "step" else "metrics (" + METRICS_ALLOWED + ")"
        raise RunDirError(f"{where}: got {show(row)}; allowed: a {kind} row (step and epoch from 0 to 2^53, "
                          f"{what})")
    if kind == "eval":
        row["metrics"] = _shown(row["metrics"])
    return kind


def has_file(path: Path) -> bool:
    """Whether ``path`` is a regular file; False for any path the system refuses
    (too long, a NUL byte, a loop of links)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def read_run_dir(path: str | Path) -> dict[str, Any]:
    """A run directory's checked summary and metric history (for Compare, the
    run browser and ``rnntui plot``).

    Raises RunDirError (a ValueError) with one line naming the file and what is
    wrong, and nothing else for any content of the directory; the history is
    thinned to a bounded size (see ``engine.history``)."""
    path = Path(path)
    if not has_file(path / "summary.json"):
        raise RunDirError(f"{show_path(path)} has no summary.json (not an rnntui run directory?)")
    summary = read_summary(path)
    steps: list[dict[str, Any]] = Thinned(cap=STEP_ROWS)
    evals: list[dict[str, Any]] = Thinned(cap=EVAL_ROWS)
    metrics_path = path / "metrics.jsonl"
    if has_file(metrics_path):
        try:
            for number, row in _metric_rows(metrics_path):
                kind = _check_row(row, f"{show_path(metrics_path)} line {number}")
                row.setdefault("epoch", 0)
                (steps if kind == "step" else evals).append(row)
        except OSError as exc:
            raise RunDirError(f"{show_path(metrics_path)}: cannot be read ({exc.strerror or exc})") from None
    return {"summary": summary, "steps": steps, "evals": evals, "path": str(path)}


def pack_run_dir(path: str | Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``path`` as ``{relative POSIX name: (permission bits, bytes)}``:
    a run directory made on another machine travels back to the driver in one message."""
    root = Path(path)
    return {p.relative_to(root).as_posix(): (p.stat().st_mode & 0o777, p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file()}


def unpack_run_dir(files: dict[str, tuple[int, bytes]], path: str | Path) -> None:
    """Write :func:`pack_run_dir`'s files under ``path``, with their permission bits
    (a name that would land outside it is refused with ValueError)."""
    root = Path(path).resolve()
    for name, (mode, data) in files.items():
        target = (root / name).resolve()
        if root != target and root not in target.parents:
            raise ValueError(f"run directory file {name!r} would land outside {root}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(mode)
