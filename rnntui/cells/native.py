"""The compiled time loops: built once per machine, cached, Python as the fallback.

The fused kernels of every cell spend most of their time at lab
sizes issuing small ops from Python.  ``native_loops.cpp`` holds the same loops
in C++: the same buffers and matmuls (ATen's CPU kernels), the pointwise part
of a step as one vectorised pass, so the two paths agree to float32 rounding
(not bit for bit).  This module compiles it with the system's C++ compiler into
a shared library registered as ``torch.ops.rnntui.*``, caches it, and says
which path runs.

Paths (:func:`loops`): ``compiled`` when the library for this source, this
torch, this Python and this CPU is in the cache and loads; ``python``
otherwise.  Nothing here
ever compiles on the caller's thread unless asked (:func:`build`): the run
launcher calls :func:`prepare`, which loads a cached build or starts one in a
detached background process (so neither the TUI nor a headless run waits on a
compiler; the runs after it finishes use it), and returns the log line that
names the path.

``RNNTUI_KERNELS`` = ``auto`` (default: as above) | ``python`` (never use the
compiled loops) | ``compiled`` (build now if missing, blocking; a failure is an
error).  ``RNNTUI_KERNEL_CACHE`` overrides the cache directory
(default ``$XDG_CACHE_HOME/rnntui/kernels`` or ``~/.cache/rnntui/kernels``).
``CXX`` names the compiler (default ``c++``).

    python -m rnntui.cells.native [--build] [--quiet]   # status; build if missing
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

import torch

__all__ = ["loops", "loops_for", "prepare", "build", "status", "library_path", "python_loops", "NativeBuildError",
           "MODES", "has_loop"]

SOURCE = Path(__file__).with_name("native_loops.cpp")
MODES = ("auto", "python", "compiled")
_ENV_MODE, _ENV_CACHE = "RNNTUI_KERNELS", "RNNTUI_KERNEL_CACHE"

_lock = threading.Lock()
_loaded: Optional[str] = None          # path of the loaded library
_builder: Optional[subprocess.Popen] = None
_failed: Optional[str] = None          # why loading or building failed (once per process)
_python_only = 0                       # > 0 inside python_loops()
_note: Optional[str] = None            # why no background build could start


class NativeBuildError(RuntimeError):
    """The compiled loops could not be built or loaded (one-line message)."""


def mode() -> str:
    """The ``RNNTUI_KERNELS`` setting (``auto`` when unset)."""
    value = os.environ.get(_ENV_MODE, "auto").strip().lower() or "auto"
    if value not in MODES:
        raise NativeBuildError(f"{_ENV_MODE}={value[:40]!r} is not allowed (allowed: {', '.join(MODES)})")
    return value


def cache_dir() -> Path:
    if os.environ.get(_ENV_CACHE):
        return Path(os.environ[_ENV_CACHE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rnntui" / "kernels"


def _compiler() -> Optional[str]:
    return shutil.which(os.environ.get("CXX", "c++")) or shutil.which("g++") or shutil.which("clang++")


def _command(cxx: str, src: Path, out: Path) -> list[str]:
    from torch.utils import cpp_extension

    torch_lib = os.path.join(os.path.dirname(torch.__file__), "lib")
    abi = int(torch._C._GLIBCXX_USE_CXX11_ABI)
    # The pointwise passes are written to be vectorised for this CPU
    # (-march=native; the cache name carries the CPU's feature flags, see
    # library_path); -fno-trapping-math lets the compiler turn their selects
    # into blends (no FP exception is ever trapped here).
    cmd = [cxx, "-O3", "-march=native", "-fno-trapping-math", "-std=c++17", "-shared", "-fPIC",
           "-w", f"-D_GLIBCXX_USE_CXX11_ABI={abi}"]
    cmd += [f"-I{p}" for p in cpp_extension.include_paths()]
    cmd += [str(src), "-o", str(out), f"-L{torch_lib}", "-lc10", "-ltorch_cpu",
            f"-Wl,-rpath,{torch_lib}"]
    return cmd


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            return next((ln for ln in fh if ln.startswith(("flags", "Features"))), "")
    except OSError:
        return platform.machine()


@functools.lru_cache(maxsize=None)
def _digest(cache: Path) -> Path:
    digest = hashlib.sha256()
    digest.update(SOURCE.read_bytes())
    digest.update(f"{torch.__version__}|{sys.version_info[:2]}|{sys.platform}|{_cpu_flags()}".encode())
    return cache / f"loops-{digest.hexdigest()[:16]}.so"


def library_path() -> Path:
    """Where the build of this source for this torch, this Python and this CPU
    lives: the name carries a digest of all four, so a change of any is a new
    build."""
    return _digest(cache_dir())


def build() -> Path:
    """Compile the loops into the cache (blocking, ~30 s) and return the path.
    The library is written under a temporary name and renamed into place, so a
    concurrent build or a killed one never leaves a half-written library."""
    target = library_path()
    if target.exists():
        return target
    cxx = _compiler()
    if cxx is None:
        raise NativeBuildError("no C++ compiler found (set CXX, or install g++): using the Python loops")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for old in target.parent.glob(".build-*.so"):         # left by a killed build
            with contextlib.suppress(OSError):
                if time.time() - old.stat().st_mtime > STALE_BUILD_S:
                    old.unlink()
        fd, tmp = tempfile.mkstemp(prefix=".build-", suffix=".so", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise NativeBuildError(f"kernel cache {target.parent}: {exc.strerror or exc}") from None
    try:
        proc = subprocess.run(_command(cxx, SOURCE, Path(tmp)), capture_output=True, text=True)
        if proc.returncode != 0:
            first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:200])
            raise NativeBuildError(f"compiling {SOURCE.name} failed: {first[:200]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _load(path: Path) -> None:
    global _loaded
    torch.ops.load_library(str(path))
    _loaded = str(path)


def loops():
    """``torch.ops.rnntui`` when the compiled loops are loaded, else None (the
    fused kernels then run their Python loops).  Cheap: called per layer."""
    if _python_only:
        return None
    if _loaded is not None:
        return torch.ops.rnntui
    if _failed is not None:
        return None
    with _lock:
        if _loaded is None and _failed is None:
            _try_cached()
    return torch.ops.rnntui if _loaded is not None else None


def has_loop(cell: str) -> bool:
    """The cell's fused kernel has a compiled time loop (its spec says so)."""
    from .spec import cell_spec

    return cell_spec(cell).compiled_loop


def loops_for(x: torch.Tensor):
    """The compiled loops when they can take ``x`` (a float32 or float64 CPU
    tensor) and are on (see :func:`loops`, :func:`pinned`), else None."""
    if _python_only or x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        return None
    ops = getattr(_local, "ops", _UNSET)
    return loops() if ops is _UNSET else ops


_local = threading.local()
_UNSET = object()


@contextlib.contextmanager
def pinned(build: bool = True):
    """Inside (on this thread), the fused kernels keep the path found on entry,
    even if a background build finishes meanwhile.  With ``build``, a missing
    build is started in the background on entry (:func:`prepare`)."""
    if build:
        prepare()
    prev = getattr(_local, "ops", _UNSET)
    _local.ops = loops()
    try:
        yield
    finally:
        _local.ops = prev


def describe() -> str:
    """The log line for the path this thread runs (inside :func:`pinned`)."""
    ops = getattr(_local, "ops", _UNSET)
    if ops is _UNSET:
        ops = loops()
    if ops is not None:
        return "time loop: compiled C++ (rnntui.cells.native)"
    if _failed is not None:
        return f"time loop: Python ({_failed})"
    if _compiler() is None:
        return "time loop: Python (no C++ compiler found; set CXX or install g++)"
    if _note is not None:
        return f"time loop: Python ({_note})"
    return ("time loop: Python for this run (the C++ loop is compiling in the background, "
            "~30 s; the runs after it use it)")


@contextlib.contextmanager
def python_loops():
    """Inside, the fused kernels run their Python loops even when the compiled
    ones are loaded (tests and ``bench/cells.py`` compare the two paths).
    Process-wide, not per thread."""
    global _python_only
    _python_only += 1
    try:
        yield
    finally:
        _python_only -= 1


def _try_cached() -> None:
    """Load the cached build if there is one (and the mode allows it)."""
    global _failed
    try:
        m = mode()
        if m == "python":
            _failed = f"{_ENV_MODE}=python"
            return
        path = library_path()
        if not path.exists():
            if m == "compiled":
                path = build()
            else:
                return
        _load(path)
    except NativeBuildError as exc:
        _failed = str(exc)
    except (OSError, RuntimeError) as exc:
        _failed = f"loading the compiled loops failed: {str(exc).splitlines()[0][:200]}"


def prepare(background: bool = True) -> str:
    """Make the compiled loops available if possible; return the log line of
    the path (see :func:`describe`).  Without a cached build: starts a detached
    builder process and returns at once (``background``), or builds now."""
    global _builder, _note
    if loops() is not None or _failed is not None or _compiler() is None:
        return describe()
    if not background:
        with _lock:
            try:
                _load(build())
            except NativeBuildError as exc:
                _note = str(exc)
        return describe()
    with _lock:
        if _builder is None or _builder.poll() is not None:
            try:
                if _claim_build():
                    _builder = subprocess.Popen(
                        [sys.executable, "-m", "rnntui.cells.native", "--build", "--quiet"],
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL, start_new_session=True,
                        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
            except OSError as exc:
                _note = f"kernel cache {cache_dir()} is not writable: {exc.strerror or exc}"
    return describe()


#: a build marker older than this is left over from a builder that died
STALE_BUILD_S = 600.0


def _marker() -> Path:
    return library_path().with_suffix(".building")


def _claim_build() -> bool:
    """Create the build marker beside the library; False when another process
    (this one's or another's) is already building it."""
    marker = _marker()
    marker.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                if time.time() - marker.stat().st_mtime < STALE_BUILD_S:
                    return False
                marker.unlink()
            except FileNotFoundError:
                pass
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True
    return False


def status() -> str:
    """One line: which path runs and where the build is (or would be)."""
    path = library_path()
    if _loaded is not None:
        return f"compiled: {_loaded}"
    if _failed is not None:
        return f"python: {_failed}"
    return f"{'built' if path.exists() else 'not built'}: {path}"


def main(argv: Optional[list[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    quiet = "--quiet" in args
    try:
        if "--build" in args:
            try:
                path = build()
            finally:
                with contextlib.suppress(OSError):
                    _marker().unlink()
            _load(path)
            if not quiet:
                print(f"compiled: {path}")
            return 0
        print(status())
        return 0
    except NativeBuildError as exc:
        if not quiet:
            print(f"rnntui: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
