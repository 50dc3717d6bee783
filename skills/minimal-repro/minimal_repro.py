"""Cut one failing test out of its module into a small standalone script that reproduces it.

Standard library only. The one entry point is ``make_repro``. The script keeps the module's
imports, the test itself and only the module-level code the test needs (found by following
names through ast), so the failure can be studied and bisected without the rest of the suite.
"""

from __future__ import annotations

import ast
import copy
import subprocess
import sys
from pathlib import Path

__all__ = ["make_repro"]

HOOKS = ("setUp", "tearDown", "setUpClass", "tearDownClass", "asyncSetUp", "asyncTearDown")
TAIL_LINES = 30


def make_repro(
    test_id: str, root: str = ".", out: str | None = None, run: bool = True, timeout: int = 120
) -> dict[str, str | int | bool | None]:
    """Write a standalone script for ``test_id`` (``tests/test_x.py::Class::test_m``,
    ``tests/test_x.py::test_f`` or ``tests.test_x.Class.test_m``) under ``root``, to ``out``
    (default ``repro_<test>.py``), and with ``run`` run it: ``reproduces`` is true when the
    script fails as the test did. ``error`` says why no script could be made."""
    base = Path(root)
    try:
        path, owner, name = _locate(test_id, base)
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
        script = _script(tree, path.relative_to(base), owner, name)
    except (ValueError, OSError, SyntaxError) as e:
        return {"ok": False, "error": f"{test_id}: {e}", "script": None, "reproduces": None, "output_tail": "", "lines": 0, "original_lines": 0}
    target = base / (out or f"repro_{name}.py")
    target.write_text(script, encoding="utf-8")
    result: dict[str, str | int | bool | None] = {
        "ok": True, "error": None, "script": out or target.relative_to(base).as_posix(),
        "reproduces": None, "output_tail": "", "lines": len(script.splitlines()), "original_lines": len(source.splitlines()),
    }
    if run:
        try:
            proc = subprocess.run([sys.executable, str(target.resolve())], cwd=base, capture_output=True, text=True, timeout=timeout)
            output, failed = proc.stdout + proc.stderr, proc.returncode != 0
        except subprocess.TimeoutExpired:
            output, failed = f"the script timed out after {timeout} s", True
        result["reproduces"] = failed
        result["output_tail"] = "\n".join(output.rstrip().splitlines()[-TAIL_LINES:])
    return result


def _locate(test_id: str, base: Path) -> tuple[Path, str | None, str]:
    """(test file, class or None, test function) of a pytest or unittest test id."""
    test_id = test_id.split("[")[0]
    if "::" in test_id:
        file, *parts = test_id.split("::")
        if len(parts) not in (1, 2):
            raise ValueError("expected path.py::test or path.py::Class::test")
        return base / file, parts[0] if len(parts) == 2 else None, parts[-1]
    parts = test_id.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        path = base.joinpath(*parts[:cut]).with_suffix(".py")
        if path.is_file():
            rest = parts[cut:]
            if len(rest) not in (1, 2):
                raise ValueError("expected module.test or module.Class.test")
            return path, rest[0] if len(rest) == 2 else None, rest[-1]
    raise ValueError("no module file found for this dotted test id")


def _script(tree: ast.Module, rel: Path, owner: str | None, name: str) -> str:
    defs = {n: node for node in tree.body for n in _defined(node)}
    if owner is not None:
        cls = defs.get(owner)
        if not isinstance(cls, ast.ClassDef):
            raise ValueError(f"no class {owner} in {rel.as_posix()}")
        test = _trim_class(cls, name)
    else:
        test = defs.get(name)
        if not isinstance(test, ast.FunctionDef | ast.AsyncFunctionDef):
            raise ValueError(f"no test function {name} in {rel.as_posix()}")
        params = [a.arg for a in test.args.args]
        if params:
            raise ValueError(f"{name} takes pytest fixtures ({', '.join(params)}), which a plain script cannot supply")
    needed = _needed(test, defs)
    package = ".".join(rel.parent.parts)
    body: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            body.append(_absolute(node, package))
        elif node is defs.get(owner or name):
            body.append(test)
        elif any(d in needed for d in _defined(node)) or _is_setup_call(node):
            body.append(node)
    header = f'"""Reproduction of {rel.as_posix()}::{owner + "::" if owner else ""}{name}, cut out by minimal-repro."""\n'
    path_fix = "import sys as _sys\n_sys.path.insert(0, " + repr(".") + ")\n"
    return header + path_fix + ast.unparse(ast.Module(body=body, type_ignores=[])) + "\n\n" + _runner(owner, name, test)


def _is_setup_call(node: ast.stmt) -> bool:
    """A bare top-level call such as ``sys.path.insert(...)``: kept, the module ran it."""
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)


def _defined(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return []


def _trim_class(cls: ast.ClassDef, name: str) -> ast.ClassDef:
    """The class with its test, its hooks, its attributes and the methods they call."""
    methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    if name not in methods:
        raise ValueError(f"no test method {cls.name}.{name}")
    keep = {name, *(h for h in HOOKS if h in methods)}
    todo = list(keep)
    while todo:
        for node in ast.walk(methods[todo.pop()]):
            is_own = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if is_own and node.attr in methods and node.attr not in keep:
                keep.add(node.attr)
                todo.append(node.attr)
    trimmed = copy.copy(cls)
    trimmed.body = [n for n in cls.body if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) or n.name in keep]
    return trimmed


def _needed(test: ast.AST, defs: dict[str, ast.stmt]) -> set[str]:
    """Module-level names the test uses, followed through the definitions they use."""
    needed: set[str] = set()
    todo = [test]
    while todo:
        for node in ast.walk(todo.pop()):
            if isinstance(node, ast.Name) and node.id in defs and node.id not in needed:
                needed.add(node.id)
                todo.append(defs[node.id])
    return needed


def _absolute(node: ast.stmt, package: str) -> ast.stmt:
    """``from .x import y`` in package ``tests`` becomes ``from tests.x import y``."""
    if not isinstance(node, ast.ImportFrom) or not node.level:
        return node
    parts = package.split(".") if package else []
    parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
    module = ".".join([*parts, *([node.module] if node.module else [])])
    return ast.ImportFrom(module=module, names=node.names, level=0)


def _runner(owner: str | None, name: str, test: ast.AST) -> str:
    if owner is not None:
        return f'if __name__ == "__main__":\n    import unittest\n    unittest.main(argv=["repro", "{owner}.{name}"], verbosity=2)\n'
    call = f"asyncio.run({name}())" if isinstance(test, ast.AsyncFunctionDef) else f"{name}()"
    return (
        'if __name__ == "__main__":\n    import asyncio, traceback\n    try:\n'
        f"        {call}\n    except BaseException:\n        traceback.print_exc()\n        _sys.exit(1)\n"
        '    print("passed: the failure did not reproduce")\n'
    )
