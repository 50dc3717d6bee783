"""The scripted demo model driving the real seed agent over real HTTP, in all three roles."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

import hgm
from hgm.bench import copy_workspace, get_benchmark, inject_hidden_tests
from hgm.gateway import ChatRequest, Gateway, Scope, get_backend
from hgm.testing import DEMO_VIEW_LIMIT, VIEW_PROBLEM, DemoModel, build_stats
from hgm.types import Task

SEED = Path(hgm.__file__).parent / "seed_agent"
SEED_VIEW_LIMIT = int(
    re.search(r"^VIEW_MAX_LINES = (\d+)", (SEED / "agent/tools.py").read_text(), re.M).group(1)
)
SELF_CHECK = [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."]


# -- a two-task benchmark: one fix in a short file, one at the end of a long file ------------
def write_task(root: Path, task_id: str, module: str, filler: int) -> None:
    padding = "".join(f"CONSTANT_{i} = {i}\n" for i in range(filler))
    buggy = f'"""A module."""\n\n{padding}\n\ndef double(x):\n    return x + 2\n'
    (root / task_id / "workspace").mkdir(parents=True)
    (root / task_id / "solution").mkdir()
    (root / task_id / "tests").mkdir()
    (root / task_id / "workspace" / module).write_text(buggy)
    (root / task_id / "solution" / module).write_text(buggy.replace("x + 2", "x * 2"))
    name = module.removesuffix(".py")
    (root / task_id / "tests" / "test_hidden.py").write_text(
        textwrap.dedent(f"""\
            import unittest
            from {name} import double

            class T(unittest.TestCase):
                def test_double(self):
                    self.assertEqual(double(5), 10)
            """)
    )
    (root / task_id / "task.toml").write_text(
        f'id = "{task_id}"\n'
        'test_command = "python3 -m unittest discover -s tests_hidden -q"\n'
        f'instructions = "double() in {module} adds 2 instead of doubling; fix it."\n'
    )


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bench")
    write_task(root, "short-fix", "short.py", filler=5)
    write_task(root, "long-fix", "long.py", filler=SEED_VIEW_LIMIT + 30)
    return root


@pytest.fixture(scope="module")
def gateway(bench_dir):
    sockdir = Path(tempfile.mkdtemp(prefix="hgm-gw-"))
    backend = get_backend(f"scripted:hgm.testing:DemoModel?benchmark=dir:{bench_dir}")
    gw = Gateway(backend, socket_path=sockdir / "gw.sock", recorder=lambda call: None, tcp_port=0)
    with gw:
        yield gw
    shutil.rmtree(sockdir, ignore_errors=True)


def task_of(bench: str, task_id: str) -> Task:
    return next(t for t in get_benchmark(bench).tasks() if t.id == task_id)


def run_agent(gw: Gateway, agent: Path, workspace: Path, task_text: str, scope: Scope, tmp: Path):
    """Run ``agent`` as a subprocess on ``workspace``; return its trajectory."""
    (tmp / "task.md").write_text(task_text)
    env = {**os.environ, "HGM_GATEWAY_URL": gw.base_url, "HGM_TOKEN": gw.issue_token(scope)}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    args = ["--workspace", workspace, "--task-file", tmp / "task.md"]
    args += ["--trajectory", tmp / "trajectory.json", "--model", "scripted:demo"]
    proc = subprocess.run(
        [sys.executable, agent / "run_agent.py", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads((tmp / "trajectory.json").read_text())


def evaluate(gw: Gateway, agent: Path, task: Task, tmp: Path) -> tuple[bool, dict]:
    """The agent works on a copy of the task's workspace; then the hidden tests judge it."""
    tmp.mkdir(parents=True, exist_ok=True)
    workspace = copy_workspace(task, tmp / "workspace")
    scope = Scope(kind="evaluation", node=0, task=task.id)
    trajectory = run_agent(gw, agent, workspace, task.instructions, scope, tmp)
    inject_hidden_tests(task, workspace)
    # `python` in a task's test command means the interpreter running these tests
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    tests = subprocess.run(
        task.test_command, shell=True, cwd=workspace, env=env, capture_output=True, timeout=300
    )
    return tests.returncode == 0, trajectory


def self_modify(gw: Gateway, tmp: Path, statement: str) -> Path:
    """The seed agent works on a copy of its own source with ``statement`` as its task."""
    child = tmp / "child"
    shutil.copytree(SEED, child, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    scope = Scope(kind="expansion", node=0, ref="expansion-1")
    run_agent(
        gw, SEED, child, f"Improve this agent.\n\n## Problem statement\n{statement}", scope, tmp
    )
    return child


def diagnose(gw: Gateway, trajectory: dict) -> str:
    prompt = "## The agent's trajectory\n" + json.dumps(trajectory, indent=1)
    request = ChatRequest(model="demo", messages=[{"role": "user", "content": prompt}])
    result = gw.complete(request, Scope(kind="diagnosis", node=0))
    return result.message["content"]


@pytest.fixture(scope="module")
def improved_agent(gateway, tmp_path_factory) -> Path:
    return self_modify(gateway, tmp_path_factory.mktemp("expansion"), VIEW_PROBLEM)


# -- evaluation ------------------------------------------------------------------------------
def test_seed_agent_with_demo_passes_a_task_whose_file_fits_in_view(gateway, bench_dir, tmp_path):
    passed, trajectory = evaluate(gateway, SEED, task_of(f"dir:{bench_dir}", "short-fix"), tmp_path)
    assert passed
    assert trajectory["finish_reason"] == "finished"
    assert [c["name"] for c in trajectory["tool_calls"]][-2:] == ["create_file", "finish"]


def test_seed_agent_with_demo_fails_a_task_whose_file_is_longer_than_the_view_limit(
    gateway, bench_dir, tmp_path
):
    task = task_of(f"dir:{bench_dir}", "long-fix")
    passed, trajectory = evaluate(gateway, SEED, task, tmp_path)
    assert not passed
    assert "could not see the whole file long.py" in trajectory["summary"]
    assert (tmp_path / "workspace" / "long.py").read_text() == (
        task.workspace / "long.py"
    ).read_text()


# -- diagnosis -------------------------------------------------------------------------------
def test_demo_diagnosis_of_a_truncated_view_asks_for_whole_files(gateway, bench_dir, tmp_path):
    _, trajectory = evaluate(gateway, SEED, task_of(f"dir:{bench_dir}", "long-fix"), tmp_path)
    statement = diagnose(gateway, trajectory)
    assert statement == VIEW_PROBLEM


def test_demo_diagnosis_without_truncation_is_generic(gateway):
    statement = diagnose(gateway, {"messages": [{"role": "tool", "content": "FAILED (errors=1)"}]})
    assert statement != VIEW_PROBLEM
    assert "truncat" not in statement


# -- expansion -------------------------------------------------------------------------------
def test_demo_self_modification_changes_only_the_view_limit(improved_agent):
    before = (SEED / "agent/tools.py").read_text().splitlines()
    after = (improved_agent / "agent/tools.py").read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [
        (
            f"VIEW_MAX_LINES = {SEED_VIEW_LIMIT}",
            f"VIEW_MAX_LINES = {DEMO_VIEW_LIMIT}  # was {SEED_VIEW_LIMIT}: whole source files must fit",
        )
    ]


def test_self_modified_agent_passes_its_self_check(improved_agent):
    proc = subprocess.run(
        SELF_CHECK, cwd=improved_agent, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr


def test_self_modified_agent_passes_the_long_task(gateway, bench_dir, improved_agent, tmp_path):
    passed, trajectory = evaluate(
        gateway, improved_agent, task_of(f"dir:{bench_dir}", "long-fix"), tmp_path
    )
    assert passed, trajectory["summary"]


def test_demo_makes_no_change_for_a_statement_it_cannot_act_on(gateway, tmp_path):
    child = self_modify(gateway, tmp_path, "Make the agent more careful.")
    assert (child / "agent/tools.py").read_text() == (SEED / "agent/tools.py").read_text()


# -- the built-in benchmark and the registry ------------------------------------------------
@pytest.mark.slow
def test_seed_agent_with_demo_passes_exactly_the_builtin_tasks_whose_files_fit(tmp_path):
    sockdir = Path(tempfile.mkdtemp(prefix="hgm-gw-"))
    gw = Gateway(DemoModel(), socket_path=sockdir / "gw.sock", recorder=lambda c: None, tcp_port=0)
    with gw:
        for task in get_benchmark("builtin").tasks():
            passed, _ = evaluate(gw, SEED, task, tmp_path / task.id)
            assert passed == _fits_in_view(task, SEED_VIEW_LIMIT), task.id
    shutil.rmtree(sockdir, ignore_errors=True)


def _fits_in_view(task: Task, limit: int) -> bool:
    files = [p.relative_to(task.solution) for p in Path(task.solution).rglob("*") if p.is_file()]
    workspace_files = [task.workspace / rel for rel in files if (task.workspace / rel).is_file()]
    return all(len(p.read_text().splitlines()) <= limit for p in workspace_files)


def test_demo_is_registered_as_scripted_demo():
    from hgm.gateway.scripted import SCRIPTED_MODELS

    if "demo" not in SCRIPTED_MODELS:
        pytest.skip(
            'add "demo": "hgm.testing:DemoModel" to SCRIPTED_MODELS in hgm/gateway/scripted.py'
        )
    assert isinstance(get_backend("scripted:demo"), DemoModel)


# -- tree builders ---------------------------------------------------------------------------
def test_build_stats_builds_the_tree_and_its_clade_counts():
    stats = build_stats("0>1>2, 0>3", evals={0: "f", 2: "pp", 3: (0, 1)})
    snap = stats.snapshot()
    assert snap.parent.tolist() == [-1, 0, 1, 0]
    assert snap.clade_pass.tolist() == [2, 2, 2, 0]
    assert snap.clade_fail.tolist() == [2, 0, 0, 1]


def test_build_stats_rejects_gaps_in_node_ids():
    with pytest.raises(ValueError, match="without gaps"):
        build_stats("0>2")


# -- skills ------------------------------------------------------------------------------------
RUN_TESTS_SKILL = '''\
"""Run a folder's unit tests."""

import subprocess
import sys

__all__ = ["find_tests", "run_tests"]


def find_tests(pattern: str) -> list[str]:
    """Not callable by the demo: it cannot fill ``pattern``."""
    return []


def run_tests(path: str, timeout_s: float = 60.0) -> dict[str, object]:
    """Run the unit tests under path/tests and return the exit code and the last line."""
    proc = subprocess.run([sys.executable, "-m", "unittest", "discover", "-s", "tests"],
                          cwd=path, capture_output=True, text=True, timeout=timeout_s)
    return {"exit_code": proc.returncode, "last_line": proc.stderr.strip().splitlines()[-1]}
'''


def agent_with_run_tests_skill(root: Path) -> Path:
    agent = root / "agent"
    shutil.copytree(SEED, agent, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    folder = agent / "skills" / "run-tests"
    folder.mkdir()
    (folder / "SKILL.md").write_text(
        "---\nname: run-tests\ndescription: Run the unit tests of a folder and summarise the "
        "failures.\n---\n\nCall run_tests(path).\n"
    )
    (folder / "run_tests.py").write_text(RUN_TESTS_SKILL)
    return agent


@pytest.fixture(scope="module")
def builtin_gateway():
    sockdir = Path(tempfile.mkdtemp(prefix="hgm-gw-"))
    gw = Gateway(DemoModel(), socket_path=sockdir / "gw.sock", recorder=lambda c: None, tcp_port=0)
    with gw:
        yield gw
    shutil.rmtree(sockdir, ignore_errors=True)


def _short_builtin_task(uses_skills: bool = True) -> Task:
    from hgm.testing import demo_uses_skills

    tasks = sorted(get_benchmark("builtin").tasks(), key=lambda t: t.id)
    return next(
        t for t in tasks
        if _fits_in_view(t, SEED_VIEW_LIMIT) and demo_uses_skills(t.id) == uses_skills
    )  # fmt: skip


def test_demo_searches_reads_and_runs_a_skill_on_a_task_with_tests(builtin_gateway, tmp_path):
    from hgm.skills.usage import SkillUsage, skill_usage
    from hgm.testing import SKILL_QUERY

    agent = agent_with_run_tests_skill(tmp_path)
    passed, trajectory = evaluate(builtin_gateway, agent, _short_builtin_task(), tmp_path / "eval")
    assert passed, trajectory["summary"]
    calls = trajectory["tool_calls"]
    assert [c["name"] for c in calls][:4] == ["view", "search_skills", "read_skill", "run_skill"]
    assert "1. run-tests (score" in calls[1]["output"]
    assert json.loads(calls[3]["arguments"]) == {
        "name": "run-tests", "function": "run_tests", "arguments": {"path": "."}
    }
    result = json.loads(calls[3]["output"].split("\n[printed by the skill]")[0])["result"]
    assert result["exit_code"] in (0, 1) and result["last_line"].startswith(("OK", "FAILED"))
    assert skill_usage(json.dumps(trajectory).encode()) == SkillUsage(
        searched=(SKILL_QUERY,), read=("run-tests",), ran=("run-tests",)
    )


def test_demo_goes_on_with_the_task_when_the_agent_has_no_skills(builtin_gateway, tmp_path):
    passed, trajectory = evaluate(builtin_gateway, SEED, _short_builtin_task(), tmp_path)
    assert passed, trajectory["summary"]
    names = [c["name"] for c in trajectory["tool_calls"]]
    assert names[:2] == ["view", "search_skills"] and "No skills" in trajectory["tool_calls"][1]["output"]
    assert "read_skill" not in names and "run_skill" not in names


def test_demo_leaves_skills_alone_on_the_other_tasks(builtin_gateway, tmp_path):
    agent = agent_with_run_tests_skill(tmp_path)
    task = _short_builtin_task(uses_skills=False)
    passed, trajectory = evaluate(builtin_gateway, agent, task, tmp_path / "eval")
    assert passed, trajectory["summary"]
    names = {c["name"] for c in trajectory["tool_calls"]}
    assert names.isdisjoint({"search_skills", "read_skill", "run_skill"})
