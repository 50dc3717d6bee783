"""The harness: the guard against planted test-runner code, bounded tree copies, the verdict.

The attack suites (tests/test_attacks.py, tests/test_attacks_verdict.py) show the attacks
in a real sandbox; these tests pin down what the guard changes and what it leaves alone,
how trees the agent controls are copied and removed (no recursion, bounded), how the
expected tests are read from a task's hidden test files, and how hgm's runner and the
verdict treat a run, with the real runner in a plain subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hgm.jobs.expected_tests import expected_tests
from hgm.jobs.files import (
    TreeLimits,
    TreeTooLarge,
    copy_clean,
    guard_test_runner,
    remove_tree,
    trees_equal,
)
from hgm.jobs.verdict import RUNNER, judge, parse_test_command
from hgm.sandbox import RunResult
from hgm.types import Outcome


def make(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def listing(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_agent_added_shadows_of_the_standard_library_and_runners_are_removed(tmp_path):
    original = make(tmp_path / "task", {"calc.py": "x = 1\n"})
    judged = make(tmp_path / "judged", {
        "calc.py": "x = 2\n",
        "argparse.py": "fake\n",
        "unittest/__init__.py": "",
        "pytest/__init__.py": "",
        "sitecustomize.py": "fake\n",
        "_ssl.cpython-311-x86_64-linux-gnu.so": "fake\n",
        "json.txt": "data, not a module\n",
        "helpers.py": "ok\n",
    })  # fmt: skip
    changes = guard_test_runner(judged, original)
    assert listing(judged) == {"calc.py": "x = 2\n", "helpers.py": "ok\n", "json.txt": "data, not a module\n"}
    assert len(changes) == 5 and any("'unittest'" in line for line in changes)


def test_a_module_the_task_itself_ships_is_kept_even_if_the_agent_changed_it(tmp_path):
    # A task may legitimately have a module named like a stdlib one; it is the agent's to fix.
    original = make(tmp_path / "task", {"calendar.py": "buggy\n"})
    judged = make(tmp_path / "judged", {"calendar.py": "fixed\n"})
    assert guard_test_runner(judged, original) == []
    assert listing(judged) == {"calendar.py": "fixed\n"}


def test_conftest_and_runner_configuration_are_the_tasks(tmp_path):
    original = make(tmp_path / "task", {"pyproject.toml": "[project]\nname = 'x'\n", "tests/conftest.py": "A\n"})
    judged = make(tmp_path / "judged", {
        "pyproject.toml": "[tool.pytest.ini_options]\naddopts = '--co'\n",
        "conftest.py": "def pytest_collection_modifyitems(items): items.clear()\n",
        "tests/conftest.py": "B\n",
        "pytest.ini": "[pytest]\n",
        "src/pkg/conftest.py": "C\n",
    })  # fmt: skip
    changes = guard_test_runner(judged, original)
    assert listing(judged) == {"pyproject.toml": "[project]\nname = 'x'\n", "tests/conftest.py": "A\n"}
    assert sum(line.startswith("restored") for line in changes) == 2
    assert sum(line.startswith("removed") for line in changes) == 3


def test_a_deleted_task_conftest_is_put_back(tmp_path):
    original = make(tmp_path / "task", {"tests/conftest.py": "A\n", "calc.py": ""})
    judged = make(tmp_path / "judged", {"calc.py": ""})
    assert guard_test_runner(judged, original) == ["restored tests/conftest.py: test-runner configuration is the task's"]
    assert listing(judged)["tests/conftest.py"] == "A\n"


def test_an_untouched_workspace_is_left_exactly_as_it_was(tmp_path):
    files = {"calc.py": "x\n", "tests/conftest.py": "A\n", "setup.cfg": "[metadata]\n", "json.py": "task's\n"}
    original = make(tmp_path / "task", files)
    judged = make(tmp_path / "judged", files)
    assert guard_test_runner(judged, original) == []
    assert listing(judged) == files


def _unittest(workspace: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unittest", "discover", "-s", "tests_hidden", "-q"],
        cwd=workspace, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_real_test_runner_is_fooled_without_the_guard_and_not_with_it(tmp_path):
    hidden = {"tests_hidden/__init__.py": "", "tests_hidden/test_calc.py": (
        "import unittest\nfrom calc import add\n"
        "class T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n"
    )}  # fmt: skip
    original = make(tmp_path / "task", {"calc.py": "def add(a, b):\n    return a - b\n"})
    plant = {"argparse.py": "import sys\nprint('all tests passed')\nsys.exit(0)\n"}
    fooled = make(tmp_path / "fooled", {**listing(original), **plant, **hidden})
    assert _unittest(fooled).returncode == 0  # the attack works on an unguarded tree
    guarded = make(tmp_path / "guarded", {**listing(original), **plant})
    guard_test_runner(guarded, original)
    make(guarded, hidden)
    proc = _unittest(guarded)
    assert proc.returncode == 1 and "-1 != 5" in proc.stderr


# --- trees the agent controls: copied and removed without recursion, within limits ------------


def chain(root: Path, depth: int) -> Path:
    """A folder chain ``depth`` deep under ``root`` (made without recursion)."""
    here = root
    for _ in range(depth):
        here = here / "d"
        here.mkdir(parents=True)
    (here / "leaf.txt").write_text("bottom\n")
    return root


def test_a_folder_chain_deeper_than_the_limit_is_refused_not_a_recursion_error(tmp_path):
    deep = chain(tmp_path / "ws", 1500)
    with pytest.raises(TreeTooLarge, match="nested deeper than 64 folders"):
        copy_clean(deep, tmp_path / "copy", TreeLimits(what="the workspace"))
    copied = copy_clean(deep, tmp_path / "copy2", TreeLimits(max_depth=2000))
    assert (copied / Path(*["d"] * 1500) / "leaf.txt").read_text() == "bottom\n"
    assert trees_equal(deep, copied, TreeLimits(max_depth=2000))
    remove_tree(deep)
    remove_tree(copied)
    assert not deep.exists() and not copied.exists()


def test_file_count_and_bytes_are_bounded_with_sparse_files_at_full_size(tmp_path):
    many = make(tmp_path / "many", {f"f{i}.py": "" for i in range(30)})
    with pytest.raises(TreeTooLarge, match="more than 20 files and folders"):
        copy_clean(many, tmp_path / "c1", TreeLimits(max_entries=20))
    sparse = tmp_path / "sparse"
    sparse.mkdir()
    with open(sparse / "hole.bin", "wb") as f:
        f.truncate(8 << 30)  # 8 GiB that take no disk: copying it dense would
    with pytest.raises(TreeTooLarge, match="more than 1048576 bytes"):
        copy_clean(sparse, tmp_path / "c2", TreeLimits(max_bytes=1 << 20))
    assert not (tmp_path / "c2" / "hole.bin").exists()


def test_copies_leave_out_junk_symlinks_and_special_files(tmp_path):
    src = make(tmp_path / "src", {"a.py": "a\n", "pkg/b.py": "b\n", "pkg/__pycache__/b.pyc": "x", "run.log": "x"})
    os.symlink("/etc/passwd", src / "passwd")
    os.mkfifo(src / "pipe")
    dst = copy_clean(src, tmp_path / "dst")
    assert sorted(str(p.relative_to(dst)) for p in dst.rglob("*")) == ["a.py", "pkg", "pkg/b.py"]


def test_remove_tree_removes_folders_without_permissions(tmp_path):
    root = make(tmp_path / "t", {"a/b/c.txt": "x"})
    os.chmod(root / "a" / "b", 0)
    os.chmod(root / "a", 0o500)
    remove_tree(root)
    assert not root.exists()


# --- the verdict: which tests a task expects, and how a run is judged ----------------------------

HIDDEN = {
    "test_calc_hidden.py": (
        "import unittest\nfrom calc import add\n\n"
        "class Base:\n    def test_inherited(self):\n        pass\n\n"
        "class TestAdd(Base, unittest.TestCase):\n"
        "    def test_a(self):\n        pass\n\n"
        "    @unittest.expectedFailure\n    def test_known_bug(self):\n        self.fail()\n\n"
        "    def helper(self):\n        pass\n\n"
        "@unittest.skipIf(True, 'not here')\nclass TestSkipped(unittest.TestCase):\n"
        "    def test_s(self):\n        pass\n\n"
        "class NotATest:\n    def test_nothing(self):\n        pass\n"
    ),
    "sub/test_nested.py": "import unittest\nclass TestN(unittest.TestCase):\n    def test_n(self):\n        pass\n",
    "helpers.py": "import unittest\nclass TestH(unittest.TestCase):\n    def test_h(self):\n        pass\n",
}


def test_unittest_commands_are_recognised_and_anything_else_is_not():
    plan = parse_test_command("python -m unittest discover -s tests_hidden -q")
    assert (plan.prefix, plan.python, plan.args) == ("", "python", ("discover", "-s", "tests_hidden", "-q"))
    polyglot = parse_test_command("cp -R tests_hidden/. . && rm -rf tests_hidden && python3 -m unittest a_test")
    assert (polyglot.prefix, polyglot.args) == ("cp -R tests_hidden/. . && rm -rf tests_hidden && ", ("a_test",))
    assert polyglot.command('"$R"') == (
        'cp -R tests_hidden/. . && rm -rf tests_hidden && python3 "$R" supervise unittest -- a_test'
    )
    pytest_plan = parse_test_command("pytest -q tests_hidden")
    assert (pytest_plan.python, pytest_plan.framework, pytest_plan.args) == ("python3", "pytest", ("-q", "tests_hidden"))
    for other in ("unittest discover", "python3 tests_hidden/run.py", "go test ./...",
                  "python -m unittest discover -s tests_hidden; true", "python -m unittest $(cat x)"):
        assert parse_test_command(other) is None, other


def test_expected_tests_are_read_from_the_hidden_files_without_importing_them(tmp_path):
    hidden = make(tmp_path / "tests", HIDDEN)
    plan = parse_test_command("python -m unittest discover -s tests_hidden -q")
    found = expected_tests(plan, hidden, "tests_hidden", tmp_path / "ws").tests
    assert found == {
        "test_calc_hidden.TestAdd.test_a": {"pass"},
        "test_calc_hidden.TestAdd.test_inherited": {"pass"},
        "test_calc_hidden.TestAdd.test_known_bug": {"xfail"},
        "test_calc_hidden.TestSkipped.test_s": {"pass", "skip"},
    }  # sub/ is no package (discovery skips it), helpers.py does not match test*.py
    make(hidden, {"sub/__init__.py": ""})
    assert "sub.test_nested.TestN.test_n" in expected_tests(plan, hidden, "tests_hidden", tmp_path).tests
    named = parse_test_command("python3 -m unittest test_calc_hidden.TestAdd")
    assert set(expected_tests(named, hidden, "tests_hidden", tmp_path).tests) == {
        "test_calc_hidden.TestAdd.test_a", "test_calc_hidden.TestAdd.test_inherited",
        "test_calc_hidden.TestAdd.test_known_bug",
    }  # fmt: skip


def run_runner(workspace: Path, out: Path, nonce: str, *args: str, framework: str = "unittest") -> subprocess.CompletedProcess:
    """hgm's runner as the test sandbox runs it, here in a plain subprocess."""
    env = {"PATH": os.environ["PATH"], "HGM_VERDICT_NONCE": nonce, "HGM_VERDICT_OUT": str(out)}
    return subprocess.run(
        [sys.executable, str(RUNNER), "supervise", framework, "--", *args],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def result_of(proc: subprocess.CompletedProcess) -> RunResult:
    return RunResult(proc.returncode, False, proc.stdout, proc.stderr, False, False, 0.1, {})


@pytest.mark.parametrize(
    ("calc", "outcome", "reason"),
    [
        ("def add(a, b):\n    return a + b\n", Outcome.PASS, None),
        ("def add(a, b):\n    return a - b\n", Outcome.FAIL, "hidden tests failed"),
        ("import atexit, os\natexit.register(lambda: os._exit(0))\ndef add(a, b):\n    return a - b\n",
         Outcome.FAIL, "tampering: the test process's exit status was changed from 1 to 0"),
        ("import unittest\nunittest.TestCase.run = lambda self, result=None: None\ndef add(a, b):\n    return 0\n",
         Outcome.FAIL, "tampering: unittest.case.TestCase.run was replaced"),
    ],
    ids=["honest", "buggy", "atexit", "patched-run"],
)
def test_the_runner_reports_each_test_and_the_verdict_needs_them_all(tmp_path, calc, outcome, reason):
    ws = make(tmp_path / "ws", {"calc.py": calc, "tests_hidden/test_calc.py": (
        "import unittest\nfrom calc import add\n\nclass T(unittest.TestCase):\n"
        "    def test_zero(self):\n        self.assertEqual(add(0, 0), 0)\n\n"
        "    def test_sum(self):\n        self.assertEqual(add(2, 3), 5)\n"
    )})  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    plan = parse_test_command("python -m unittest discover -s tests_hidden -q")
    expected = expected_tests(plan, ws / "tests_hidden", "tests_hidden", ws)
    proc = run_runner(ws, out, "n0nce", *plan.args)
    verdict = judge(result_of(proc), out, expected, "n0nce")
    assert verdict.outcome is outcome, (verdict, proc.stderr)
    assert (verdict.reason or "").startswith(reason or ""), verdict.reason
    records = json.loads((out / "verdict.json").read_text())["records"]
    assert [r["k"] for r in records][:2] == ["started", "loaded"]


def test_a_verdict_file_without_the_runs_nonce_or_with_fewer_tests_is_a_fail(tmp_path):
    ws = make(tmp_path / "ws", {"tests_hidden/test_x.py": (
        "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        pass\n"
        "    def test_b(self):\n        pass\n"
    )})  # fmt: skip
    plan = parse_test_command("python -m unittest discover -s tests_hidden")
    expected = expected_tests(plan, ws / "tests_hidden", "tests_hidden", ws)
    ok = RunResult(0, False, "", "", False, False, 0.1, {})
    out = tmp_path / "out"
    out.mkdir()
    assert judge(ok, out, expected, "n").reason.startswith("the hidden tests left no verdict")
    forged = {"nonce": "guess", "child_exit": 0, "records": [{"k": "completed", "exit": 0}]}
    (out / "verdict.json").write_text(json.dumps(forged))
    assert judge(ok, out, expected, "n").reason == "tampering: hgm's verdict file was overwritten"
    fewer = {"nonce": "n", "child_exit": 0, "records": [
        {"k": "started"}, {"k": "loaded", "count": 1}, {"k": "test", "id": "test_x.T.test_a", "o": "pass"},
        {"k": "completed", "ran": 1, "exit": 0},
    ]}  # fmt: skip
    (out / "verdict.json").write_text(json.dumps(fewer))
    verdict = judge(ok, out, expected, "n")
    assert (verdict.outcome, verdict.reason) == (Outcome.FAIL, "1 expected test(s) did not run or pass: test_x.T.test_b")
    # with -k the command selects tests by a pattern the ids cannot follow: what ran decides
    selected = parse_test_command("python -m unittest discover -s tests_hidden -k test_a")
    assert judge(ok, out, expected_tests(selected, ws / "tests_hidden", "tests_hidden", ws), "n").outcome is Outcome.PASS
    shutil.rmtree(out)


PYTEST_HIDDEN = {
    "tests_hidden/test_calc.py": (
        "import pytest\nfrom calc import add\n\n"
        "def test_zero():\n    assert add(0, 0) == 0\n\n"
        "@pytest.mark.parametrize('a,b,s', [(2, 3, 5), (1, 1, 2)])\n"
        "def test_sum(a, b, s):\n    assert add(a, b) == s\n\n"
        "class TestMore:\n    def test_neg(self):\n        assert add(-1, -1) == -2\n\n"
        "    @pytest.mark.skip(reason='later')\n    def test_later(self):\n        pass\n"
    ),
    "tests_hidden/helpers.py": "def test_not_collected():\n    pass\n",
}


def test_pytest_expected_tests_are_read_by_ast(tmp_path):
    ws = make(tmp_path / "ws", PYTEST_HIDDEN)
    plan = parse_test_command("python -m pytest -q tests_hidden")
    assert expected_tests(plan, ws / "tests_hidden", "tests_hidden", ws).tests == {
        "tests_hidden/test_calc.py::test_zero": {"pass"},
        "tests_hidden/test_calc.py::test_sum": {"pass"},
        "tests_hidden/test_calc.py::TestMore::test_neg": {"pass"},
        "tests_hidden/test_calc.py::TestMore::test_later": {"pass", "skip"},
    }
    one = parse_test_command("pytest tests_hidden/test_calc.py::TestMore")
    assert set(expected_tests(one, ws / "tests_hidden", "tests_hidden", ws).tests) == {
        "tests_hidden/test_calc.py::TestMore::test_neg", "tests_hidden/test_calc.py::TestMore::test_later",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("calc", "outcome", "reason"),
    [
        ("def add(a, b):\n    return a + b\n", Outcome.PASS, None),
        ("def add(a, b):\n    return a - b\n", Outcome.FAIL, "hidden tests failed"),
        ("import atexit, os\natexit.register(lambda: os._exit(0))\ndef add(a, b):\n    return a - b\n",
         Outcome.FAIL, "tampering: the test process's exit status was changed from 1 to 0"),
        ("import _pytest.python\n_pytest.python.Function.runtest = lambda self: None\n"
         "def add(a, b):\n    return a - b\n", Outcome.FAIL, "tampering: _pytest.python.Function.runtest was replaced"),
    ],
    ids=["honest", "buggy", "atexit", "patched-runtest"],
)
def test_pytest_runs_under_the_runner_with_the_same_verdict_rules(tmp_path, calc, outcome, reason):
    ws = make(tmp_path / "ws", {**PYTEST_HIDDEN, "calc.py": calc})
    out = tmp_path / "out"
    out.mkdir()
    plan = parse_test_command("python -m pytest -q -p no:cacheprovider tests_hidden")
    expected = expected_tests(plan, ws / "tests_hidden", "tests_hidden", ws)
    proc = run_runner(ws, out, "n0nce", *plan.args, framework="pytest")
    verdict = judge(result_of(proc), out, expected, "n0nce")
    assert verdict.outcome is outcome, (verdict, proc.stdout[-2000:], proc.stderr[-2000:])
    assert (verdict.reason or "").startswith(reason or ""), verdict.reason
