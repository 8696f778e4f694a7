"""Command-palette commands (ctrl+p): every app action by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

LAB_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Start run", "start", "train with the settings in the form (s, F5)"),
    ("Pause / resume run", "pause", "pause or resume the running run (p, F6)"),
    ("Stop run", "stop", "stop the run; it stays on screen (t, F7)"),
    ("Reset view", "reset", "clear a finished run from the screen (r, F8)"),
    ("Reset form to preset", "reset_form", "put back the values the app started with"),
    ("Toggle log scale", "toggle_log", "log y axis on the loss plot (l)"),
    ("Toggle smoothing", "toggle_smooth", "exponential moving average on the curves (m)"),
    ("Next metric", "next_metric", "cycle the metric shown on the metric plot (n)"),
    ("Swap plots", "swap_plots", "show the other plot on narrow terminals (g)"),
    ("Compare runs", "compare", "table of this session's runs, overlay curves (c)"),
    ("Experiments", "experiment", "grids of runs: cells × lengths × seeds (x)"),
    ("Inspect model", "inspect", "parameter shapes, gradient norms per time step (i)"),
    ("Convolution lab", "conv", "convolution, pooling and a small CNN from scratch, seed 004 (v)"),
    ("Checkpoint now", "checkpoint", "save the running model at the next step"),
    ("Help", "help", "keys and panels (?, F1)"),
    ("Quit", "quit", "stop any run and leave (q)"),
)


class LabCommands(Provider):
    """Start/pause/stop/reset/plots/screens/help as palette commands."""

    async def discover(self) -> Hits:
        for title, action, help_text in LAB_COMMANDS:
            yield DiscoveryHit(title, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in LAB_COMMANDS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.app.run_action, action), help=help_text)
