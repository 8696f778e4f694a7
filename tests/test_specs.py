"""The cell and task specs: complete, read the same without importing, the one source."""

import ast
import dataclasses
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import rnntui
from rnntui.cells import RecurrentBase, cell_class, cell_specs
from rnntui.cells.spec import CellSpec, Gate
from rnntui.cli.keys import markdown
from rnntui.config.declared import SpecSyntaxError, declared_specs
from rnntui.config.keys import Key
from rnntui.config.presets import preset_paths
from rnntui.config.schema import KEYS, applies
from rnntui.tasks import Task, task_class, task_specs
from rnntui.tasks.spec import Metric, TaskSpec

ROOT = Path(rnntui.__file__).resolve().parent


def _modules(package: str) -> list:
    pkg = importlib.import_module(package)
    return [importlib.import_module(f"{package}.{m.name}") for m in pkgutil.iter_modules(pkg.__path__)]


@pytest.mark.parametrize("name", list(cell_specs()))
def test_cell_spec_read_without_import_equals_the_module_spec(name):
    spec = cell_specs()[name]
    module = importlib.import_module(spec.module)
    assert dataclasses.replace(module.SPEC, module=spec.module) == spec
    cls = cell_class(name)
    assert issubclass(cls, RecurrentBase) and cls.spec is module.SPEC
    assert (cls.cell_name, cls.gate_count, cls.state_is_tuple, cls.multiplicative) == \
           (name, max(1, len(spec.gates)), len(spec.state) == 2, spec.multiplicative)
    m = cls(3, 4)
    assert tuple(m.weight_ih_l0.shape) == (4 * spec.gate_count, 3)   # the gates are the rows


@pytest.mark.parametrize("name", list(task_specs()))
def test_task_spec_read_without_import_equals_the_module_spec(name):
    spec = task_specs()[name]
    module = importlib.import_module(spec.module)
    assert dataclasses.replace(module.SPEC, module=spec.module) == spec
    cls = task_class(name)
    assert issubclass(cls, Task) and cls.spec is module.SPEC
    assert (cls.name, cls.title, cls.per_step, cls.metric_infos) == (name, spec.title, spec.per_step, spec.metrics)


def test_every_cell_and_task_class_has_a_spec():
    cells = {cls for mod in _modules("rnntui.cells") for _, cls in inspect.getmembers(mod, inspect.isclass)
             if issubclass(cls, RecurrentBase) and cls is not RecurrentBase}
    assert cells == {cell_class(n) for n in cell_specs()}
    tasks = {cls for mod in _modules("rnntui.tasks") for _, cls in inspect.getmembers(mod, inspect.isclass)
             if issubclass(cls, Task) and cls is not Task}
    assert tasks == {task_class(n) for n in task_specs()}


def test_every_task_has_a_preset_of_its_name_with_its_recommended_settings():
    presets = preset_paths()
    for name in task_specs():
        assert name in presets, f"presets/{name}.toml is missing"
        assert f'task = "{name}"' in presets[name].read_text()


def test_a_spec_lacking_a_field_fails():
    with pytest.raises(TypeError):
        CellSpec(name="x", cls="X", title="x", gates=(), state=("h",), builtin=None)  # no cost
    with pytest.raises(ValueError, match="title is empty"):
        CellSpec(name="x", cls="X", title="", gates=(), state=("h",), builtin=None, cost=1.0)
    with pytest.raises(ValueError, match="unknown init schemes"):
        CellSpec(name="x", cls="X", title="x", gates=(), state=("h",), builtin=None, cost=1.0,
                 init_schemes=("xavier",))
    with pytest.raises(TypeError):
        TaskSpec(name="t", cls="T", title="t", metrics=(Metric("acc", "acc"),), baseline="b", losses=("ce",))
    with pytest.raises(ValueError, match="baseline is empty"):
        TaskSpec(name="t", cls="T", title="t", metrics=(Metric("acc", "acc"),), baseline="", losses=("ce",),
                 per_step=False)
    with pytest.raises(ValueError, match="unknown losses"):
        TaskSpec(name="t", cls="T", title="t", metrics=(Metric("acc", "acc"),), baseline="b", losses=("hinge",),
                 per_step=False)


def test_the_reader_evaluates_constants_and_refuses_code(tmp_path):
    (tmp_path / "good.py").write_text(
        'import torch\nTOL = 0.5\nSPEC = CellSpec(name="x", cls="X", title=f"tol {TOL}", gates=(Gate("a", "b"),),\n'
        '    state=("h",), builtin=None, cost=2 * TOL, options=(Key("k", int, 1, "help", lo=-1),))\n'
        'class X: pass\n')
    (spec,) = declared_specs(tmp_path, {"CellSpec": CellSpec, "Gate": Gate, "Key": Key}, "pkg")
    assert (spec.title, spec.cost, spec.module, spec.declared_keys[0].lo) == ("tol 0.5", 1.0, "pkg.good", -1)
    (tmp_path / "good.py").unlink()
    (tmp_path / "bad.py").write_text('import os\nSPEC = CellSpec(name=os.getcwd())\n')
    with pytest.raises(SpecSyntaxError, match=r"bad.py:2: SPEC uses 'os.getcwd\(\)'"):
        declared_specs(tmp_path, {"CellSpec": CellSpec}, "other")


def test_keys_declared_by_specs_are_in_the_schema_and_apply_where_declared():
    for spec in [*cell_specs().values(), *task_specs().values()]:
        for name in spec.option_names:
            assert name in KEYS
    assert applies("proj_size", "adding", "lstm") and not applies("proj_size", "adding", "gru")
    assert applies("lag", "echo", "gru") and not applies("lag", "copy", "gru")
    assert applies("loss", "binary-addition", "gru") and not applies("loss", "adding", "gru")
    assert not applies("seq_len", "digits", "gru") and applies("seq_len", "copy", "gru")


def _name_literals() -> dict[str, set[str]]:
    names = set(cell_specs()) | set(task_specs())
    hits: dict[str, set[str]] = {n: set() for n in names}
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in names and id(node) not in docstrings:
                hits[node.value].add(str(path.relative_to(ROOT)))
    return hits


def test_each_cell_and_task_name_is_a_literal_in_at_most_three_files():
    for name, files in _name_literals().items():
        assert len(files) <= 3, f"{name!r} is written in {sorted(files)}"


def test_readme_tables_are_rnntui_keys_markdown():
    readme = (ROOT.parent / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- rnntui keys --markdown -->\n", "<!-- end of rnntui keys --markdown -->"
    assert begin in readme and end in readme
    assert readme.split(begin, 1)[1].split(end, 1)[0] == markdown()
