"""The one-line run status: state, step/epoch, speed, ETA, parameters, device."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from rnntui.engine.record import RunRecord

STATUS_MARK = {"ready": "○", "starting": "◌", "running": "●", "paused": "‖", "finished": "✓",
               "stopped": "■", "failed": "✗"}
RICH_STYLE = {"ready": "bold", "starting": "bold yellow", "running": "bold green", "paused": "bold yellow",
              "finished": "bold cyan", "stopped": "bold magenta", "failed": "bold red"}


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def status_text(record: RunRecord | None, hint: str = "") -> Text:
    if record is None:
        text = Text(f"{STATUS_MARK['ready']} ready", style=RICH_STYLE["ready"])
        text.append(f"  {hint or 'press s to start'}", style="dim")
        return text
    st = record.status
    if st == "ready":  # the worker is importing torch / building the model
        return Text(f"{STATUS_MARK['starting']} starting…  building the model",
                    style=RICH_STYLE["starting"])
    text = Text(f"{STATUS_MARK.get(st, '?')} {st}", style=RICH_STYLE.get(st, "bold"))
    total = record.total_steps
    pct = f" ({100 * record.step / total:.0f}%)" if total else ""
    text.append(f"  step {record.step}/{total or '?'}{pct}")
    if record.steps_per_epoch:
        text.append(f"  epoch {record.step // record.steps_per_epoch + 1}")
    if record.steps_per_s and st != "paused":  # a paused run has no speed and no ETA
        text.append(f"  {record.steps_per_s:,.0f} steps/s")
    if st == "running":
        text.append(f"  ETA {fmt_duration(record.eta_s)}")
    elif record.wall_time_s:
        text.append(f"  {fmt_duration(record.wall_time_s)} wall")
    if record.params:
        text.append(f"  {record.params:,} params", style="dim")
    if record.device:
        text.append(f"  {record.device}", style="dim")
    text.append(f"  run {record.run_id}", style="dim")
    if record.reason:
        text.append(f"  {record.reason}", style="red")
    return text


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $foreground;
    }
    """

    plain = ""
    """The text shown, without styles (tests and captures read it)."""

    def show(self, record: RunRecord | None, hint: str = "") -> None:
        text = status_text(record, hint)
        if text.plain == self.plain and text.spans == getattr(self, "_spans", None):
            return
        self.plain, self._spans = text.plain, list(text.spans)
        self.update(text, layout=False)  # one fixed line: a relayout of the screen per update cost ~100 ms
