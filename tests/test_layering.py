"""Layering: the engine, the cells and the headless runner never import Textual;
config and the CLI import without torch; no import cycles inside rnntui/."""

import ast
import subprocess
import sys
from pathlib import Path


import rnntui

PACKAGE = Path(rnntui.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_nothing_outside_the_app_imports_textual():
    """Every module of rnntui/ but rnntui.app.* (and ``__main__``), imported one after
    another in a fresh interpreter; the first that brings in Textual is named."""
    modules = sorted(_module_name(p) for p in PACKAGE.rglob("*.py")
                     if not _module_name(p).startswith("rnntui.app") and not p.name == "__main__.py")
    code = (
        "import sys, importlib\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "    if any(m == 'textual' or m.startswith('textual.') for m in sys.modules):\n"
        "        print(name); sys.exit(1)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"{result.stdout.strip()} imports textual {result.stderr[-2000:]}"
    assert len(modules) > 40


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every import statement, at any depth (functions too), except under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    """module -> the rnntui modules it imports.  ``from pkg import name`` counts as an
    import of ``pkg.name`` when that is a module, else of ``pkg``."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:  # relative: from the module's package, up level - 1
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[:len(package) - (node.level - 1)]
                base = ".".join(package + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in files else base)
        graph[module] = {t for t in targets if t in files and t != module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as [a, b, ..., a], or [] when the graph is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return []


def test_the_import_graph_is_read_from_every_module():
    graph = import_graph()
    assert "rnntui.app.app" in graph and "rnntui.engine.trainer" in graph
    assert "rnntui.app.session" in graph["rnntui.app.app"]  # a top-level import
    assert "rnntui.engine.checkpoint" in graph["rnntui.app.session"]  # an import inside a function
    assert "rnntui.engine.trainer" not in graph["rnntui.app.session"]  # only under TYPE_CHECKING
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycles_inside_rnntui():
    cycle = find_cycle(import_graph())
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_config_and_cli_import_without_torch():
    code = (
        "import sys; import rnntui.config, rnntui.cli.main, rnntui.cli.entry, rnntui.engine.dirclaim, rnntui.config.presets, rnntui.config.request, "
        "rnntui.cells, rnntui.tasks; from rnntui.config import Config, KEYS; Config(); "
        "from rnntui.cells import cell_specs; from rnntui.tasks import task_specs; cell_specs(); task_specs(); "
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

