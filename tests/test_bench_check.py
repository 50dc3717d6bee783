"""The oracle check (``hgm bench check``) and the list of benchmarks (``hgm bench list``).

Every check runs the tasks' test commands for real, through the local sandbox.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hgm.bench import get_benchmark, load_task_dir
from hgm.bench.builtin import BUILTIN_TASKS_DIR
from hgm.bench.check import (
    CheckReport,
    TaskCheck,
    check_benchmark,
    check_spec,
    check_task,
    list_benchmarks,
)
from hgm.sandbox import RunResult, RunSpec, get_sandbox

COMMAND = "python3 -m unittest discover -s tests_hidden -q"
ADD_TEST = "self.assertEqual(add(2, 3), 5)"
BUILTIN_IDS = sorted(p.name for p in BUILTIN_TASKS_DIR.iterdir() if (p / "task.toml").is_file())


@pytest.fixture(scope="module")
def sandbox():
    return get_sandbox("local")


def write_task(
    root: Path,
    name: str,
    body: str = ADD_TEST,
    stub: str = "a - b",
    solution: str | None = "a + b",
    prelude: str = "",
) -> Path:
    """A dir-format task whose hidden test runs ``body``; ``solution=None`` leaves it out."""
    folder = root / name
    (folder / "workspace").mkdir(parents=True)
    (folder / "tests").mkdir()
    (folder / "task.toml").write_text(
        f'id = "{name}"\ninstructions = "Make add() add."\ntest_command = "{COMMAND}"\n'
    )
    (folder / "workspace" / "calc.py").write_text(f"def add(a, b):\n    return {stub}\n")
    (folder / "tests" / f"test_{name.replace('-', '_')}_hidden.py").write_text(
        f"import unittest\n{prelude}\nfrom calc import add\n\n\n"
        f"class T(unittest.TestCase):\n    def test_it(self):\n        {body}\n"
    )
    if solution is not None:
        (folder / "solution").mkdir()
        (folder / "solution" / "calc.py").write_text(f"def add(a, b):\n    return {solution}\n")
    return folder


def write_flaky_task(root: Path, name: str = "flaky") -> Path:
    """A task whose hidden test fails and passes in turn: it keeps state in a file outside
    the workspace, like a test that depends on the machine rather than on the code."""
    flag = root / f"{name}.flag"
    body = (
        f"flag = {str(flag)!r}\n"
        "        if os.path.exists(flag):\n"
        "            os.remove(flag)\n"
        "            return\n"
        "        open(flag, 'w').close()\n"
        "        self.fail('fails on every other run')"
    )
    return write_task(root, name, body=body, solution=None, prelude="import os")


def check_one(folder: Path, sandbox, **options) -> TaskCheck:
    return check_task(load_task_dir(folder), sandbox, **options)


# --- single tasks -----------------------------------------------------------------------


def test_sound_task_has_no_problems(tmp_path, sandbox):
    result = check_one(write_task(tmp_path, "sound"), sandbox)
    assert result == TaskCheck("sound", ())
    assert result.ok


def test_hidden_tests_that_pass_on_the_untouched_workspace_are_flagged(tmp_path, sandbox):
    result = check_one(write_task(tmp_path, "too-easy", stub="a + b"), sandbox)
    assert result.problems == ("hidden tests pass on the untouched workspace",)


def test_reference_solution_that_fails_is_flagged_with_the_test_output(tmp_path, sandbox):
    result = check_one(write_task(tmp_path, "wrong-fix", solution="a * b"), sandbox)
    (problem,) = result.problems
    assert problem.startswith("hidden tests fail with the reference solution (exit code 1:")
    assert "FAILED" in problem


def test_nondeterministic_test_command_is_flagged(tmp_path):
    # The plain-subprocess backend, because the flaky test keeps its state in a host file,
    # which the bubblewrap backend (rightly) keeps out of reach.
    result = check_one(write_flaky_task(tmp_path), get_sandbox("local?bwrap=0"))
    assert result.problems == (
        "test command is not deterministic: on the untouched workspace it gave fail, then pass",
    )


def test_task_without_solution_is_reported_unchecked_not_ok(tmp_path, sandbox):
    result = check_one(write_task(tmp_path, "no-fix", solution=None), sandbox)
    assert result == TaskCheck("no-fix", (), unchecked=True)
    assert not result.ok
    report = check_spec(f"dir:{tmp_path}", sandbox)
    assert report.to_json() == {"tasks": 1, "ok": 0, "problems": [], "unchecked": ["no-fix"]}


def set_test_command(folder: Path, command: str) -> Path:
    toml = folder / "task.toml"
    toml.write_text(toml.read_text().replace(COMMAND, command))
    return folder


@pytest.mark.parametrize("solution", ["a + b", None])
def test_test_command_that_is_not_found_is_a_problem_whatever_the_solution(
    tmp_path, sandbox, solution
):
    folder = set_test_command(
        write_task(tmp_path, "no-runner", solution=solution), "no-such-test-runner tests_hidden"
    )
    (problem,) = check_one(folder, sandbox).problems
    assert problem.startswith("the test command cannot run on the untouched workspace (exit code 127")


def test_hidden_tests_that_run_no_test_are_a_problem(tmp_path, sandbox):
    folder = write_task(tmp_path, "no-tests")
    (hidden,) = (folder / "tests").iterdir()
    hidden.write_text("import unittest\n")  # a test module without a single test
    (problem,) = check_one(folder, sandbox).problems
    assert problem.startswith("the test command cannot run on the untouched workspace (exit code")


def test_hidden_tests_that_hang_on_the_untouched_workspace_are_flagged(tmp_path, sandbox):
    folder = write_task(
        tmp_path, "hangs", body="time.sleep(60 if add(2, 3) != 5 else 0)", prelude="import time"
    )
    result = check_one(folder, sandbox, time_limit_s=1)
    assert "hidden tests did not finish within 1 s on the untouched workspace" in result.problems


def test_task_toml_broken_after_loading_is_a_load_problem(tmp_path, sandbox):
    folder = write_task(tmp_path, "edited")
    task = load_task_dir(folder)
    (folder / "task.toml").write_text('id = "edited"\ninstructions = "x"\n')
    result = check_task(task, sandbox)
    assert result.problems == (f"{folder / 'task.toml'}: field 'test_command' is missing",)


def test_sandbox_failure_is_reported_as_such(tmp_path):
    class BrokenSandbox:
        name, isolated = "broken", True

        def run(self, spec: RunSpec, out_dir: Path) -> RunResult:
            return RunResult(None, False, "", "", False, False, 0.0, {}, error="engine gone")

        def close(self) -> None:
            pass

    result = check_one(write_task(tmp_path, "any"), BrokenSandbox())
    assert result.problems == ("the sandbox failed on the untouched workspace: engine gone",)


def test_fewer_than_two_runs_cannot_check_determinism(tmp_path, sandbox):
    write_task(tmp_path, "sound")
    with pytest.raises(ValueError, match="repeats"):
        check_benchmark(get_benchmark(f"dir:{tmp_path}"), sandbox, repeats=1)


# --- whole benchmarks ---------------------------------------------------------------------


def test_problems_in_a_dir_benchmark_name_their_tasks(tmp_path):
    write_task(tmp_path, "sound")
    write_task(tmp_path, "too-easy", stub="a + b")
    write_task(tmp_path, "wrong-fix", solution="a * b")
    write_flaky_task(tmp_path)
    report = check_benchmark(get_benchmark(f"dir:{tmp_path}"), get_sandbox("local?bwrap=0"))
    out = report.to_json()
    assert (out["tasks"], out["ok"]) == (4, 1)
    flagged = {p["task"]: p["problem"] for p in out["problems"]}
    assert set(flagged) == {"too-easy", "wrong-fix", "flaky"}
    assert flagged["too-easy"] == "hidden tests pass on the untouched workspace"
    assert flagged["wrong-fix"].startswith("hidden tests fail with the reference solution")
    assert flagged["flaky"].startswith("test command is not deterministic")


def test_builtin_subset_checks_ok_through_the_local_sandbox(sandbox):
    ids = ",".join(BUILTIN_IDS[:3])
    report = check_benchmark(get_benchmark(f"builtin?ids={ids}"), sandbox)
    assert report.to_json() == {"tasks": 3, "ok": 3, "problems": []}


def test_report_follows_benchmark_order_and_carries_tiers(sandbox):
    ids = [BUILTIN_IDS[5], BUILTIN_IDS[1]]
    report = check_spec(f"builtin?ids={','.join(ids)}", sandbox)
    assert [r.task for r in report.results] == ids
    tiers = {info.task.id: info.tier for info in get_benchmark("builtin").task_infos()}
    assert [r.tier for r in report.results] == [tiers[i] for i in ids]


def test_progress_hears_of_every_task_once(tmp_path, sandbox):
    for name in ("one", "two", "three"):
        write_task(tmp_path, name)
    heard: list[str] = []
    check_benchmark(
        get_benchmark(f"dir:{tmp_path}"), sandbox, progress=lambda r: heard.append(r.task)
    )
    assert sorted(heard) == ["one", "three", "two"]


def test_report_json_has_exactly_the_documented_shape(tmp_path, sandbox):
    write_task(tmp_path, "too-easy", stub="a + b")
    out = json.loads(json.dumps(check_spec(f"dir:{tmp_path}", sandbox).to_json()))
    assert out == {
        "tasks": 1,
        "ok": 0,
        "problems": [
            {"task": "too-easy", "problem": "hidden tests pass on the untouched workspace"}
        ],
    }


def test_benchmark_that_does_not_load_is_one_problem_under_its_spec(tmp_path, sandbox):
    report = check_spec(f"dir:{tmp_path / 'missing'}", sandbox)
    assert report == CheckReport(
        f"dir:{tmp_path / 'missing'}", (), load_error=f"{tmp_path / 'missing'}: not a folder"
    )
    assert report.to_json() == {
        "tasks": 0,
        "ok": 0,
        "problems": [
            {
                "task": f"dir:{tmp_path / 'missing'}",
                "problem": f"{tmp_path / 'missing'}: not a folder",
            }
        ],
    }


# --- listing ------------------------------------------------------------------------------


def test_list_benchmarks_describes_every_scheme():
    entries = {e["name"]: e for e in list_benchmarks()}
    assert {"builtin", "dir", "polyglot"} <= set(entries)
    assert entries["dir"]["spec"] == "dir:PATH"
    assert entries["polyglot"]["spec"].startswith("polyglot:PATH")
    assert {"languages", "subset", "ids", "sample", "seed"} <= set(entries["polyglot"]["params"])
    assert "python" in entries["polyglot"]["languages"]
    assert all(e["description"] for e in entries.values())
    json.dumps(list(entries.values()))  # plain data, printable as JSON


def test_list_benchmarks_gives_builtin_tasks_with_their_tiers():
    (builtin,) = [e for e in list_benchmarks() if e["name"] == "builtin"]
    assert [t["id"] for t in builtin["tasks"]] == BUILTIN_IDS
    assert all(t["tier"] and t["language"] == "python" for t in builtin["tasks"])
