"""The swebench adapter on a tiny instance built here: a git repository with a bug, a gold
patch, a test patch and the tests it must turn from failing to passing, saved as a local
dataset. Loading, the agent's run and the scoring go through the same code as SWE-bench Lite.

The instance's tests are unittest test cases (the sandbox has no pytest), so it names
swebench's ``parse_log_django`` parser, which reads unittest's verbose output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("swebench", reason="needs the swebench package: pip install 'hgm[swebench]'")

from swebench_calc import NEW_TESTS, OPS, TESTS  # noqa: E402

import hgm  # noqa: E402
from hgm.bench import BenchmarkError, apply_solution, copy_workspace, get_benchmark  # noqa: E402
from hgm.bench._swebench_runner import GRADE_MARKER  # noqa: E402
from hgm.bench.check import check_benchmark  # noqa: E402
from hgm.bench.subsets import subset_ids  # noqa: E402
from hgm.bench.swebench import (  # noqa: E402
    Instance,
    SwebenchBenchmark,
    default_log_parser,
    grade_log,
    instance_test_script,
    workspace_patch,
)
from hgm.gateway import Gateway, Scope  # noqa: E402
from hgm.jobs.evaluation import AgentLimits, evaluate, run_hidden_tests  # noqa: E402
from hgm.sandbox import get_sandbox  # noqa: E402
from hgm.sandbox._spec import SANDBOX_PATH  # noqa: E402
from hgm.testing import DemoModel  # noqa: E402
from hgm.types import Outcome, Task  # noqa: E402

SEED = Path(hgm.__file__).parent / "seed_agent"
IID = "demo__calc-1"


def sandbox_python_names_methods() -> bool:
    """Whether the sandbox's python3 (3.11+) puts the method name in unittest's test ids."""
    python = shutil.which("python3", path=SANDBOX_PATH)
    if python is None:
        pytest.skip(f"the local sandbox needs python3 on {SANDBOX_PATH}")
    version = subprocess.run(
        [python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True
    ).stdout.split()
    if tuple(map(int, version)) < (3, 10):
        pytest.skip("swebench's grading code needs python3 >= 3.10 in the sandbox")
    return tuple(map(int, version)) >= (3, 11)


def unittest_id(method: str, cls: str, with_method: bool) -> str:
    return (
        f"{method} (tests.test_ops.{cls}.{method})"
        if with_method
        else f"{method} (tests.test_ops.{cls})"
    )


# -- the instance -----------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "PATH": "/usr/bin:/bin",
        "HOME": str(repo),
    }
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def diff_of(repo: Path, edit) -> str:
    """The patch that ``edit(repo)`` makes to the checked-out tree (the tree is left as it was)."""
    edit(repo)
    git(repo, "add", "--all")
    patch = git(repo, "diff", "--cached")
    git(repo, "reset", "--quiet", "--hard")
    return patch


def make_repo(path: Path) -> str:
    """A small package with a bug in mean(); returns the base commit."""
    (path / "calc").mkdir(parents=True)
    (path / "tests").mkdir()
    (path / "calc" / "__init__.py").write_text("")
    (path / "calc" / "ops.py").write_text(OPS)
    (path / "tests" / "__init__.py").write_text("")
    (path / "tests" / "test_ops.py").write_text(TESTS)
    (path / "README.md").write_text("calc\n")
    git(path, "init", "--quiet")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "base")
    return git(path, "rev-parse", "HEAD").strip()


def make_instance(repo: Path, base: str, with_method: bool) -> dict:
    ops, tests = repo / "calc" / "ops.py", repo / "tests" / "test_ops.py"
    gold = diff_of(repo, lambda _: ops.write_text(OPS.replace("//", "/")))
    test_patch = diff_of(repo, lambda _: tests.write_text(TESTS + NEW_TESTS))
    return {
        "instance_id": IID,
        "repo": "demo/calc",
        "base_commit": base,
        "patch": gold,
        "test_patch": test_patch,
        "problem_statement": "mean([1, 2]) returns 1 instead of 1.5: it truncates.",
        "hints_text": "",
        "created_at": "2025-01-01T00:00:00Z",
        "version": "1.0",
        "environment_setup_commit": base,
        # JSON-encoded, as in the SWE-bench datasets
        "FAIL_TO_PASS": json.dumps(
            [unittest_id("test_mean_of_odd_total", "MeanTest", with_method)]
        ),
        "PASS_TO_PASS": json.dumps([unittest_id("test_add", "AddTest", with_method)]),
        "log_parser": "parse_log_django",
        "eval_type": "pass_and_fail",
        "test_cmd": "python3 -m unittest -v tests.test_ops",
    }


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The repository (in repos/demo__calc), the instance, a JSONL dataset and a cache."""
    root = tmp_path_factory.mktemp("swebench")
    base = make_repo(root / "repos" / "demo__calc")
    instance = make_instance(root / "repos" / "demo__calc", base, sandbox_python_names_methods())
    dataset = write_jsonl(root / "lite.jsonl", [instance])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HGM_CACHE_DIR", str(root / "cache"))  # the specs below lay tasks out here
        yield {
            "root": root,
            "instance": instance,
            "spec": f"swebench:lite?dataset={dataset}&repos={root / 'repos'}",
            "base": base,
        }


@pytest.fixture(scope="module")
def task(world) -> Task:
    (task,) = get_benchmark(world["spec"]).tasks()
    return task


def files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def load_error(tmp_path: Path, rows: list[dict], **params: str) -> str:
    dataset = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(BenchmarkError) as info:
        SwebenchBenchmark("lite", dataset=str(dataset), cache_dir=tmp_path / "cache", **params)
    return str(info.value)


# -- loading -----------------------------------------------------------------------------------
def test_instance_becomes_a_task_named_by_its_instance_id(task, world):
    assert task.id == IID
    assert task.test_command == "python3 tests_hidden/run.py"
    assert "mean([1, 2]) returns 1 instead of 1.5" in task.instructions
    assert "demo/calc" in task.instructions and world["base"] in task.instructions


def test_workspace_is_the_repository_at_base_commit_without_git(task):
    assert files(task.workspace) == {
        "README.md",
        "calc/__init__.py",
        "calc/ops.py",
        "tests/__init__.py",
        "tests/test_ops.py",
    }
    assert (task.workspace / "calc" / "ops.py").read_text() == OPS
    assert "MeanTest" not in (task.workspace / "tests" / "test_ops.py").read_text()


def test_hidden_tests_hold_the_test_patch_runner_and_swebench_grading(task, world):
    held = files(task.tests)
    assert {"test.patch", "instance.json", "run.py", "originals/tests/test_ops.py"} <= held
    assert "swebench/harness/grading.py" in held
    assert (task.tests / "test.patch").read_text() == world["instance"]["test_patch"]
    spec = json.loads((task.tests / "instance.json").read_text())
    assert spec["log_parser"] == "parse_log_django"
    assert spec["FAIL_TO_PASS"] == json.loads(world["instance"]["FAIL_TO_PASS"])


def test_reference_solution_is_the_files_the_gold_patch_changes(task):
    assert files(task.solution) == {"calc/ops.py"}
    assert (task.solution / "calc" / "ops.py").read_text() == OPS.replace("//", "/")


def test_a_dataset_saved_with_save_to_disk_loads_like_the_jsonl(world, tmp_path):
    datasets = pytest.importorskip("datasets", reason="pip install 'hgm[swebench]'")
    datasets.Dataset.from_list([world["instance"]]).save_to_disk(str(tmp_path / "lite"))
    bench = get_benchmark(
        f"swebench:verified?dataset={tmp_path / 'lite'}&repos={world['root'] / 'repos'}"
    )
    assert [t.id for t in bench.tasks()] == [IID]
    assert bench.name.startswith("swebench:verified?dataset=")


def test_repo_path_field_names_the_repository_relative_to_the_dataset(world, tmp_path):
    repo = os.path.relpath(world["root"] / "repos" / "demo__calc", tmp_path / "data")
    instance = {**world["instance"], "repo_path": repo}
    (tmp_path / "data").mkdir()
    dataset = write_jsonl(tmp_path / "data" / "own.jsonl", [instance])
    (task,) = SwebenchBenchmark("lite", dataset=str(dataset), cache_dir=tmp_path / "c").tasks()
    assert (task.workspace / "calc" / "ops.py").read_text() == OPS


def test_ids_select_instances_before_any_repository_is_read(world, tmp_path):
    broken = {**world["instance"], "instance_id": "demo__gone-2", "repo": "demo/gone"}
    dataset = write_jsonl(tmp_path / "two.jsonl", [world["instance"], broken])
    repos = world["root"] / "repos"
    bench = get_benchmark(f"swebench:lite?dataset={dataset}&repos={repos}&ids={IID}")
    assert [t.id for t in bench.tasks()] == [IID]
    with pytest.raises(BenchmarkError, match="demo__gone-2.*not a git repository"):
        get_benchmark(f"swebench:lite?dataset={dataset}&repos={repos}")


# -- scoring -----------------------------------------------------------------------------------
def test_seed_agent_with_a_scripted_model_resolves_the_instance(world, task, tmp_path):
    """The whole evaluation path: the seed agent in the local sandbox, driven through the
    gateway by the demo model (which writes the reference solution's files), then the hidden
    tests in a fresh sandbox; swebench's grading says resolved, inside and outside it."""
    sockdir = Path(tempfile.mkdtemp(prefix="hgm-gw-"))
    backend = DemoModel(benchmark=world["spec"])
    gateway = Gateway(backend, socket_path=sockdir / "gw.sock", recorder=lambda c: None)
    try:
        with gateway:
            token = gateway.issue_token(Scope(kind="evaluation", node=0, task=IID))
            result = evaluate(
                get_sandbox("local"),
                SEED,
                task,
                token=token,
                model="scripted:demo",
                gateway_socket=gateway.socket_path,
                limits=AgentLimits(max_steps=12, time_limit_s=120),
                test_time_limit_s=120,
            )
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)
    assert result.outcome == Outcome.PASS, result.test_log
    calls = json.loads(result.trajectory)["tool_calls"]
    assert ("create_file", "calc/ops.py") in [
        (c["name"], json.loads(c["arguments"]).get("path")) for c in calls
    ]
    grade = grade_log(task, result.test_log)
    assert (grade.status, grade.resolved, grade.patch_applied) == ("RESOLVED_FULL", True, True)


def test_untouched_workspace_is_not_resolved(task, tmp_path):
    workspace = copy_workspace(task, tmp_path / "ws")
    tests = run_hidden_tests(get_sandbox("local"), task, workspace, tmp_path, 60)
    assert tests.exit_code == 1, tests.stdout + tests.stderr
    grade = grade_log(task, tests.stdout)
    assert (grade.status, grade.resolved, grade.patch_applied) == ("RESOLVED_NO", False, True)
    spec = json.loads((task.tests / "instance.json").read_text())
    assert grade.tests["FAIL_TO_PASS"]["failure"] == spec["FAIL_TO_PASS"]
    assert grade.tests["PASS_TO_PASS"]["success"] == spec["PASS_TO_PASS"]


def test_gold_solution_is_resolved_by_the_test_command_and_by_grade_log(task, tmp_path):
    workspace = copy_workspace(task, tmp_path / "ws")
    apply_solution(task, workspace)
    tests = run_hidden_tests(get_sandbox("local"), task, workspace, tmp_path, 60)
    assert tests.exit_code == 0, tests.stdout + tests.stderr
    assert grade_log(task, tests.stdout).status == "RESOLVED_FULL"


def test_a_run_whose_tests_crash_still_says_the_test_patch_applied(task, tmp_path):
    workspace = copy_workspace(task, tmp_path / "ws")
    # the test process dies on import, before it reports a single test
    (workspace / "calc" / "ops.py").write_text("import os\n\nos._exit(3)\n")
    tests = run_hidden_tests(get_sandbox("local"), task, workspace, tmp_path, 60)
    assert tests.exit_code == 1, tests.stdout + tests.stderr
    verdict = json.loads(tests.stdout.rsplit(GRADE_MARKER, 1)[1])
    grade = grade_log(task, tests.stdout)
    assert (grade.resolved, grade.patch_applied) == (False, True)
    assert (verdict["resolved"], verdict["patch_applied"]) == (False, True)
    assert verdict["log_graded"] is grade.log_graded is False  # swebench read no results


def test_changes_the_agent_makes_to_test_files_are_discarded(task, tmp_path):
    workspace = copy_workspace(task, tmp_path / "ws")
    # an agent that "fixes" the issue by writing the expected tests so that they pass
    (workspace / "tests" / "test_ops.py").write_text(
        "import unittest\n\nclass MeanTest(unittest.TestCase):\n"
        "    def test_mean_of_odd_total(self):\n        pass\n"
    )
    tests = run_hidden_tests(get_sandbox("local"), task, workspace, tmp_path, 60)
    assert tests.exit_code == 1, tests.stdout + tests.stderr
    assert grade_log(task, tests.stdout).status == "RESOLVED_NO"


def test_workspace_patch_is_a_prediction_that_applies_at_base_commit(world, task, tmp_path):
    workspace = copy_workspace(task, tmp_path / "ws")
    apply_solution(task, workspace)
    patch = workspace_patch(task, workspace)
    assert "calc/ops.py" in patch and "tests_hidden" not in patch
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "--quiet", str(world["root"] / "repos" / "demo__calc"), str(clone)],
        check=True,
    )
    subprocess.run(["git", "apply", "-"], cwd=clone, input=patch.encode(), check=True)
    assert (clone / "calc" / "ops.py").read_text() == OPS.replace("//", "/")


def test_fixture_instance_passes_the_oracle_check(world):
    report = check_benchmark(get_benchmark(world["spec"]), get_sandbox("local"))
    assert report.to_json() == {"tasks": 1, "ok": 1, "problems": []}


# -- errors -------------------------------------------------------------------------------------
def test_missing_dataset_path_is_an_error_naming_it(tmp_path):
    with pytest.raises(BenchmarkError, match="nowhere.jsonl: no such dataset file"):
        get_benchmark(f"swebench:lite?dataset={tmp_path / 'nowhere.jsonl'}")


def test_missing_field_is_an_error_naming_the_instance_and_the_field(world, tmp_path):
    row = {k: v for k, v in world["instance"].items() if k != "test_patch"}
    assert f"instance '{IID}': field 'test_patch' is missing" in load_error(tmp_path, [row])


def test_every_bad_instance_is_reported_at_once(world, tmp_path):
    rows = [
        {**world["instance"], "FAIL_TO_PASS": "not json"},
        {k: v for k, v in world["instance"].items() if k != "instance_id"},
    ]
    message = load_error(tmp_path, rows)
    assert f"instance '{IID}': field 'FAIL_TO_PASS'" in message
    assert "instance #2: field 'instance_id' is missing" in message


def test_instance_without_a_test_command_is_an_error(world, tmp_path):
    row = {k: v for k, v in world["instance"].items() if k != "test_cmd"}
    message = load_error(tmp_path, [row], repos=str(world["root"] / "repos"))
    assert f"instance '{IID}': no test command" in message and "'test_cmd'" in message


def test_test_patch_that_does_not_apply_is_an_error_naming_the_field(world, tmp_path):
    row = {
        **world["instance"],
        "test_patch": world["instance"]["test_patch"].replace("AddTest", "Nope"),
    }
    message = load_error(tmp_path, [row], repos=str(world["root"] / "repos"))
    assert f"instance '{IID}': field 'test_patch' does not apply" in message


def test_unknown_base_commit_is_an_error_naming_the_field(world, tmp_path):
    row = {**world["instance"], "base_commit": "0" * 40}
    message = load_error(tmp_path, [row], repos=str(world["root"] / "repos"))
    assert f"instance '{IID}': field 'base_commit'" in message


def test_unknown_variant_lists_lite_and_verified():
    with pytest.raises(BenchmarkError, match="lite, verified"):
        get_benchmark("swebench:full")


# -- reading the harness's fields ---------------------------------------------------------------
def test_test_command_is_read_from_eval_script_between_the_markers():
    script = textwrap.dedent("""\
        #!/bin/bash
        set -uxo pipefail
        source /opt/miniconda3/bin/activate
        conda activate testbed
        cd /testbed
        git checkout abc tests/test_x.py
        : '>>>>> Start Test Output'
        pytest -rA tests/test_x.py
        : '>>>>> End Test Output'
        git checkout abc tests/test_x.py
        """)
    fields = {
        "instance_id": "a__b-1",
        "repo": "a/b",
        "base_commit": "abcdef1",
        "patch": "",
        "test_patch": "x",
        "problem_statement": "p",
        "FAIL_TO_PASS": ["t"],
        "PASS_TO_PASS": [],
    }
    instance = Instance.model_validate({**fields, "eval_script": script})
    assert instance_test_script(instance) == (
        "source /opt/miniconda3/bin/activate\nconda activate testbed\npytest -rA tests/test_x.py"
    )


def test_known_repositories_get_swebench_s_log_parser():
    assert default_log_parser("django/django") == "parse_log_django"
    assert default_log_parser("sympy/sympy") == "parse_log_sympy"
    assert default_log_parser("demo/calc") is None


# -- named subsets ------------------------------------------------------------------------------
def subset_dataset(world, tmp_path: Path, ids: list[str]) -> Path:
    """The fixture instance under each of ``ids``, plus the fixture itself (in no subset)."""
    rows = [{**world["instance"], "instance_id": iid} for iid in ids] + [world["instance"]]
    return write_jsonl(tmp_path / "verified.jsonl", rows)


def test_subset_takes_the_named_verified_subset_in_dataset_order(world, tmp_path):
    wanted = subset_ids("swebench", "small")
    dataset = subset_dataset(world, tmp_path, list(reversed(wanted)))
    repos = world["root"] / "repos"
    bench = get_benchmark(f"swebench:verified?dataset={dataset}&repos={repos}&subset=small")
    assert [t.id for t in bench.tasks()] == list(reversed(wanted))
    narrowed = get_benchmark(
        f"swebench:verified?dataset={dataset}&repos={repos}&subset=small&ids={wanted[1]}"
    )
    assert [t.id for t in narrowed.tasks()] == [wanted[1]]


def test_a_subset_the_dataset_only_partly_holds_is_an_error_naming_what_is_missing(world, tmp_path):
    wanted = subset_ids("swebench", "small")
    dataset = subset_dataset(world, tmp_path, wanted[1:])
    with pytest.raises(BenchmarkError, match=f"subset 'small' names 1 instances that .* lacks: {wanted[0]}"):
        get_benchmark(f"swebench:verified?dataset={dataset}&subset=small")


def test_an_unknown_subset_lists_the_known_ones(world, tmp_path):
    dataset = subset_dataset(world, tmp_path, [])
    with pytest.raises(BenchmarkError, match="unknown swebench subset 'tiny'; known: big, medium, small"):
        get_benchmark(f"swebench:verified?dataset={dataset}&subset=tiny")
