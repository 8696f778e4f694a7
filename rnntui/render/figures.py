"""Publication-quality figures of :class:`~rnntui.render.plot_data.Panel` lists,
with matplotlib (the optional extra ``rnntui[plot]``), on the Agg backend.

    write_figure(figure_panels(records), "fig.svg", title="...")

One subplot per panel (up to three a row; four make a 2 × 2 grid).  Lines with a band get it as a
translucent fill (mean ± standard error); lines marked ``smooth`` are drawn
smoothed (an EMA whose time constant is about 1/30 of the curve) over their raw
curve, faint; sparse curves (evaluations) mark their points; reference lines
(baselines) are dotted.  The y range follows :func:`rnntui.render.axes.y_limits`,
so an accuracy is never blown up from 0.999 to full height.  SVG keeps text as
text (the legend's labels are searchable) and gives every drawn series the id
``series-<n>`` and every band ``band-<n>``; the output is the same for the same
input (no dates, fixed ids).

Importing this module needs no matplotlib: :func:`write_figure` imports it and
raises :class:`FigureError` (with the install command) when it is missing.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from rnntui.render.axes import y_limits
from rnntui.render.plot_data import Panel, rgb
from rnntui.render.plot_frame import ema

FORMATS = (".svg", ".png", ".pdf")
INSTALL = 'pip install "rnntui[plot]"'
MAX_SMOOTHING = 0.9
"""The EMA weight for smoothed lines with many points (the terminal plot's default)."""


def smoothing_for(points: int) -> float:
    """The EMA weight for a curve of ``points`` points: its time constant about
    1/30 of the curve (none below 30 points), so the smoothed curve does not lag."""
    return min(MAX_SMOOTHING, max(0.0, 1.0 - 30.0 / points)) if points else 0.0
DASHES = {"solid": "-", "dashed": "--", "dotted": ":", "dashdot": "-."}


class FigureError(Exception):
    """The figure cannot be written: a bad path or format, or matplotlib is missing."""


def check_path(path: str | Path) -> Path:
    """``path`` if its extension is a known format, else FigureError."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        shown = path.suffix or "no extension"
        raise FigureError(f"unknown figure format {shown!r} in {str(path)!r}; use one of "
                          f"{', '.join(FORMATS)}")
    return path


def matplotlib_pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (never a GUI), or FigureError."""
    try:
        import matplotlib
    except ImportError:
        raise FigureError(f"figures need matplotlib, which is not installed; install it with: {INSTALL}") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _hex(color: Any) -> str:
    r, g, b = rgb(color) if color else rgb("gray")
    return f"#{r:02x}{g:02x}{b:02x}"


PLOTTABLE = 1e300
"""Largest magnitude drawn: the span of two values within it (and matplotlib's
margins around it) still fits a float, where 1e308 and -1e308 overflow to inf."""


def _finite(xs: Sequence[float], *columns: Sequence[float]) -> list[list[float]]:
    rows = [row for row in zip(xs, *columns)
            if all(isinstance(v, (int, float)) and math.isfinite(v) and abs(v) <= PLOTTABLE for v in row)]
    return [list(c) for c in zip(*rows)] if rows else [[] for _ in range(1 + len(columns))]


def _draw_panel(ax: Any, panel: Panel) -> None:
    values: list[float] = []
    count = 0
    for line in panel.lines:
        color = _hex(line.color)
        xs, ys = _finite(line.xs, line.ys)
        if not xs:
            continue
        weight = smoothing_for(len(ys)) if line.smooth else 0.0
        if line.band is not None:
            bx, lo, hi = _finite(line.xs, *line.band)
            if bx:
                if weight:
                    lo, hi = ema(lo, weight), ema(hi, weight)
                fill = ax.fill_between(bx, lo, hi, color=color, alpha=0.22, linewidth=0)
                fill.set_gid(f"band-{count}")
                values += lo + hi
        if weight:
            ax.plot(xs, ys, color=color, alpha=0.25, linewidth=0.7)
            ys = ema(ys, weight)
        (artist,) = ax.plot(xs, ys, color=color, linewidth=1.5, linestyle=DASHES.get(line.style, "-"),
                            label=line.label, marker="o" if len(xs) <= 25 else None,
                            markersize=3 if len(xs) == 1 else 2.5)
        artist.set_gid(f"series-{count}")
        count += 1
        values += ys
    for ref in panel.refs:
        if math.isfinite(ref.y) and abs(ref.y) <= PLOTTABLE:
            ax.axhline(ref.y, color=_hex(ref.color), linestyle=":", linewidth=1.0, label=ref.label)
            values.append(ref.y)
    if panel.log_y and all(v > 0 for v in values):
        ax.set_yscale("log")
    elif values:
        lo, hi = y_limits(values, panel.axis)
        pad = 0.04 * (hi - lo)
        bounds = panel.axis.bounds
        ax.set_ylim(lo - pad if not bounds else max(lo - pad, bounds[0] - pad),
                    hi + pad if not bounds else min(hi + pad, bounds[1] + pad))
    ax.set_title(panel.title, fontsize=10)
    ax.set_xlabel(panel.xlabel)
    if panel.ylabel:
        ax.set_ylabel(panel.ylabel)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    if count:
        ax.legend(fontsize=7, frameon=False, loc="best")


def write_figure(panels: Sequence[Panel], path: str | Path, title: str = "") -> Path:
    """Draw ``panels`` into ``path`` (.svg, .png or .pdf); returns the path written.
    Raises FigureError for a bad format, missing matplotlib, nothing to draw or an
    unwritable path."""
    path = check_path(path)
    panels = [p for p in panels if p.lines]
    if not panels:
        raise FigureError("nothing to draw: the runs have no recorded curves")
    plt = matplotlib_pyplot()
    cols = 2 if len(panels) == 4 else min(len(panels), 3)
    rows = math.ceil(len(panels) / cols)
    style = {"font.size": 9, "svg.fonttype": "none", "svg.hashsalt": "rnntui", "axes.titleweight": "bold",
             "figure.dpi": 100}
    with plt.rc_context(style):
        fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 3.3 * rows), squeeze=False)
        try:
            for ax, panel in zip(axes.flat, panels):
                _draw_panel(ax, panel)
            for ax in list(axes.flat)[len(panels):]:
                ax.set_visible(False)
            if title:
                fig.suptitle(title, fontsize=11)
            fig.tight_layout()
            path.parent.mkdir(parents=True, exist_ok=True)
            metadata = {"Date": None} if path.suffix.lower() in (".svg", ".pdf") else {}
            fig.savefig(path, dpi=200 if path.suffix.lower() == ".png" else None, metadata=metadata)
        except OSError as exc:
            raise FigureError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
        finally:
            plt.close(fig)
    return path
