"""Which tests a task's hidden test files define, read with :mod:`ast`: nothing is imported.

The verdict (:mod:`hgm.jobs.verdict`) needs every expected test reported passed. The ids
follow the test framework's own naming: ``module.Class.method`` for unittest (discovery's
start folder, top-level folder and pattern, or the names given), and
``path/from/workspace/root.py::[Class::]test`` for pytest.
"""

from __future__ import annotations

import ast
import fnmatch
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hgm.pyast import parse as ast_parse

if TYPE_CHECKING:
    from hgm.jobs.verdict import PythonTests

_FLAGS_WITH_VALUE = {"-s", "--start-directory", "-p", "--pattern", "-t", "--top-level-directory", "-k"}


@dataclass(frozen=True)
class Expectation:
    """The tests a task ships: test id -> outcomes that count as passed for it."""

    tests: dict[str, frozenset[str]] = field(default_factory=dict)
    complete: bool = True
    """False when the command selects tests in a way the ids cannot follow (``-k``)."""


def expected_tests(plan: PythonTests, hidden_tests: Path, hidden_dir: str, workspace: Path) -> Expectation:
    """The ids of the hidden tests that ``plan`` runs, read from the files in ``hidden_tests``.

    ``hidden_dir`` is where those files land in the workspace; ``workspace`` is the task's
    own workspace (for the ``__init__.py`` files discovery needs on the way to them).
    """
    args = list(plan.args)
    if plan.framework == "pytest":
        return _pytest_expected(args, hidden_tests, hidden_dir)
    complete = "-k" not in args
    if not args or args[0] == "discover" or all(a.startswith("-") for a in args):
        start, pattern, top = _discover_args(args[1:] if args and args[0] == "discover" else args)
        tests = _discovered(hidden_tests, hidden_dir, workspace, start, pattern, top)
    else:
        names = [a for a in _positional(args)]
        tests = {}
        for name in names:
            tests.update(_named(hidden_tests, hidden_dir, name))
    return Expectation(tests, complete)


def _positional(args: list[str]) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in _FLAGS_WITH_VALUE:
            skip = True
        elif not a.startswith("-"):
            out.append(a)
    return out


def _discover_args(args: list[str]) -> tuple[str, str, str | None]:
    values: dict[str, str] = {}
    names = {"-s": "s", "--start-directory": "s", "-p": "p", "--pattern": "p", "-t": "t", "--top-level-directory": "t"}
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in names and i + 1 < len(args):
            values[names[a]] = args[i + 1]
            i += 2
            continue
        if a == "-k":
            i += 2
            continue
        if not a.startswith("-"):
            rest.append(a)
        i += 1
    for key, value in zip("spt", rest, strict=False):
        values.setdefault(key, value)
    return values.get("s", "."), values.get("p", "test*.py"), values.get("t")


def _norm(path: str) -> str:
    return posixpath.normpath(path.strip("/") or ".")


def _discovered(
    hidden: Path, hidden_dir: str, workspace: Path, start: str, pattern: str, top: str | None
) -> dict[str, frozenset[str]]:
    start, hidden_dir = _norm(start), _norm(hidden_dir)
    top = _norm(top) if top is not None else start
    tests: dict[str, frozenset[str]] = {}
    for file in sorted(hidden.rglob("*.py")):
        rel = posixpath.join(hidden_dir, file.relative_to(hidden).as_posix())
        if not fnmatch.fnmatch(file.name, pattern) or not _under(rel, start) or not _under(rel, top):
            continue
        folders = posixpath.relpath(posixpath.dirname(rel), start)
        if not _packages_on_the_way(folders, start, hidden, hidden_dir, workspace):
            continue
        module = posixpath.relpath(rel, top)[: -len(".py")].replace("/", ".")
        tests.update(_module_tests(file, module))
    return tests


def _under(path: str, folder: str) -> bool:
    return folder == "." or path == folder or path.startswith(folder + "/")


def _packages_on_the_way(folders: str, start: str, hidden: Path, hidden_dir: str, workspace: Path) -> bool:
    """Discovery only descends into packages: every folder below ``start`` needs __init__.py."""
    if folders == ".":
        return True
    here = start
    for part in folders.split("/"):
        here = posixpath.join(here, part) if here != "." else part
        if _under(here, hidden_dir):
            inside = posixpath.relpath(here, hidden_dir)
            init = hidden / inside / "__init__.py"
        else:
            init = workspace / here / "__init__.py"
        if not init.is_file():
            return False
    return True


def _named(hidden: Path, hidden_dir: str, name: str) -> dict[str, frozenset[str]]:
    """Tests of a dotted name (module, module.Class or module.Class.method)."""
    parts = name.split(".")
    hidden_parts = _norm(hidden_dir).split("/")
    for i in range(len(parts), 0, -1):
        candidates = [hidden.joinpath(*parts[:i]).with_suffix(".py")]
        if parts[: len(hidden_parts)] == hidden_parts and i > len(hidden_parts):
            candidates.append(hidden.joinpath(*parts[len(hidden_parts) : i]).with_suffix(".py"))
        file = next((c for c in candidates if c.is_file()), None)
        if file is None:
            continue
        module = ".".join(parts[:i])
        rest = parts[i:]
        found = _module_tests(file, module)
        prefix = ".".join([module, *rest])
        return {k: v for k, v in found.items() if k == prefix or k.startswith(prefix + ".")}
    return {}


def _module_tests(file: Path, module: str) -> dict[str, frozenset[str]]:
    """Test ids of the TestCase classes in ``file`` (by ast), with the outcomes that count."""
    try:
        source = file.read_text()
        tree = ast_parse(source)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    module_skips = any(
        isinstance(n, ast.FunctionDef) and n.name == "setUpModule" and _mentions_skip(n) for n in tree.body
    )
    tests: dict[str, frozenset[str]] = {}
    for name, node in classes.items():
        if not _is_test_case(node, classes, set()):
            continue
        class_skips = module_skips or _mentions_skip(node)
        for method in _test_methods(node, classes, set()):
            allowed = {"pass"}
            if _has_decorator(method, "expectedFailure"):
                allowed = {"xfail"}
            if class_skips:
                allowed.add("skip")
            tests[f"{module}.{name}.{method.name}"] = frozenset(allowed)
    return tests


def _base_name(expr: ast.expr) -> str:
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Name):
        return expr.id
    return ""


def _is_test_case(node: ast.ClassDef, classes: dict[str, ast.ClassDef], seen: set[str]) -> bool:
    seen.add(node.name)
    for base in node.bases:
        name = _base_name(base)
        if name.endswith("TestCase"):
            return True
        if name in classes and name not in seen and _is_test_case(classes[name], classes, seen):
            return True
    return False


def _test_methods(node: ast.ClassDef, classes: dict[str, ast.ClassDef], seen: set[str]) -> list[ast.FunctionDef]:
    """The class's test methods, with those it inherits from classes of the same module."""
    seen.add(node.name)
    own = {
        n.name: n
        for n in node.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test")
    }
    for base in node.bases:
        name = _base_name(base)
        if name in classes and name not in seen:
            for method in _test_methods(classes[name], classes, seen):
                own.setdefault(method.name, method)
    return list(own.values())


def _has_decorator(node: ast.AST, name: str) -> bool:
    return any(_base_name(d.func if isinstance(d, ast.Call) else d) == name for d in getattr(node, "decorator_list", ()))


def _mentions_skip(node: ast.AST) -> bool:
    """A test may legitimately be skipped when its class (or setUpModule) says so anywhere."""
    for sub in ast.walk(node):
        name = _base_name(sub) if isinstance(sub, ast.Attribute | ast.Name) else ""
        if "skip" in name.lower():
            return True
    return False


# pytest: ids are "path/of/file.py::Class::test" with the path relative to the workspace root
_PYTEST_SELECTING = {"-k", "-m", "--deselect", "--lf", "--last-failed", "--ff", "--sw", "--stepwise"}
_PYTEST_WITH_VALUE = {"-k", "-m", "-p", "-c", "-o", "--deselect", "--rootdir", "--ignore", "--ignore-glob",
                      "--confcutdir", "--basetemp", "-W", "--maxfail", "--tb", "-r", "--durations", "--import-mode"}


def _pytest_expected(args: list[str], hidden: Path, hidden_dir: str) -> Expectation:
    hidden_dir = _norm(hidden_dir)
    complete = not any(a.split("=", 1)[0] in _PYTEST_SELECTING for a in args)
    targets, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in _PYTEST_WITH_VALUE:
            skip = True
        elif not a.startswith("-"):
            targets.append(a)
    tests: dict[str, frozenset[str]] = {}
    for file in sorted(hidden.rglob("*.py")):
        rel = posixpath.join(hidden_dir, file.relative_to(hidden).as_posix())
        named = [t for t in targets or ["."] if _norm(t.split("::", 1)[0]) == rel]
        under = any(_under(rel, _norm(t)) for t in targets or ["."] if "::" not in t)
        collected = under and (fnmatch.fnmatch(file.name, "test_*.py") or fnmatch.fnmatch(file.name, "*_test.py"))
        if not (named or collected):
            continue
        found = _pytest_file_tests(file, rel)
        selectors = [t for t in named if "::" in t]
        if selectors and not under:
            found = {k: v for k, v in found.items() if any(k == s or k.startswith(s + "::") for s in selectors)}
        tests.update(found)
    return Expectation(tests, complete)


def _pytest_file_tests(file: Path, rel: str) -> dict[str, frozenset[str]]:
    try:
        tree = ast_parse(file.read_text())
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    tests: dict[str, frozenset[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            tests[f"{rel}::{node.name}"] = _pytest_allowed(node, False)
        elif isinstance(node, ast.ClassDef):
            plain = node.name.startswith("Test") and not any(
                isinstance(n, ast.FunctionDef) and n.name == "__init__" for n in node.body
            )
            if not (plain or _is_test_case(node, classes, set())):
                continue
            class_skips = _mentions_skip(node) if not plain else _class_skips(node)
            for method in _test_methods(node, classes, set()):
                tests[f"{rel}::{node.name}::{method.name}"] = _pytest_allowed(method, class_skips)
    return tests


def _class_skips(node: ast.ClassDef) -> bool:
    """A plain pytest class skips all its tests by a decorator or in its setup methods."""
    setups = [n for n in node.body if isinstance(n, ast.FunctionDef) and n.name.lower().startswith("setup")]
    return any(_mentions_skip(d) for d in node.decorator_list) or any(_mentions_skip(n) for n in setups)


def _pytest_allowed(node: ast.AST, class_skips: bool) -> frozenset[str]:
    allowed = {"pass"}
    if class_skips or _mentions_skip(node):
        allowed.add("skip")
    if any("xfail" in ast.unparse(d) for d in getattr(node, "decorator_list", ())):
        allowed.add("xfail")
    return frozenset(allowed)
