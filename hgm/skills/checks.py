"""Static checks on a skill's parsed code (:mod:`ast` only, nothing imported or run): the
``__all__`` list, JSON-friendly annotations, and standard-library-only imports.
:mod:`hgm.skills.format` reads the files and calls these."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from hgm.pyast import parse as ast_parse

_SCALARS = frozenset({"str", "int", "float", "bool", "None"})
_DYNAMIC_IMPORTS = frozenset({"import_module", "__import__"})
TYPES_HELP = "use str, int, float, bool, None, list[X], dict[str, X], X | None or Literal[...]"


def dunder_all(tree: ast.Module) -> list[str] | None:
    """The names of a top-level ``__all__ = [...]`` of string literals, or None."""
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            continue
        try:
            value = ast.literal_eval(node.value) if node.value is not None else None
        except ValueError:
            return None
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return list(value)
        return None
    return None


def annotation_problem(node: ast.expr) -> str | None:
    """Why an annotation is not JSON-friendly, or None: str, int, float, bool, None, list[X],
    dict[str, X], X | None (or Optional[X]), Literal[...] of scalars, nested freely."""
    bad = f"unsupported type {ast.unparse(node)} ({TYPES_HELP})"
    if isinstance(node, ast.Constant) and node.value is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a string annotation
        try:
            return annotation_problem(ast_parse(node.value, mode="eval").body)
        except SyntaxError:
            return bad
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return annotation_problem(node.left) or annotation_problem(node.right)
    head = name_of(node.value if isinstance(node, ast.Subscript) else node)
    if not isinstance(node, ast.Subscript):
        return None if head in _SCALARS else bad
    args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
    if head in ("list", "List") and len(args) == 1:
        return annotation_problem(args[0])
    if head in ("dict", "Dict") and len(args) == 2:
        if name_of(args[0]) != "str":
            return f"dict keys must be str in JSON, not {ast.unparse(args[0])}"
        return annotation_problem(args[1])
    if head == "Optional" and len(args) == 1:
        return annotation_problem(args[0])
    if head == "Literal":
        scalars = str | int | float | bool | None
        if all(isinstance(a, ast.Constant) and isinstance(a.value, scalars) for a in args):
            return None
        return f"Literal values must be str, int, float, bool or None in {ast.unparse(node)}"
    return bad


def name_of(node: ast.expr) -> str | None:
    """``x`` for ``x`` and ``m.x`` (``typing.Optional``, ``importlib.import_module``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None


def local_modules(folder: Path) -> set[str]:
    """Names a skill may import besides the standard library: its own top-level modules and
    packages (its folder is on sys.path when it runs)."""
    names = {p.stem for p in folder.glob("*.py")}
    names |= {p.name for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    return names


def import_problems(trees: Sequence[tuple[str, ast.Module]], local: set[str]) -> list[str]:
    """One line per import, in any of the (label, tree) files, of a module that is neither in
    the standard library nor one of ``local``."""
    allowed = set(sys.stdlib_module_names) | local
    problems = []
    for label, tree in trees:
        for line, module in imports(tree):
            if module.split(".")[0] not in allowed:
                problems.append(
                    f"{label} line {line}: imports {module!r}, which is not in the standard "
                    "library (skills are stdlib only)"
                )
    return problems


def imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import, and of importlib.import_module /
    __import__ calls with a literal name; relative imports are the skill's own."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Call) and name_of(node.func) in _DYNAMIC_IMPORTS and node.args:
            first = node.args[0]
            literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            if literal and not first.value.startswith("."):
                yield node.lineno, first.value
