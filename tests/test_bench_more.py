"""Built-in tasks: the properties tests/test_bench.py does not check.

- Tasks tagged ``long-file`` measure whether an agent reads whole files: every file their
  reference solution replaces is longer than 100 lines and is identical to the workspace's
  version for its first 100 lines, so the change lies beyond what a first page shows.
- The set is balanced: every tier has at least five tasks.
- The tests shipped in a task's ``workspace/tests/`` pass both before and after the
  reference solution, so they never mislead an agent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from hgm.bench import apply_solution, copy_workspace
from hgm.bench.builtin import BUILTIN_TASKS_DIR, BuiltinBenchmark

INFOS = {info.task.id: info for info in BuiltinBenchmark().task_infos()}
LONG_FILE_IDS = sorted(i for i, info in INFOS.items() if "long-file" in info.tags)
WITH_VISIBLE_TESTS = sorted(
    i for i in INFOS if (BUILTIN_TASKS_DIR / i / "workspace" / "tests").is_dir()
)
FIRST_PAGE = 100  # lines a file viewer shows before the agent has to ask for more
RUN_ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    "PYTHONDONTWRITEBYTECODE": "1",
}
RUN_ENV.pop("PYTHONPATH", None)


def solution_files(task_id: str) -> list[Path]:
    solution = BUILTIN_TASKS_DIR / task_id / "solution"
    return sorted(p for p in solution.rglob("*") if p.is_file() and p.suffix == ".py")


def run_visible_tests(workspace: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-q"],
        cwd=workspace,
        env=RUN_ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_there_are_enough_long_file_tasks():
    assert len(LONG_FILE_IDS) >= 14, LONG_FILE_IDS


def test_every_tier_has_at_least_five_tasks():
    counts = Counter(info.tier for info in INFOS.values())
    assert all(
        counts[tier] >= 5
        for tier in ("single-bug", "multi-file-bug", "feature", "refactor", "explore")
    ), counts


@pytest.mark.parametrize("task_id", LONG_FILE_IDS)
def test_long_file_task_changes_only_beyond_the_first_page(task_id):
    files = solution_files(task_id)
    assert files, f"{task_id}: no Python files in solution/"
    for fixed in files:
        rel = fixed.relative_to(BUILTIN_TASKS_DIR / task_id / "solution")
        original = BUILTIN_TASKS_DIR / task_id / "workspace" / rel
        assert original.is_file(), f"{task_id}: {rel} is new, not a replacement of a long file"
        before = original.read_text().splitlines()
        after = fixed.read_text().splitlines()
        assert len(before) > FIRST_PAGE and len(after) > FIRST_PAGE, f"{task_id}: {rel} is short"
        assert before[:FIRST_PAGE] == after[:FIRST_PAGE], (
            f"{task_id}: {rel} changes within its first {FIRST_PAGE} lines"
        )
        assert before != after, f"{task_id}: {rel} is not changed by the solution"


@pytest.mark.parametrize("task_id", WITH_VISIBLE_TESTS)
def test_visible_tests_pass_before_and_after_the_solution(task_id, tmp_path):
    task = INFOS[task_id].task
    workspace = copy_workspace(task, tmp_path / "ws")
    before = run_visible_tests(workspace)
    assert before.returncode == 0, before.stdout + before.stderr
    apply_solution(task, workspace)
    after = run_visible_tests(workspace)
    assert after.returncode == 0, after.stdout + after.stderr
