"""Reading the ``SPEC = ...`` of every cell and task module without importing it.

Each module of :mod:`rnntui.cells` and :mod:`rnntui.tasks` states its facts once,
in a module-level ``SPEC = CellSpec(...)`` / ``SPEC = TaskSpec(...)``.  Those
modules import torch; the config, the command line and the form must not (the
first frame of the app comes before torch is loaded).  So the spec is read from
the module's source: its ``SPEC`` expression is evaluated with a small
interpreter that knows literals, tuples, lists, dicts, arithmetic on numbers,
the names ``int``/``float``/``bool``/``str``/``list``, the module's own constants
assigned above the spec (``TOLERANCE = 0.04``), f-strings of those, and calls
of the spec constructors — nothing else, so a spec can say only what it means.  Once a
module is really imported, its ``SPEC`` object is the same value (a test checks
every module).
"""

from __future__ import annotations

import ast
import functools
import operator
import re
from pathlib import Path
from typing import Any, Callable

SPEC_NAME = "SPEC"
_SPEC_LINE = re.compile(rf"{SPEC_NAME}\s*[:=]")
_TYPES = {"int": int, "float": float, "bool": bool, "str": str, "list": list,
          "None": None, "True": True, "False": False}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}


class SpecSyntaxError(ValueError):
    """A ``SPEC`` uses something the reader does not evaluate."""


def declared_specs(package_dir: Path, constructors: dict[str, Callable[..., Any]],
                   package: str) -> list[Any]:
    """The ``SPEC`` of every module in ``package_dir`` (file-name order), each
    with ``module`` set to its dotted name (``package.<stem>``)."""
    return list(_read_all(str(package_dir), tuple(sorted(constructors.items())), package))


@functools.lru_cache(maxsize=None)
def _read_all(package_dir: str, constructors: tuple, package: str) -> tuple[Any, ...]:
    names = dict(constructors)
    out = []
    for path in sorted(Path(package_dir).glob("*.py")):
        spec = _read(path, names)
        if spec is not None:
            out.append(spec.with_module(f"{package}.{path.stem}"))
    return tuple(out)


def _read(path: Path, constructors: dict[str, Callable[..., Any]]) -> Any:
    """The module's SPEC, evaluated with the constants assigned before it.

    Only the lines above the spec and the spec statement itself are parsed (the
    classes below it are most of a module, and parsing them would slow the first
    frame of the app)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if _SPEC_LINE.match(line)), None)
    if start is None:
        return None
    names: dict[str, Any] = dict(constructors)
    for stmt in ast.parse("\n".join(lines[:start]), filename=str(path)).body:
        target, value = _assignment(stmt)
        if target is None:
            continue
        try:
            names[target] = _evaluate(value, names, path)
        except (SpecSyntaxError, TypeError, ValueError, ArithmeticError):
            names.pop(target, None)  # not a constant: the spec may not use it
    for end in range(start + 1, len(lines) + 1):
        try:
            tree = ast.parse("\n".join(lines[start:end]), filename=str(path))
        except SyntaxError:
            continue
        ast.increment_lineno(tree, start)
        return _evaluate(_assignment(tree.body[0])[1], names, path)
    raise SpecSyntaxError(f"{path.name}:{start + 1}: {SPEC_NAME} is not a complete statement")


def _assignment(stmt: ast.stmt) -> tuple[str | None, Any]:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id, stmt.value
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
        return stmt.target.id, stmt.value
    return None, None


def _evaluate(node: ast.AST, names: dict[str, Callable[..., Any]], path: Path) -> Any:
    def ev(n: ast.AST) -> Any:
        if isinstance(n, ast.Constant):
            return n.value
        if isinstance(n, ast.Tuple):
            return tuple(ev(e) for e in n.elts)
        if isinstance(n, ast.List):
            return [ev(e) for e in n.elts]
        if isinstance(n, ast.Dict) and all(k is not None for k in n.keys):
            return {ev(k): ev(v) for k, v in zip(n.keys, n.values)}
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            value = ev(n.operand)
            return -value if isinstance(n.op, ast.USub) else +value
        if isinstance(n, ast.BinOp) and type(n.op) in _BINARY:
            return _BINARY[type(n.op)](ev(n.left), ev(n.right))
        if isinstance(n, ast.JoinedStr):
            return "".join(ev(v) for v in n.values)
        if isinstance(n, ast.FormattedValue):
            value = ev(n.value)
            value = {-1: value, 115: str(value), 114: repr(value), 97: ascii(value)}[n.conversion]
            return format(value, ev(n.format_spec) if n.format_spec is not None else "")
        if isinstance(n, ast.Name):
            if n.id in _TYPES:
                return _TYPES[n.id]
            if n.id in names:
                return names[n.id]
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in names:
            args = [ev(a) for a in n.args]
            kwargs = {k.arg: ev(k.value) for k in n.keywords if k.arg is not None}
            if len(kwargs) != len(n.keywords):
                raise SpecSyntaxError(f"{path.name}:{n.lineno}: ** arguments are not allowed in {SPEC_NAME}")
            return names[n.func.id](*args, **kwargs)
        what = ast.unparse(n) if hasattr(ast, "unparse") else type(n).__name__
        raise SpecSyntaxError(
            f"{path.name}:{getattr(n, 'lineno', '?')}: {SPEC_NAME} uses {what!r}; a spec is read without "
            f"importing its module, so it may use only literals and {', '.join(sorted(names))}")

    return ev(node)
