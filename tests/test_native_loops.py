"""The compiled time loops (rnntui.cells.native): same results as the Python
loops, the build and its fallbacks, and the run's log line.

Tolerances: the compiled loops compute exp/tanh with their own vectorised code,
within 9e-8 of libm in absolute terms (measured over [-20, 20]); the matmuls
are the same ATen kernels.  Outputs and states are compared at torch's own
float32 defaults (rtol 1.3e-6, atol 1e-5).  Gradients are sums over T·B terms
(up to 1,280 here) of values that differ by that rounding: their relative
error grows like sqrt(T·B)·eps (~2e-6), so they get rtol 2e-5 (one element of
magnitude 2.4 differed by 6e-6 relative).  Float64 uses libm on both paths: 1e-12.
"""

from __future__ import annotations

import os
import time

import pytest
import torch

from rnntui.cells import build_cell, native
from rnntui.cells.spec import cell_specs

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: the cells with a compiled time loop (all of them today)
COMPILED = [name for name, spec in cell_specs().items() if spec.compiled_loop]

F32 = dict(rtol=1.3e-6, atol=1e-5)
F32_GRAD = dict(rtol=2e-5, atol=1e-5)
F64 = dict(rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def compiled():
    """The compiled loops, built into the user's kernel cache when missing
    (blocking, ~30 s, once per machine).  Without a compiler the tests that
    need them skip, except in CI (CI=1), where that is a failure."""
    line = native.prepare(background=False)
    if native.loops() is None:
        if os.environ.get("CI"):
            pytest.fail(line)
        pytest.skip(line)
    return native.loops()


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """native's module state as in a new process, with an empty cache in tmp_path."""
    monkeypatch.setenv("RNNTUI_KERNEL_CACHE", str(tmp_path / "kernels"))
    monkeypatch.delenv("RNNTUI_KERNELS", raising=False)
    for name, value in (("_loaded", None), ("_failed", None), ("_note", None), ("_builder", None)):
        monkeypatch.setattr(native, name, value)
    native._digest.cache_clear()
    yield tmp_path / "kernels"
    native._digest.cache_clear()


def run_both(cell_name, dtype, *, T, B, H, I=5, layers=2, bidirectional=False, scale=1.0,
             no_grad=False, **options):
    """Outputs, final states and every gradient, compiled and Python."""
    results = []
    for python in (False, True):
        torch.manual_seed(0)
        cell = build_cell(cell_name, input_size=I, hidden_size=H, num_layers=layers,
                          bidirectional=bidirectional, batch_first=False, **options).to(dtype)
        x = (torch.randn(T, B, I, dtype=dtype) * scale).requires_grad_(not no_grad)
        ctx = native.python_loops() if python else _nothing()
        with ctx:
            if no_grad:
                with torch.no_grad():
                    out, state = cell(x)
                results.append([out, *as_tuple(state)])
                continue
            out, state = cell(x)
            state = as_tuple(state)
            (out.square().sum() + sum((k + 1) * s.sum() for k, s in enumerate(state))).backward()
        results.append([out.detach(), *(s.detach() for s in state), x.grad]
                       + [p.grad for p in cell.parameters()])
    return results


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("cell_name", COMPILED)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("T,B,H,bidirectional", [
    (7, 3, 8, False),       # odd batch: the vectorised passes' scalar tails
    (20, 64, 64, True),     # H*B = 4096: the large-step layout of the factors
    (1, 1, 16, True),       # one step, one sample
    (50, 32, 32, False),    # a lab size
])
def test_compiled_and_python_loops_agree(compiled, cell_name, dtype, T, B, H, bidirectional):
    fast, slow = run_both(cell_name, dtype, T=T, B=B, H=H, bidirectional=bidirectional)
    assert len(fast) == len(slow)
    n_values = 1 + len(cell_specs()[cell_name].state)              # out, h (, c)
    for k, (a, b) in enumerate(zip(fast, slow)):
        tol = F64 if dtype == torch.float64 else F32 if k < n_values else F32_GRAD
        torch.testing.assert_close(a, b, **tol)


@pytest.mark.parametrize("cell_name", COMPILED)
def test_saturated_gates_agree(compiled, cell_name):
    """Inputs ×30 drive every gate into saturation (exp's clamps, tanh's two
    branches): still the Python loop's values."""
    fast, slow = run_both(cell_name, torch.float32, T=12, B=5, H=8, scale=30.0)
    for a, b in zip(fast, slow):
        torch.testing.assert_close(a, b, **F32_GRAD)
    assert all(torch.isfinite(t).all() for t in fast)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_relu_rnn_agrees(compiled, dtype):
    fast, slow = run_both("rnn", dtype, T=15, B=3, H=8, bidirectional=True, nonlinearity="relu")
    for a, b in zip(fast, slow):
        torch.testing.assert_close(a, b, **(F32_GRAD if dtype == torch.float32 else F64))


@pytest.mark.parametrize("cell_name", COMPILED)
def test_inference_forward_agrees(compiled, cell_name):
    fast, slow = run_both(cell_name, torch.float32, T=30, B=4, H=16, no_grad=True)
    for a, b in zip(fast, slow):
        torch.testing.assert_close(a, b, **F32)


def test_gru_backward_after_a_python_forward_and_the_other_way(compiled):
    """A forward on one path and its backward on the other (the factors travel
    with the forward's saved tensors, or are made by the Python backward)."""
    grads = []
    for fwd_python, bwd_python in ((False, False), (True, False), (False, True)):
        torch.manual_seed(0)
        cell = build_cell("gru", input_size=3, hidden_size=6, batch_first=False)
        x = torch.randn(9, 4, 3, requires_grad=True)
        with native.python_loops() if fwd_python else _nothing():
            out, _ = cell(x)
        with native.python_loops() if bwd_python else _nothing():
            out.square().sum().backward()
        grads.append([x.grad] + [p.grad for p in cell.parameters()])
    for other in grads[1:]:
        for a, b in zip(grads[0], other):
            torch.testing.assert_close(a, b, **F32_GRAD)


def test_nan_input_propagates(compiled):
    cell = build_cell("lstm", input_size=3, hidden_size=4, batch_first=False)
    x = torch.zeros(5, 2, 3)
    x[2, 1, 0] = float("nan")
    with torch.no_grad():
        out, _ = cell(x)
    assert torch.isnan(out[2:, 1]).all()        # the NaN sample from its step on
    assert torch.isfinite(out[:, 0]).all() and torch.isfinite(out[:2, 1]).all()


def test_the_compiled_path_is_the_one_that_runs(compiled, monkeypatch):
    calls = []
    real = native.loops_for

    def spy(x):
        ops = real(x)
        calls.append(ops is not None)
        return ops

    monkeypatch.setattr(native, "loops_for", spy)
    cell = build_cell("lstm", input_size=3, hidden_size=4, batch_first=False)
    out, _ = cell(torch.randn(5, 2, 3, requires_grad=True))
    out.sum().backward()
    assert calls == [True, True]                # forward and backward, compiled
    calls.clear()
    with native.python_loops():
        out, _ = cell(torch.randn(5, 2, 3, requires_grad=True))
        out.sum().backward()
    assert calls == [False, False]


def test_pinned_keeps_the_path_it_started_with(compiled, monkeypatch):
    x = torch.zeros(1)
    with native.pinned(build=False):
        assert native.loops_for(x) is compiled
        monkeypatch.setattr(native, "_loaded", None)      # as if unloaded meanwhile
        monkeypatch.setattr(native, "_failed", "gone")
        assert native.loops_for(x) is compiled
    assert native.loops_for(x) is None


def test_loops_for_takes_only_float_cpu_tensors(compiled):
    assert native.loops_for(torch.zeros(1, dtype=torch.float32)) is compiled
    assert native.loops_for(torch.zeros(1, dtype=torch.float64)) is compiled
    assert native.loops_for(torch.zeros(1, dtype=torch.bfloat16)) is None
    assert native.loops_for(torch.zeros(1, dtype=torch.float16)) is None


def test_env_python_turns_the_compiled_loops_off(fresh, monkeypatch):
    monkeypatch.setenv("RNNTUI_KERNELS", "python")
    assert native.loops() is None
    assert native.prepare() == "time loop: Python (RNNTUI_KERNELS=python)"
    assert not fresh.exists()                   # nothing built, nothing created


def test_a_bad_env_value_is_one_line_naming_the_allowed_ones(fresh, monkeypatch):
    monkeypatch.setenv("RNNTUI_KERNELS", "fast")
    assert native.loops() is None
    assert native.describe() == ("time loop: Python (RNNTUI_KERNELS='fast' is not allowed "
                                 "(allowed: auto, python, compiled))")


def test_no_compiler_falls_back_and_says_so(fresh, monkeypatch):
    monkeypatch.setattr(native, "_compiler", lambda: None)
    assert native.prepare() == "time loop: Python (no C++ compiler found; set CXX or install g++)"
    with pytest.raises(native.NativeBuildError, match="no C.. compiler found"):
        native.build()
    assert not fresh.exists()


def test_a_failed_compile_is_one_line_and_leaves_nothing(fresh, monkeypatch, tmp_path):
    src = tmp_path / "broken.cpp"
    src.write_text("int main( {\n")
    monkeypatch.setattr(native, "SOURCE", src)
    native._digest.cache_clear()
    with pytest.raises(native.NativeBuildError) as err:
        native.build()
    message = str(err.value)
    assert message.startswith("compiling broken.cpp failed: ") and "\n" not in message
    assert list(fresh.iterdir()) == []          # no library, no temporary file
    assert native.prepare(background=False).startswith("time loop: Python (compiling broken.cpp failed")


def test_build_writes_the_library_under_its_digest(fresh, monkeypatch, tmp_path):
    """A small source (no torch headers: compiles in a fraction of a second)
    goes through the real compiler and lands under its digest name."""
    src = tmp_path / "tiny.cpp"
    src.write_text('extern "C" int rnntui_tiny() { return 42; }\n')
    monkeypatch.setattr(native, "SOURCE", src)
    native._digest.cache_clear()
    path = native.build()
    assert path == native.library_path() and path.exists()
    assert [p.name for p in fresh.iterdir()] == [path.name]
    path.unlink()
    left = fresh / ".build-killed.so"             # a killed build's temporary file
    left.write_text("")
    old = time.time() - native.STALE_BUILD_S - 60
    os.utime(left, (old, old))
    path = native.build()
    assert path.name.startswith("loops-") and path.suffix == ".so"
    assert [p.name for p in fresh.iterdir()] == [path.name]
    src.write_text('extern "C" int rnntui_tiny() { return 43; }\n')
    native._digest.cache_clear()
    assert native.library_path() != path        # another source, another build


class FakePopen:
    started: list = []

    def __init__(self, cmd, **kw):
        FakePopen.started.append((cmd, kw))

    def poll(self):
        return None


def test_a_missing_build_starts_one_background_builder(fresh, monkeypatch):
    FakePopen.started = []
    monkeypatch.setattr(native.subprocess, "Popen", FakePopen)
    line = native.prepare()
    assert line.startswith("time loop: Python for this run (the C++ loop is compiling in the background")
    native.prepare()
    assert len(FakePopen.started) == 1
    cmd, kw = FakePopen.started[0]
    assert cmd[1:] == ["-m", "rnntui.cells.native", "--build", "--quiet"]
    assert kw["start_new_session"] is True      # outlives a short run's process
    assert native._marker().exists()


def test_another_process_build_is_not_duplicated_unless_stale(fresh, monkeypatch):
    FakePopen.started = []
    monkeypatch.setattr(native.subprocess, "Popen", FakePopen)
    marker = native._marker()
    marker.parent.mkdir(parents=True)
    marker.write_text("12345")                  # another process is building
    native.prepare()
    assert FakePopen.started == []
    old = time.time() - native.STALE_BUILD_S - 60
    os.utime(marker, (old, old))                # ... or died long ago
    native.prepare()
    assert len(FakePopen.started) == 1


def test_an_unwritable_cache_is_named(fresh, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("RNNTUI_KERNEL_CACHE", str(blocker / "kernels"))
    native._digest.cache_clear()
    line = native.prepare()
    assert line.startswith(f"time loop: Python (kernel cache {blocker / 'kernels'} is not writable")


def test_a_run_logs_its_time_loop(compiled):
    from rnntui.config import build_config
    from rnntui.engine.events import Log
    from rnntui.engine.trainer import Trainer

    def logs_of(cell, backend="scratch"):
        logs: list[str] = []
        cfg = build_config(dict(task="adding", cell=cell, backend=backend, hidden_size=8, batch_size=4,
                                seq_len=10, eval_size=16, steps=2, eval_every=2, threads=1), {})
        result = Trainer(cfg, lambda e: logs.append(e.message) if isinstance(e, Log) else None).run()
        assert result.status == "finished"
        return logs

    assert "time loop: compiled C++ (rnntui.cells.native)" in logs_of("lstm")
    assert "time loop: compiled C++ (rnntui.cells.native)" in logs_of("gru")
    assert "time loop: compiled C++ (rnntui.cells.native)" in logs_of("rnn")
    assert not any(m.startswith("time loop") for m in logs_of("lstm", "builtin"))   # torch's own


def test_status_command(compiled, capsys):
    assert native.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("compiled: ") and out.strip().endswith(".so")
