"""Find where a Python name is defined and used, by parsing files with ast.

Standard library only. The one entry point is ``find_symbol``.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

__all__ = ["find_symbol"]

SKIPPED_DIRS = {".git", "__pycache__", ".venv", "venv", "node_modules", ".tox", ".mypy_cache", "build", "dist"}


def find_symbol(
    name: str, root: str = ".", include_tests: bool = True, max_results: int = 200
) -> dict[str, list[dict[str, str | int]] | list[str] | int | bool]:
    """Find the definitions and uses of ``name`` (``func``, ``Class`` or ``Class.method``) in
    the .py files under ``root``; paths in the answer are relative to ``root``. Files that do
    not parse are listed in ``unparsable`` and skipped."""
    owner, _, attr = name.rpartition(".")
    base = Path(root)
    definitions: list[dict[str, str | int]] = []
    references: list[dict[str, str | int]] = []
    unparsable: list[str] = []
    files = _python_files(base, include_tests)
    for path in files:
        rel = path.relative_to(base).as_posix()
        try:
            source = path.read_text(encoding="utf-8", errors="replace")
            tree = ast.parse(source, filename=rel)
        except (SyntaxError, ValueError):
            unparsable.append(rel)
            continue
        lines = source.splitlines()
        finder = _Finder(attr, owner, rel, lines)
        finder.visit(tree)
        definitions += finder.definitions
        references += finder.references
    truncated = len(definitions) + len(references) > max_results
    return {
        "definitions": definitions[:max_results],
        "references": references[: max(0, max_results - len(definitions))],
        "files_scanned": len(files),
        "unparsable": unparsable,
        "truncated": truncated,
    }


def _python_files(root: Path, include_tests: bool) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
        for file in sorted(files):
            if not file.endswith(".py"):
                continue
            path = Path(folder) / file
            if not include_tests and _is_test(path.relative_to(root)):
                continue
            found.append(path)
    return found


def _is_test(rel: Path) -> bool:
    return any(part in ("tests", "test") for part in rel.parts[:-1]) or rel.name.startswith("test_") or rel.name.endswith("_test.py")


class _Finder(ast.NodeVisitor):
    """Collects definitions and uses of one name in one file."""

    def __init__(self, name: str, owner: str, path: str, lines: list[str]) -> None:
        self.name, self.owner, self.path, self.lines = name, owner, path, lines
        self.classes: list[str] = []
        self.functions = 0
        self.definitions: list[dict[str, str | int]] = []
        self.references: list[dict[str, str | int]] = []

    def _add(self, into: list, node: ast.AST, kind: str) -> None:
        line = getattr(node, "lineno", 0)
        context = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        entry = {"path": self.path, "line": line, "kind": kind, "context": context}
        if entry not in into:
            into.append(entry)

    def _owner_matches(self) -> bool:
        return not self.owner or (bool(self.classes) and self.classes[-1] == self.owner.split(".")[-1])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if node.name == self.name and not self.owner:
            self._add(self.definitions, node, "class")
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if node.name == self.name and self._owner_matches():
            in_class = bool(self.classes) and self.functions == 0
            self._add(self.definitions, node, "method" if in_class else "function")
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
            if arg.arg == self.name and not self.owner:
                self._add(self.definitions, arg, "parameter")
        self.functions += 1
        saved, self.classes = self.classes, []
        self.generic_visit(node)
        self.classes = saved
        self.functions -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Name(self, node: ast.Name) -> None:
        if node.id != self.name or self.owner:
            return
        if isinstance(node.ctx, ast.Store) and self.functions == 0:
            self._add(self.definitions, node, "variable")
        elif isinstance(node.ctx, ast.Load):
            self._add(self.references, node, "name")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == self.name and isinstance(node.ctx, ast.Load):
            self._add(self.references, node, "attribute")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if called == self.name and (not self.owner or isinstance(func, ast.Attribute)):
            self._add(self.references, node, "call")
            for child in [*node.args, *node.keywords]:
                self.visit(child)
            if isinstance(func, ast.Attribute):
                self.visit(func.value)
            return
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == self.name and not self.owner:
                self._add(self.definitions, node, "import")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if self.name in (alias.asname, alias.name.split(".")[0]) and not self.owner:
                self._add(self.definitions, node, "import")
