"""Curves over runs (mean ± standard error, grouping by seed, what differs), the
figure panels, the figure files, and ``rnntui plot``."""

from __future__ import annotations

import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rnntui.cli.main import main
from rnntui.engine.curves import differing_keys, group_runs, mean_band, run_labels
from rnntui.engine.experiment.results import mean_stderr
from rnntui.engine.saved_runs import list_saved, load_runs
from rnntui.render.figure_data import figure_panels
from rnntui.render.plot_data import FRACTION

SVG = "{http://www.w3.org/2000/svg}"


def test_mean_band_is_mean_and_standard_error_at_every_step():
    a = ([1, 2, 3], [1.0, 2.0, 3.0])
    b = ([1, 2, 3], [3.0, 2.0, 5.0])
    c = ([1, 2], [2.0, 5.0])  # a stopped run: no value at 3
    band = mean_band([a, b, c])
    assert band.xs == [1, 2, 3] and band.n == [3, 3, 2]
    for i, values in enumerate(([1.0, 3.0, 2.0], [2.0, 2.0, 5.0], [3.0, 5.0])):
        stat = mean_stderr(values)  # the results table's statistic: s with n - 1, over sqrt(n)
        assert band.mean[i] == pytest.approx(stat.mean)
        assert band.hi[i] - band.mean[i] == pytest.approx(stat.stderr)
        assert band.mean[i] - band.lo[i] == pytest.approx(stat.stderr)
    one = mean_band([([5, 10], [0.5, float("nan")])])
    assert one.xs == [5] and one.lo == one.mean == one.hi == [0.5]  # one run: no spread; NaN dropped
    assert mean_band([]).xs == []


def test_runs_are_grouped_up_to_the_seed_and_labelled_by_what_differs(saved_experiment: Path):
    records = load_runs(saved_experiment)
    assert [r.run_id for r in records] == ["ab12.p00t0", "ab12.p00t1", "ab12.p01t0", "ab12.p01t1"]
    assert differing_keys([r.config for r in records]) == ["cell", "seed"]
    groups = group_runs(records)
    assert [g.label for g in groups] == ["cell=rnn", "cell=gru"] and [g.seeds for g in groups] == [[0, 1], [0, 1]]
    assert run_labels(records) == ["cell=rnn seed=0", "cell=rnn seed=1", "cell=gru seed=0", "cell=gru seed=1"]
    assert run_labels(records[:1]) == ["ab12.p00t0"]  # nothing differs: the id
    assert [g.label for g in group_runs(records[:2])] == ["all runs"]
    band = groups[1].band("exact")
    (xs0, ys0), (xs1, ys1) = records[2].series("exact"), records[3].series("exact")
    assert band.xs == xs0 == xs1 and band.mean == pytest.approx([(p + q) / 2 for p, q in zip(ys0, ys1)])


def test_saved_runs_are_listed_newest_first_and_bad_paths_named(tmp_path: Path, saved_run, saved_experiment):
    saved_run(tmp_path / "single", "run1")
    (tmp_path / "empty").mkdir()
    entries = list_saved(tmp_path)
    assert sorted((e.path.name, e.kind) for e in entries) == [("exp-cells", "experiment"), ("single", "run")]
    by_name = {e.path.name: e for e in entries}
    assert by_name["single"].title == "binary-addition/gru h4 · finished"
    assert by_name["exp-cells"].title == "exp-cells · 4 of 4 runs"
    with pytest.raises(ValueError, match="does not exist"):
        load_runs(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="neither a run directory"):
        load_runs(tmp_path / "empty")


def test_figure_panels_for_an_experiment(saved_experiment: Path):
    panels = figure_panels(load_runs(saved_experiment))
    assert [p.title for p in panels] == ["loss", "exact sums (exact)", "bit accuracy (bit_acc)",
                                         "exact sums at the end, by evaluation length"]
    loss, exact, bits, lengths = panels
    assert [line.label for line in loss.lines] == ["cell=rnn (n=2) · train", "cell=rnn (n=2) · held-out",
                                                   "cell=gru (n=2) · train", "cell=gru (n=2) · held-out"]
    assert loss.lines[0].smooth and loss.lines[0].band is not None and loss.lines[1].style == "dashed"
    # one colour per setting, in every panel; the length-8 curve dashed
    assert [line.color for line in exact.lines] == ["cyan", "cyan", "orange", "orange"]
    assert [line.label for line in exact.lines][:2] == ["cell=rnn (n=2) · held-out", "cell=rnn (n=2) · length 8"]
    assert exact.axis == FRACTION and exact.lines[1].style == "dashed"
    assert [(r.label, r.y) for r in bits.refs] == [("baseline 0.5", 0.5)]
    # final exact against evaluation length: training length (seq_len 4) and 8
    assert lengths.xlabel == "evaluation length" and lengths.lines[1].xs == [4, 8]
    assert lengths.lines[1].ys == pytest.approx([1.0, 0.8])
    # per run instead of per setting
    each = figure_panels(load_runs(saved_experiment), grouped=False)
    assert [line.label for line in each[1].lines][:2] == ["cell=rnn seed=0 · held-out", "cell=rnn seed=0 · length 8"]
    assert all(line.band is None for line in each[1].lines)


def _svg_series(path: Path) -> tuple[list[str], list[str]]:
    root = ET.parse(path).getroot()  # valid XML
    ids = [g.get("id") for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith(("series-", "band-"))]
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    return ids, texts


def test_plot_writes_an_svg_with_every_series_and_band(saved_experiment: Path, tmp_path: Path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "figs" / "cells.svg"
    assert main(["plot", str(saved_experiment), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out} (4 panels, 4 runs)"
    ids, texts = _svg_series(out)
    # loss: 2 settings × (train, held-out); exact and bit_acc: 2 × (held-out, length 8); lengths: 2
    assert sum(i.startswith("series-") for i in ids) == 4 + 4 + 4 + 2
    assert sum(i.startswith("band-") for i in ids) == 4 + 4 + 4 + 2
    joined = "\n".join(texts)
    for label in ("cell=rnn (n=2) · train", "cell=gru (n=2) · length 8", "baseline 0.5", "exact sums (exact)",
                  "exp-cells · binary-addition · 4 runs", "evaluation length"):
        assert label in joined, label
    # the same input gives the same file (no dates, fixed ids)
    again = tmp_path / "again.svg"
    assert main(["plot", str(saved_experiment), "-o", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_plot_writes_a_png_of_several_run_dirs(tmp_path: Path, saved_run, capsys):
    pytest.importorskip("matplotlib")
    a = saved_run(tmp_path / "a", "run-a")
    b = saved_run(tmp_path / "b", "run-b", rate=2.0, hidden_size=8)
    out = tmp_path / "fig.png"
    assert main(["plot", str(a), str(b), "-o", str(out), "--title", "two runs"]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    # 4 panels: 2 × 2 of 4.4 × 3.3 in at 200 dpi (tight layout keeps the size)
    assert (width, height) == (round(2 * 4.4 * 200), round(2 * 3.3 * 200)) == (1760, 1320)
    # no -o: figure.svg in the first directory
    assert main(["plot", str(a)]) == 0 and (a / "figure.svg").is_file()


@pytest.mark.parametrize("args, message", [
    (["plot", "{tmp}/nowhere", "-o", "{tmp}/f.svg"], "RUN_DIR: {tmp}/nowhere does not exist"),
    (["plot", "{tmp}", "-o", "{tmp}/f.svg"], "is neither a run directory"),
    (["plot", "{run}", "-o", "{tmp}/f.jpg"], "unknown figure format '.jpg'"),
    (["plot", "{run}", "-o", "{tmp}/f"], "unknown figure format 'no extension'"),
])
def test_plot_bad_input_is_one_line_and_exit_2(tmp_path: Path, saved_run, capsys, args, message):
    run = saved_run(tmp_path / "run", "r1")
    empty = tmp_path / "empty"
    empty.mkdir()
    fill = {"tmp": str(empty), "run": str(run)}
    assert main([a.format(**fill) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnntui plot: error: ") and message.format(**fill) in err and err.count("\n") == 1
    assert not list(empty.glob("f*"))


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path: Path, saved_run, capsys, monkeypatch):
    run = saved_run(tmp_path / "run", "r1")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    assert main(["plot", str(run), "-o", str(tmp_path / "f.svg")]) == 2
    err = capsys.readouterr().err
    assert err == ('rnntui plot: error: plot: figures need matplotlib, which is not installed; '
                   'install it with: pip install "rnntui[plot]"\n')
    assert not (tmp_path / "f.svg").exists()


def test_plot_imports_neither_torch_nor_textual(tmp_path: Path, saved_run):
    run = saved_run(tmp_path / "run", "r1")
    code = ("import sys; from rnntui.cli.main import main; import rnntui.cli.plot; "
            "assert 'matplotlib' not in sys.modules; "
            f"code = main(['plot', {str(run)!r}, '-o', {str(tmp_path / 'f.svg')!r}]); "
            "bad = [m for m in ('torch', 'textual') if m in sys.modules]; print(bad); sys.exit(code or len(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if "figures need matplotlib" in result.stderr:
        pytest.skip("matplotlib is not installed")
    assert result.returncode == 0, result.stdout + result.stderr
