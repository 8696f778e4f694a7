"""The engine, the cells and the headless runner never import Textual."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["rnntui.engine.trainer", "rnntui.cells", "rnntui.cli.run", "rnntui.tasks",
                                    "rnntui.engine.record", "rnntui.engine.rundir",
                                    "rnntui.engine.experiment.runner", "rnntui.engine.experiment.grid", "rnntui.cli.experiment",
                                    "rnntui.engine.inspect.probes", "rnntui.engine.inspect.tables", "rnntui.cli.inspect",
                                    "rnntui.engine.resume", "rnntui.engine.dirclaim", "rnntui.engine.budget",
                                    "rnntui.cli.signals"])
def test_imports_without_textual(module):
    code = (
        "import sys, importlib; importlib.import_module(%r); "
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')); "
        "print(bad); sys.exit(1 if bad else 0)" % module
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_config_and_cli_import_without_torch():
    code = (
        "import sys; import rnntui.config, rnntui.cli.main, rnntui.cli.entry, rnntui.engine.dirclaim, rnntui.config.presets, rnntui.config.request, "
        "rnntui.cells, rnntui.tasks; from rnntui.config import Config, KEYS; Config(); "
        "from rnntui.cells import cell_specs; from rnntui.tasks import task_specs; cell_specs(); task_specs(); "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
