"""Readable terminal plots: y ranges from the metric's scale, no one-point axes,
short tick labels, the raw curve faint under the smoothed one, ± bands."""

from __future__ import annotations

import math

import pytest

from rnntui.render.axes import (format_log_ticks, format_ticks, log_ticks, min_span, nice_ticks, x_limits,
                                y_limits)
from rnntui.render.plot_data import FRACTION, AxisHint, PlotLine, RefLine, blend, metric_axis
from rnntui.render.plot_frame import BAND_MARKER, downsample, ema, prepare


def test_a_fraction_axis_spans_at_least_a_tenth_and_stays_in_zero_one():
    # binary addition's exact@32 going 0.999 -> 1.000 is not a full-height climb
    assert y_limits([0.999, 0.9995, 1.0], FRACTION) == pytest.approx((0.9, 1.0))
    assert y_limits([0.0, 0.001], FRACTION) == pytest.approx((0.0, 0.1))
    assert y_limits([0.5], FRACTION) == pytest.approx((0.45, 0.55))
    assert y_limits([0.2, 0.9], FRACTION) == (0.2, 0.9)  # wide enough: the data's own range


def test_a_loss_axis_spans_at_least_a_tenth_of_its_baseline():
    hint = metric_axis(False, 0.167)  # the adding task's MSE baseline
    assert hint == AxisHint(scale=0.167)
    lo, hi = y_limits([0.1671, 0.1672], hint)
    assert hi - lo == pytest.approx(0.0167) and (lo + hi) / 2 == pytest.approx(0.16715)
    assert metric_axis(True, 0.5) == FRACTION
    # nothing known: a tenth of the largest |y|, and 1 around an all-zero series
    assert y_limits([5.0]) == pytest.approx((4.75, 5.25))
    assert y_limits([0.0, 0.0]) == pytest.approx((-0.5, 0.5))
    assert min_span(AxisHint(), [-20.0, 3.0]) == pytest.approx(2.0)
    # log axes (log10 values): at least one decade
    assert y_limits([-1.2, -1.1], log=True) == pytest.approx((-1.65, -0.65))


def test_x_is_never_a_single_point():
    assert x_limits([250, 250]) == (0.0, 250)       # one evaluation at step 250: 0..250, not 249 250 251
    assert x_limits([0]) == (-1.0, 1.0)
    assert x_limits([10, 30, 20]) == (10, 30)
    assert x_limits([]) == (0.0, 1.0)


def test_ticks_are_round_and_labels_short():
    assert nice_ticks(0, 250, 6) == [0, 50, 100, 150, 200, 250]
    assert nice_ticks(0.9, 1.0, 5) == pytest.approx([0.9, 0.925, 0.95, 0.975, 1.0])
    assert format_ticks([0.95, 0.96, 0.97]) == ["0.95", "0.96", "0.97"]
    assert format_ticks([0.0, 10000.0, 20000.0]) == ["0", "10k", "20k"]
    assert format_ticks([0.0, 2.5e6, 5e6]) == ["0", "2.5M", "5.0M"]
    # a divergent run: scientific, a few characters, not 37 digits
    labels = format_ticks(nice_ticks(0, 3e37, 5))
    assert labels == ["0", "1e37", "2e37", "3e37"] and max(map(len, labels)) <= 6
    assert format_ticks([2e-6, 4e-6]) == ["2e-6", "4e-6"]
    # labels tell neighbours apart without noise digits
    assert format_ticks([0.1668, 0.167, 0.1672]) == ["0.1668", "0.1670", "0.1672"]


def test_log_ticks_are_decades_or_one_two_five():
    assert log_ticks(-2.0, 1.0, 5) == [-2.0, -1.0, 0.0, 1.0]
    assert format_log_ticks(log_ticks(-2.0, 1.0, 5)) == ["0.01", "0.1", "1", "10"]
    assert format_log_ticks(log_ticks(math.log10(0.3), math.log10(3), 5)) == ["0.5", "1", "2"]
    assert format_log_ticks([0.0, 37.0]) == ["1", "1e37"]


def _frame(lines, refs=(), **kw):
    return prepare(lines, refs, 60, 14, background=(0, 0, 0), **kw)


def test_frame_uses_the_axis_hint_and_labels_the_y_ticks():
    frame = _frame([PlotLine("exact@32", [100, 200, 300], [0.999, 0.9995, 1.0])], axis=FRACTION)
    assert frame.ylim == pytest.approx((0.9, 1.0))
    assert frame.yticks[0] == pytest.approx(0.9) and frame.yticks[-1] == pytest.approx(1.0)
    assert frame.ylabels[-1] in ("1.0", "1.00", "1.000")
    single = _frame([PlotLine("val", [250], [0.5])], axis=FRACTION)
    assert single.xlim == (0.0, 250) and single.signals[0].marker == "dot"


def test_smoothing_keeps_the_raw_curve_faint_underneath():
    ys = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    xs = list(range(6))
    frame = _frame([PlotLine("train", xs, ys, "cyan")], smooth=True, smoothing=0.5)
    raw, smoothed = frame.signals
    assert raw.label is None and raw.ys == ys
    assert raw.color == blend("cyan", (0, 0, 0), 0.6) and raw.color != smoothed.color
    assert smoothed.label == "train" and smoothed.color == "cyan" and smoothed.ys == pytest.approx(ema(ys, 0.5))
    # the debiased EMA: the first point is the first value, the second 0.5·1·0.5 + ... / (1 - 0.25)
    assert ema([1.0, 0.0], 0.5) == pytest.approx([1.0, 1 / 3])
    plain = _frame([PlotLine("train", xs, ys, "cyan")], smooth=False)
    assert [s.label for s in plain.signals] == ["train"]
    sparse = _frame([PlotLine("val", xs, ys, "orange", smooth=False)], smooth=True)
    assert [s.label for s in sparse.signals] == ["val"]  # evaluations are never smoothed


def test_a_band_is_shaded_under_its_line_and_counts_in_the_range():
    line = PlotLine("cell=gru (n=3)", [0, 100], [0.5, 0.8], "orange", band=([0.4, 0.7], [0.6, 0.95]))
    frame = _frame([line], [RefLine("baseline 0.5", 0.5)], axis=FRACTION)
    band, drawn, ref = frame.signals
    assert band.marker == BAND_MARKER and band.label is None
    assert band.color == blend("orange", (0, 0, 0), 0.35)
    # a zigzag through one column per character cell (60), from the lower to the upper edge and back
    assert len(band.xs) == 2 * 60 and band.xs[0] == band.xs[1] == 0 and band.xs[-1] == 100
    assert (band.ys[0], band.ys[1]) == pytest.approx((0.4, 0.6))
    assert (band.ys[-2], band.ys[-1]) == pytest.approx((0.95, 0.7))  # the last column runs downwards
    assert drawn.label == "cell=gru (n=3)" and ref.ys == [0.5, 0.5] and ref.xs == [0, 100]
    assert frame.ylim == pytest.approx((0.4, 0.95))


def test_downsample_takes_bucket_means_and_keeps_the_last_point():
    xs, ys = list(range(10)), [float(v * v) for v in range(10)]
    assert downsample(xs, ys, 20) == (xs, ys)
    dx, dy = downsample(xs, ys, 4)  # 3 buckets of 10/3: [0:3], [3:6], [6:10], then the last point again
    assert dx == pytest.approx([1.0, 4.0, 7.5, 9.0])
    assert dy == pytest.approx([(0 + 1 + 4) / 3, (9 + 16 + 25) / 3, (36 + 49 + 64 + 81) / 4, 81.0])


def test_log_scale_drops_non_positive_values_and_works_in_decades():
    frame = _frame([PlotLine("train", [1, 2, 3, 4], [1.0, 0.1, 0.0, 0.01])], log=True)
    (line,) = frame.signals
    assert line.xs == [1, 2, 4] and line.ys == pytest.approx([0.0, -1.0, -2.0])
    assert frame.ylabels == ["0.01", "0.1", "1"]
