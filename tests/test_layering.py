"""The engine, the cells and the headless runner never import Textual."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["rnntui.engine.trainer", "rnntui.cells", "rnntui.cli.run", "rnntui.tasks",
                                    "rnntui.engine.record", "rnntui.engine.rundir",
                                    "rnntui.engine.experiment.runner", "rnntui.engine.experiment.grid", "rnntui.cli.experiment",
                                    "rnntui.engine.inspect.probes", "rnntui.engine.inspect.tables", "rnntui.cli.inspect",
                                    "rnntui.engine.conv.cnn", "rnntui.engine.conv.lab", "rnntui.cli.conv",
                                    "rnntui.render.conv_report"])
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
        "import sys; import rnntui.config, rnntui.cli.main, rnntui.config.presets; "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_conv_inputs_and_drawing_import_without_torch():
    """The Conv screen and ``rnntui conv`` read names, images and drawing code before torch loads."""
    code = (
        "import sys; import rnntui.engine.conv.spec, rnntui.engine.conv.inputs, rnntui.render.conv_report, "
        "rnntui.cli.conv; sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_registry_names_match_live_registries():
    from rnntui.cells import CELL_NAMES as live_cells
    from rnntui.config.names import CELL_NAMES, TASK_NAMES
    from rnntui.tasks import available_tasks

    assert tuple(live_cells) == CELL_NAMES
    assert available_tasks() == list(TASK_NAMES)
