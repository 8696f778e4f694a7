"""Inspect engine and ``rnntui inspect``: parameter tables, shapes, ‖∂L/∂h_t‖, gates, probe."""

import itertools
import json
import re
import subprocess
import sys

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnntui.cells import build_cell, cell_spec
from rnntui.config import build_config
from rnntui.engine.events import EVENT_TYPES, GateTrace, HiddenGradients, StepMetrics
from rnntui.engine.inspect.tables import group_totals, parameter_table, parameter_total, shape_cases
from rnntui.engine.model import build_model
from rnntui.engine.inspect.probes import (MAX_TRACE_STEPS, MAX_TRACE_UNITS, PROBE_SEQUENCES, gate_probe,
                                  gate_trace_event, gate_traces, grad_profile, hidden_grad_norms, inspect_probe)
from rnntui.engine.record import RunRecord
from rnntui.engine.trainer import Trainer
from rnntui.cli.main import main as cli_main
from rnntui.engine.inspect.describe import describe
from rnntui.tasks import build_task


def inspect_main(argv):
    return cli_main(["inspect", *argv])


def report(cfg, **kw):
    """What ``rnntui inspect --json`` prints."""
    return describe(cfg, **kw).to_json()


TORCH = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


# ------------------------------------------------------------------ parameters
def test_parameter_totals_equal_torch_for_every_option():
    checked = 0
    for cell, layers, bidir, bias in itertools.product(("rnn", "lstm", "gru"), (1, 2, 3), (False, True),
                                                       (True, False)):
        for proj in ((0, 3) if cell == "lstm" else (0,)):
            kw = dict(input_size=7, hidden_size=5, num_layers=layers, bidirectional=bidir, bias=bias)
            ref = TORCH[cell](**kw, **({"proj_size": proj} if proj else {}))
            want = sum(p.numel() for p in ref.parameters())
            want_rows = [(n, tuple(p.shape)) for n, p in ref.named_parameters()]
            for backend in ("scratch", "builtin"):
                module = build_cell(cell, backend=backend, proj_size=proj, **kw)
                rows = parameter_table(module)
                assert parameter_total(rows) == want, (cell, backend, kw, proj)
                assert [(r.name, r.shape) for r in rows] == want_rows
                assert sum(n for _, n in group_totals(rows)) == want
                cfg = build_config({"cell": cell, "backend": backend, "hidden_size": 5, "num_layers": layers,
                                    "bidirectional": bidir, "bias": bias, "proj_size": proj})
                data = report(cfg, input_size=7, shapes=False)
                assert data["total"] == want
                assert [(p["name"], tuple(p["shape"])) for p in data["parameters"]] == want_rows
                checked += 1
    assert checked == 2 * (3 * 3 * 2 * 2 + 3 * 2 * 2)


@pytest.mark.parametrize("cell,gates", [("mlstm", 4), ("mgru", 3)])
def test_multiplicative_totals_follow_the_equations(cell, gates):
    I, H, L = 6, 4, 2
    module = build_cell(cell, input_size=I, hidden_size=H, num_layers=L, bidirectional=True)
    expected = 0
    for layer in range(L):
        ik = I if layer == 0 else 2 * H
        expected += 2 * (gates * H * (ik + H) + 2 * gates * H + ik * ik + ik * H + ik)
    rows = parameter_table(module)
    assert parameter_total(rows) == expected == sum(p.numel() for p in module.parameters())
    roles = {r.name: r.role for r in rows}
    assert roles["weight_im_l1_reverse"] == "input → modulation m"
    assert [r.layer for r in rows if r.name.startswith("bias_m")] == [0, 0, 1, 1]


def test_model_table_includes_the_head():
    cfg = build_config({"task": "adding", "cell": "gru", "hidden_size": 6})
    task = build_task(cfg)
    model = build_model(cfg, task)
    rows = parameter_table(model)
    assert parameter_total(rows) == sum(p.numel() for p in model.parameters())
    assert dict(group_totals(rows)) == {"layer 0": 3 * (6 * 2 + 6 * 6 + 2 * 6), "head": 6 + 1}


# ---------------------------------------------------------------------- shapes
def _rows(case):
    return {name: shape for name, shape, _ in case.rows}


@pytest.mark.filterwarnings("ignore:LSTM with projections")
def test_shape_cases_equal_real_torch_runs():
    B, T, I, H, P, L = 3, 6, 4, 8, 5, 2
    cfg = build_config({"cell": "lstm", "hidden_size": H, "num_layers": L, "proj_size": P})
    cases = shape_cases(cfg, I, B, T)
    titles = [c.title for c in cases]
    assert any("batch_first=False" in t for t in titles) and any("bidirectional=True" in t for t in titles)
    torch.manual_seed(0)
    for case, batch_first, bidir, proj in ((cases[0], True, False, P), (cases[1], False, False, P),
                                            (cases[2], True, True, P), (cases[3], True, False, 0)):
        ref = nn.LSTM(I, H, L, batch_first=batch_first, bidirectional=bidir, proj_size=proj)
        x = torch.randn((B, T, I) if batch_first else (T, B, I))
        out, (h, c) = ref(x)
        assert _rows(case) == {"input x": tuple(x.shape), "h_0 and h_n": tuple(h.shape),
                               "c_0 and c_n": tuple(c.shape), "output": tuple(out.shape)}, case.title
    packed_case = next(c for c in cases if "packed" in c.title)
    lengths = packed_case.lengths
    assert lengths == sorted(lengths, reverse=True) and lengths[0] == T and len(lengths) == B
    ref = nn.LSTM(I, H, L, batch_first=True, proj_size=P)
    x = torch.randn(B, T, I)
    packed = pack_padded_sequence(x, lengths, batch_first=True)
    out, (h, c) = ref(packed)
    padded, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    assert _rows(packed_case) == {
        "padded input": (B, T, I), "packed.data": (sum(lengths), I), "packed.batch_sizes": (T,),
        "output packed.data": tuple(out.data.shape), "output padded back": tuple(padded.shape),
        "h_0 and h_n": tuple(h.shape), "c_0 and c_n": tuple(c.shape)}
    padded_case = next(c for c in cases if "padded (from-scratch" in c.title)
    assert "no PackedSequence" in padded_case.note and _rows(padded_case)["output"] == (B, T, P)


def test_shape_cases_for_cells_without_builtin_or_projection():
    cfg = build_config({"cell": "mgru", "hidden_size": 4, "bidirectional": True})
    cases = shape_cases(cfg, 3, 2, 5)
    assert not any("packed" in c.title for c in cases)  # torch has no mGRU: padded shapes only
    assert next(c for c in cases if c.title == "projection").note.startswith("proj_size exists only")
    assert _rows(cases[0])["output"] == (2, 5, 8) and _rows(cases[0])["h_0 and h_n"] == (2, 2, 4)
    assert _rows(next(c for c in cases if c.title == "bidirectional=False"))["output"] == (2, 5, 4)


def test_shape_cases_draw_no_random_numbers():
    state = torch.get_rng_state()
    shape_cases(build_config({"cell": "gru", "hidden_size": 64, "num_layers": 3}), 16, 8, 100)
    assert torch.equal(state, torch.get_rng_state())


# ---------------------------------------------------------- gradients over time
def _manual_norms(model, task, batch, cell):
    """‖∂L/∂h_t‖ by a hand-written unroll of the top layer with torch's cells (or the
    equations for the multiplicative cells), from the model's weights."""
    rnn = model.rnn
    x = batch.x.transpose(0, 1)  # (T, B, I)
    T, B, _ = x.shape
    layer_in = x
    for layer in range(rnn.num_layers):
        p = {k: getattr(rnn, f"{k}_l{layer}") for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        H = rnn.hidden_size
        h = torch.zeros(B, H)
        c = torch.zeros(B, H)
        hs = []
        if cell in ("rnn", "lstm", "gru"):
            step = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[cell](layer_in.shape[2], H)
            step.load_state_dict({k: v for k, v in p.items()})
        for t in range(T):
            xt = layer_in[t]
            if cell == "lstm":
                h, c = step(xt, (h, c))
            elif cell in ("rnn", "gru"):
                h = step(xt, h)
            else:  # multiplicative: m = W_im x + b_m + W_hm h;  x̂ = m ⊙ x;  gates on x̂
                m = xt @ getattr(rnn, f"weight_im_l{layer}").t() + getattr(rnn, f"bias_m_l{layer}") \
                    + h @ getattr(rnn, f"weight_hm_l{layer}").t()
                gx = (m * xt) @ p["weight_ih"].t() + p["bias_ih"]
                gh = h @ p["weight_hh"].t() + p["bias_hh"]
                if cell == "mlstm":
                    i, f, g, o = (gx + gh).chunk(4, 1)
                    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
                    h = o.sigmoid() * c.tanh()
                else:
                    r = torch.sigmoid(gx[:, :H] + gh[:, :H])
                    z = torch.sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
                    n = torch.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
                    h = (1 - z) * n + z * h
            hs.append(h)
        layer_in = torch.stack(hs, 0)
    seq = layer_in.transpose(0, 1)
    out = model.head(seq if task.per_step else seq[:, -1])
    loss = task.loss(out, batch)
    grads = torch.autograd.grad(loss, hs)
    return torch.stack([g.norm() for g in grads]), loss


@pytest.mark.parametrize("cell,backend,layers,task", [
    ("lstm", "scratch", 1, "adding"),
    ("lstm", "builtin", 2, "xor"),
    ("gru", "scratch", 2, "adding"),
    ("gru", "builtin", 1, "adding"),
    ("rnn", "scratch", 1, "xor"),
    ("mlstm", "scratch", 1, "adding"),
    ("mgru", "scratch", 2, "xor"),
])
def test_hidden_grad_norms_equal_direct_autograd(cell, backend, layers, task):
    cfg = build_config({"task": task, "cell": cell, "backend": backend, "hidden_size": 6, "num_layers": layers,
                        "seq_len": 5})
    torch.manual_seed(3)
    task_ = build_task(cfg)
    model = build_model(cfg, task_)
    batch = task_.make_batch(4, 5, torch.Generator().manual_seed(4))
    norms = hidden_grad_norms(model, task_, batch)
    want, want_loss = _manual_norms(model, task_, batch, cell)
    assert norms.shape == (5,)
    torch.testing.assert_close(norms, want.detach().double(), rtol=1e-4, atol=1e-7)
    got, loss = grad_profile(model, task_, batch)
    assert loss == pytest.approx(float(want_loss.detach()), rel=1e-5)
    assert all(p.grad is None for p in model.parameters())  # nothing accumulated
    if task == "adding":  # the loss reads only the last step: h_4 gets the head's gradient directly
        assert float(norms[-1]) > 0


def test_hidden_grad_norms_show_vanishing_gradients():
    """A plain tanh RNN with small weights on a last-step task: ‖∂L/∂h_t‖ shrinks
    geometrically going back in time — what the Inspect heatmap is for."""
    cfg = build_config({"task": "adding", "cell": "rnn", "hidden_size": 8, "seq_len": 40, "init": "normal",
                        "init_std": 0.1})
    torch.manual_seed(0)
    task = build_task(cfg)
    model = build_model(cfg, task)
    norms = hidden_grad_norms(model, task, task.make_batch(8, 40, torch.Generator().manual_seed(1)))
    assert float(norms[0]) < 1e-6 * float(norms[-1])
    assert all(float(a) < float(b) for a, b in zip(norms[:-1], norms[1:]))


# ----------------------------------------------------------------------- gates
@pytest.mark.parametrize("cell,backend", [("lstm", "scratch"), ("lstm", "builtin"), ("gru", "scratch"),
                                          ("gru", "builtin"), ("mlstm", "scratch"), ("mgru", "scratch"),
                                          ("rnn", "builtin")])
def test_gate_activations_lie_in_unit_interval(cell, backend):
    cfg = build_config({"task": "adding", "cell": cell, "backend": backend, "hidden_size": 7, "num_layers": 2,
                        "seq_len": 9, "init": "normal", "init_std": 2.0})  # big weights: saturated gates
    torch.manual_seed(1)
    task = build_task(cfg)
    model = build_model(cfg, task)
    batch = task.make_batch(3, 9, torch.Generator().manual_seed(2))
    traces = gate_traces(model, batch, sample=2)
    expected = {"rnn": ["h"], "lstm": ["i", "f", "o", "h"], "gru": ["r", "z", "h"],
                "mlstm": ["i", "f", "o", "m", "h"], "mgru": ["r", "z", "m", "h"]}[cell]
    assert list(traces) == expected
    for name in cell_spec(cell).unit_gates:
        values = traces[name]
        assert values.shape == (9, 7)
        assert float(values.min()) >= 0.0 and float(values.max()) <= 1.0
        assert float(values.max() - values.min()) > 0.5  # saturated both ways, not a constant
    if "m" in traces:
        assert traces["m"].shape == (9, 7)  # top layer: its input is layer 0's h (7 features)
    with torch.no_grad():
        seq = model.rnn(batch.x)[0]
    # h over time of sample 2, traced (step path) against the module's own (fused) forward.  The two
    # sum the pre-activations in different orders; with weights ~ N(0, 2²) they reach |z| ≈ 30, and
    # a 16-term float32 sum is exact to about 16 · 6e-8 · 30 ≈ 3e-5.  h depends on z with slope ≤ 1
    # and saturated gates do not amplify it over 9 steps, so 1e-4 bounds the difference on any CPU.
    torch.testing.assert_close(traces["h"], seq[2], rtol=1.3e-6, atol=1e-4)


def test_lstm_input_gate_at_first_step_by_hand():
    cfg = build_config({"task": "adding", "cell": "lstm", "hidden_size": 3})
    torch.manual_seed(0)
    task = build_task(cfg)
    model = build_model(cfg, task)
    batch = task.make_batch(2, 4, torch.Generator().manual_seed(0))
    r = model.rnn
    z0 = batch.x[0, 0] @ r.weight_ih_l0.t() + r.bias_ih_l0 + r.bias_hh_l0  # h_{-1} = 0
    i0, f0 = torch.sigmoid(z0[:3]), torch.sigmoid(z0[3:6])
    traces = gate_traces(model, batch)
    torch.testing.assert_close(traces["i"][0], i0.detach())
    torch.testing.assert_close(traces["f"][0], f0.detach())


def test_gate_trace_event_is_downsampled_and_serialisable():
    cfg = build_config({"task": "adding", "cell": "mgru", "hidden_size": 70, "seq_len": 270})
    task = build_task(cfg)
    model = build_model(cfg, task)
    batch = task.make_batch(1, 270, torch.Generator().manual_seed(0))
    event = gate_trace_event(model, batch, "r1", 7)
    assert event.length == 270 and event.units == {"r": 70, "z": 70, "m": 2, "h": 70}
    assert len(event.traces["z"]) == MAX_TRACE_STEPS and len(event.traces["z"][0]) == MAX_TRACE_UNITS
    assert len(event.traces["m"][0]) == 2
    data = json.loads(json.dumps(event.to_json()))
    assert data["event"] == "gate_trace" and EVENT_TYPES["gate_trace"] is GateTrace


# ----------------------------------------------------------------------- probe
TINY = {"task": "adding", "cell": "lstm", "backend": "builtin", "hidden_size": 6, "num_layers": 2,
        "dropout": 0.3, "batch_size": 8, "steps": 20, "seq_len": 6, "eval_every": 10, "eval_size": 40,
        "log_every": 5, "lr": 0.01}


def test_probe_emits_profiles_without_changing_training():
    cfg = build_config(TINY)
    events, plain = [], []
    probed = Trainer(cfg, events.append)
    probed.add_probe(inspect_probe)
    probed.run()
    Trainer(cfg, plain.append).run()
    profiles = [e for e in events if isinstance(e, HiddenGradients)]
    assert [e.step for e in profiles] == [10, 20]
    assert all(len(e.norms) == 6 and e.sequences == PROBE_SEQUENCES for e in profiles)
    assert all(0 < v < float("inf") for e in profiles for v in e.norms)
    assert not any(isinstance(e, HiddenGradients) for e in plain)
    # dropout draws from the global generator and the builtin twin is built without it:
    # the losses are identical to the bit
    assert [e.loss for e in events if isinstance(e, StepMetrics)] == \
           [e.loss for e in plain if isinstance(e, StepMetrics)]
    record = RunRecord("r", cfg.to_dict())
    for event in events:
        record.apply(event)
    assert record.grad_profiles == [(e.step, e.norms) for e in profiles]
    assert json.loads(json.dumps(profiles[0].to_json()))["event"] == "grad_profile"


def test_probe_leaves_model_mode_grads_and_rng_alone():
    cfg = build_config(TINY)
    trainer = Trainer(cfg)
    trainer.add_probe(inspect_probe)
    trainer.setup()
    assert trainer.probes == [inspect_probe]
    trainer.model.train()
    rng = torch.get_rng_state()
    event = inspect_probe(trainer)
    gates = gate_probe(trainer, sample=3)
    assert isinstance(event, HiddenGradients) and isinstance(gates, GateTrace)
    assert trainer.model.training
    assert all(p.grad is None for p in trainer.model.parameters())
    assert torch.equal(rng, torch.get_rng_state())
    # the probe batch is the first held-out sequences, the same every time
    again = inspect_probe(trainer)
    assert again.norms == event.norms


def test_failing_probe_logs_once_and_run_goes_on():
    trainer = Trainer(build_config(TINY))
    trainer.setup()
    trainer.eval_sets = {None: []}  # nothing to probe on
    first, second = inspect_probe(trainer), inspect_probe(trainer)
    assert first.kind == "log" and "gradient probe failed" in first.message and second is None


# ------------------------------------------------------------------------- CLI
def test_cli_prints_seed_002_table(capsys):
    assert inspect_main(["--cell", "lstm", "--input-size", "10", "--hidden-size", "20", "--num-layers", "2"]) == 0
    out = capsys.readouterr().out
    want = sum(p.numel() for p in nn.LSTM(10, 20, 2).parameters())
    assert f"Total parameters: {want}" in out and want == 5920
    for name, shape, count in (("weight_ih_l0", r"\(80, 10\)", 800), ("weight_hh_l1", r"\(80, 20\)", 1600),
                               ("bias_hh_l1", r"\(80,\)", 80)):
        assert re.search(rf"^  {name}\s+{shape}\s+{count}\s", out, re.M), name
    assert re.search(r"\(layer 0 total\)\s+2560$", out, re.M)
    assert "batch_first=False" in out and "bidirectional=True" in out and "proj_size=10" in out
    assert "packed.data" in out and "no PackedSequence" in out
    assert "(50, 32, 10)" in out  # batch_first=False input with the defaults T=50, B=32


def test_cli_json_and_options(capsys):
    code = inspect_main(["--cell", "lstm", "--input-size", "10", "--hidden-size", "20", "--num-layers", "2",
                         "--bidirectional", "--proj-size", "5", "--backend", "builtin", "--batch", "3",
                         "--seq-len", "8", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    ref = nn.LSTM(10, 20, 2, bidirectional=True, proj_size=5)
    assert data["total"] == sum(p.numel() for p in ref.parameters())
    assert [p["name"] for p in data["parameters"]] == [n for n, _ in ref.named_parameters()]
    first = data["shapes"][0]
    assert {r["name"]: r["shape"] for r in first["rows"]} == {
        "input x": [3, 8, 10], "h_0 and h_n": [4, 3, 5], "c_0 and c_n": [4, 3, 20], "output": [3, 8, 10]}
    packed = next(s for s in data["shapes"] if "packed" in s["title"])
    assert packed["lengths"] == [8, 6, 4]


def test_cli_input_size_defaults_to_the_task(capsys):
    assert inspect_main(["--task", "copy-memory", "--set", "mem_dim=5", "--cell", "gru", "--hidden-size", "4",
                         "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["input_size"] == 5 and data["input_size_source"] == "task"
    assert data["parameters"][0]["shape"] == [12, 5]
    assert data["head"]["total"] == 4 * 5 + 5 and data["model_total"] == data["total"] + 25


@pytest.mark.parametrize("argv,key", [
    (["--hidden-size", "x"], "hidden_size"),
    (["--input-size", "0"], "input_size"),
    (["--batch", "zero"], "batch"),
    (["--cell", "gru", "--proj-size", "3"], "proj_size"),
    (["--cell", "mlstm", "--backend", "builtin"], "backend"),
    (["--hiddensize", "3"], "--hiddensize"),
])
def test_cli_bad_flags_exit_2_with_one_line(argv, key, capsys):
    assert inspect_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and key in err and err.startswith("rnntui inspect: error:")


def test_cli_dispatch_and_no_textual():
    code = ("import sys; from rnntui.cli.main import main; rc = main(['inspect', '--cell', 'gru', '--input-size', '10',"
            " '--hidden-size', '20', '--num-layers', '2']); "
            "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]; "
            "sys.exit(rc or (3 if bad else 0))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Total parameters: 4440" in result.stdout  # seed 002's GRU table


# ------------------------------------------------------- describe(): one source
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "mlstm", "mgru"])
def test_describe_shows_the_model_a_run_starts_with(cell):
    """What the Inspect view shows before any run: the tables of the model a run of
    these settings builds, its gradient profile and gate traces on the run's
    held-out data (same seed, so the same numbers, bit for bit)."""
    from rnntui.config.presets import load_preset
    from rnntui.engine.inspect.probes import take
    from rnntui.engine.model import count_params
    from rnntui.engine.trainer import EVAL_SEED_OFFSET

    cfg = build_config(load_preset("smoke").values, {"cell": cell, "hidden_size": 6, "eval_size": 32})
    desc = describe(cfg, sample=3)
    torch.manual_seed(cfg.seed)
    task = build_task(cfg)
    model = build_model(cfg, task)
    want = [(n.removeprefix("rnn."), tuple(p.shape)) for n, p in model.named_parameters()]
    assert [(r.name, r.shape) for r in desc.params] == want
    assert desc.model_total == count_params(model) and desc.source == "settings" and desc.run_id == ""
    assert desc.summary.endswith(f"· {cfg.task} · {count_params(model)} parameters")
    sets = task.eval_sets(torch.Generator().manual_seed(cfg.seed + EVAL_SEED_OFFSET))
    batch = take(sets[None][0], PROBE_SEQUENCES)
    assert desc.grad_profile == [float(v) for v in hidden_grad_norms(model, task, batch)]
    assert desc.gates.traces == gate_trace_event(model, batch, "", 0, 3).traces


def test_describe_a_run_model_uses_its_snapshot_and_probe_batch():
    from rnntui.config.presets import load_preset
    from rnntui.engine.inspect.snapshot import RunSnapshot

    trainer = Trainer(build_config(load_preset("smoke").values, {"eval_size": 32}))
    trainer.setup()
    run = RunSnapshot(trainer).wait(ended=lambda: True)  # no training thread: copied here
    assert run is not None and run.model is not trainer.model and run.run_id == trainer.run_id
    desc = describe(run.cfg, sample=1, run=run)
    assert desc.source == "run" and desc.run_id == trainer.run_id and desc.grad_profile is None
    assert desc.gates.traces == gate_probe(trainer, sample=1).traces
    assert desc.model_total == sum(p.numel() for p in trainer.model.parameters())
    # the tables are those of rnntui inspect for the same settings
    assert desc.to_json() == describe(run.cfg).to_json()
