"""The verdict on a run of hidden tests: which expected tests ran and passed, not just exit 0.

The hidden tests import the agent's code, so that code runs in the test process and may try
to fake a pass (exit 0 from an ``atexit`` handler or at import, a patched test framework).
For a test command that is a Python ``unittest`` or ``pytest`` invocation, hgm therefore runs
the tests under its own runner (``_verdict_runner.py``, mounted read-only, never in the workspace):

1. :func:`parse_test_command` recognises ``[PREFIX &&] python[3] -m unittest ARGS`` and
   ``[PREFIX &&] [python[3] -m] pytest ARGS``;
2. :func:`expected_tests` reads the test ids the task ships from its hidden test files with
   :mod:`ast` (no code is imported);
3. the runner reports each test's outcome over a pipe with a per-run nonce to a supervisor
   process, which writes them to a file in a mount of its own;
4. :func:`judge` requires every expected test to be reported passed, a "completed" record,
   the exit status the runner chose, and no tampering.

Any other test command is judged by its exit status alone (:func:`exit_code_verdict`).
docs/security.md, "The verdict", states what this guarantees and what it does not.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from hgm.sandbox import RunResult
from hgm.types import Outcome

RUNNER = Path(__file__).with_name("_verdict_runner.py")
VERDICT_FILE = "verdict.json"
MAX_VERDICT_BYTES = 32 * 1024 * 1024
TESTS_FAILED = "hidden tests failed"

_PYTHON = re.compile(
    r"^(?P<prefix>.*&&\s*)?(?:(?P<python>python3?)\s+-m\s+)?(?P<framework>unittest|pytest)(?P<args>(\s.*)?)$",
    re.DOTALL,
)
# Arguments hgm can pass on safely: plain words, no shell syntax.
_PLAIN_ARG = re.compile(r"^[A-Za-z0-9_.,/*?=+:@%-]+$")
_FLAGS_WITH_VALUE = {"-s", "--start-directory", "-p", "--pattern", "-t", "--top-level-directory", "-k"}


@dataclass(frozen=True)
class PythonTests:
    """A test command that is ``[prefix] python -m unittest|pytest args`` (or ``pytest args``)."""

    prefix: str
    python: str
    args: tuple[str, ...]
    framework: str = "unittest"

    def command(self, runner: str) -> str:
        """The same command, run under hgm's runner at ``runner`` (a shell word)."""
        return f"{self.prefix}{self.python} {runner} supervise {self.framework} -- {shlex.join(self.args)}".rstrip()


@dataclass(frozen=True)
class Verdict:
    """The outcome of a hidden-test run, why, and lines for the test log."""

    outcome: Outcome
    reason: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Expectation:
    """The tests a task ships: test id -> outcomes that count as passed for it."""

    tests: dict[str, frozenset[str]] = field(default_factory=dict)
    complete: bool = True
    """False when the command selects tests in a way the ids cannot follow (``-k``)."""


def parse_test_command(command: str) -> PythonTests | None:
    """The unittest invocation in ``command``, or None when it is not one hgm can run."""
    m = _PYTHON.match(command.strip())
    if m is None or (m.group("framework") == "unittest" and not m.group("python")):
        return None
    prefix = m.group("prefix") or ""
    try:
        args = shlex.split(m.group("args") or "")
    except ValueError:
        return None
    if not all(_PLAIN_ARG.match(a) for a in args):
        return None
    return PythonTests(prefix, m.group("python") or "python3", tuple(args), m.group("framework"))


# -- expected tests -----------------------------------------------------------------------------


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
        tree = ast.parse(source)
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
        tree = ast.parse(file.read_text())
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


# -- judging --------------------------------------------------------------------------------------


def exit_code_verdict(result: RunResult, why: str) -> Verdict:
    """The verdict by exit status alone, for test commands hgm's runner cannot run."""
    note = f"exit-code verdict: {why}"
    pre = _precondition(result)
    if pre is not None:
        return Verdict(pre.outcome, pre.reason, (note,))
    if result.exit_code == 0:
        return Verdict(Outcome.PASS, None, (note,))
    return Verdict(Outcome.FAIL, TESTS_FAILED, (note,))


def _precondition(result: RunResult) -> Verdict | None:
    if result.error:
        return Verdict(Outcome.ERROR, f"test harness failed: {result.error}")
    limit = result.limit
    if limit:
        return Verdict(Outcome.FAIL, f"the hidden tests' run broke a limit: {limit}")
    if result.timed_out:
        return Verdict(Outcome.FAIL, "hidden tests timed out")
    return None


def judge(result: RunResult, out_dir: Path | None, expected: Expectation, nonce: str) -> Verdict:
    """The verdict from the runner's records in ``out_dir`` (the collected verdict mount)."""
    pre = _precondition(result)
    if pre is not None:
        return pre
    data = _read_verdict(out_dir)
    if data is None:
        return Verdict(
            Outcome.FAIL,
            f"the hidden tests left no verdict: the test process or hgm's runner was killed (exit code {result.exit_code})",
        )
    if data.get("nonce") != nonce:
        return Verdict(Outcome.FAIL, "tampering: hgm's verdict file was overwritten")
    return _judge_records(result, data, expected)


def _read_verdict(out_dir: Path | None) -> dict | None:
    if out_dir is None:
        return None
    path = out_dir / VERDICT_FILE
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_VERDICT_BYTES:
            return None
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("records"), list) else None


@dataclass
class _Seen:
    loaded: bool = False
    completed: dict | None = None
    tampering: list[str] = field(default_factory=list)
    outcomes: dict[str, set[str]] = field(default_factory=dict)


def _collect(records: list) -> _Seen:
    seen = _Seen()
    for r in records:
        if not isinstance(r, dict):
            continue
        kind = r.get("k")
        if kind == "loaded":
            seen.loaded = True
        elif kind == "completed" and seen.completed is None:
            seen.completed = r
        elif kind == "tamper":
            seen.tampering.append(str(r.get("what", "?"))[:200])
        elif kind == "test" and isinstance(r.get("id"), str):
            seen.outcomes.setdefault(r["id"], set()).add(str(r.get("o")))
    return seen


def _judge_records(result: RunResult, data: dict, expected: Expectation) -> Verdict:
    seen = _collect(data["records"])
    child_exit = data.get("child_exit")
    tampering = list(dict.fromkeys(seen.tampering))
    if seen.completed is not None:
        if seen.completed.get("exit") != child_exit:
            tampering.append(
                f"the test process's exit status was changed from {seen.completed.get('exit')} "
                f"to {child_exit} after its tests finished (e.g. by an atexit handler)"
            )
    elif child_exit == 0:
        when = "while its tests were running" if seen.loaded else "while its tests were being loaded"
        tampering.append(f"the test process exited with status 0 {when}, before it reported completion")
    if data.get("foreign_lines"):
        tampering.append(f"{data['foreign_lines']} records without the run's nonce reached hgm's result channel")
    if data.get("overflow"):
        tampering.append("hgm's result channel was flooded")
    failed = sorted(i for i, o in seen.outcomes.items() if o & {"fail", "error", "xpass"})
    missing = sorted(
        i for i, allowed in expected.tests.items() if not seen.outcomes.get(i) or not seen.outcomes[i] <= allowed
    )
    passed = len(expected.tests) - len(missing)
    notes = (
        f"hgm runner: {passed} of {len(expected.tests)} expected tests passed; "
        f"{len(seen.outcomes)} tests reported, {len(failed)} failed",
        *(f"tampering: {t}" for t in tampering),
        *(f"did not run or pass: {i}" for i in missing[:20]),
    )
    if tampering:
        return Verdict(Outcome.FAIL, "tampering: " + "; ".join(tampering[:3]), notes)
    if seen.completed is None:
        return Verdict(
            Outcome.FAIL, f"the test process exited (status {child_exit}) before its tests finished", notes
        )
    if failed:
        return Verdict(Outcome.FAIL, TESTS_FAILED, notes)
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        return Verdict(Outcome.FAIL, f"{len(missing)} expected test(s) did not run or pass: {shown}", notes)
    if not seen.outcomes:
        return Verdict(Outcome.FAIL, "no hidden tests ran", notes)
    if result.exit_code != 0:
        return Verdict(Outcome.FAIL, TESTS_FAILED, notes)
    return Verdict(Outcome.PASS, None, notes)
