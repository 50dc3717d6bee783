"""`hgm bench list|check` and a staged-evaluation run, through the real CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from hgm.archive import Run, check_run
from hgm.bench.builtin import BUILTIN_TASKS_DIR
from hgm.types import Outcome


def _hgm(*args, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hgm.cli", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


def test_bench_list_shows_the_builtin_tasks_with_tiers():
    data = json.loads(_hgm("bench", "list", "--json").stdout)
    builtin = next(b for b in data if b["name"] == "builtin")
    assert len(builtin["tasks"]) >= 40
    assert {t["tier"] for t in builtin["tasks"]} == {"single-bug", "multi-file-bug", "feature", "refactor", "explore"}
    assert {"dir", "polyglot"} <= {b["name"] for b in data}


@pytest.mark.slow
@pytest.mark.parametrize("sandbox", ["local", "docker"])
def test_bench_check_builtin_is_all_ok_in_every_sandbox(sandbox):
    proc = _hgm("bench", "check", "builtin", "--sandbox", sandbox, "--json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 0, data["problems"]
    assert data["tasks"] >= 40 and data["ok"] == data["tasks"] and data["problems"] == []


def test_bench_check_names_a_task_whose_hidden_tests_already_pass(tmp_path):
    bench = tmp_path / "bench"
    shutil.copytree(BUILTIN_TASKS_DIR / "paginate-page-count", bench / "paginate-page-count")
    task = bench / "paginate-page-count"
    for f in (task / "solution").rglob("*"):  # the "bug" is already fixed in the workspace
        if f.is_file():
            shutil.copy(f, task / "workspace" / f.relative_to(task / "solution"))
    proc = _hgm("bench", "check", f"dir:{bench}", "--json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert data["ok"] == 0 and data["problems"][0]["task"] == "paginate-page-count"


def test_bench_check_names_a_benchmark_that_does_not_load(tmp_path):
    proc = _hgm("bench", "check", f"polyglot:{tmp_path}", "--json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 1 and "exercises/practice" in data["problems"][0]["problem"]


@pytest.mark.slow
def test_a_staged_run_on_ten_builtin_tasks_is_recorded_correctly(tmp_path):
    out = tmp_path / "run"
    proc = _hgm("run", "--model", "scripted:demo", "--benchmark", "builtin?sample=10&seed=0",
                "--policy", "hgm?staged=3,0.5", "--sandbox", "local", "--max-evals", 30,
                "--workers", 2, "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert check_run(out) == []
    run = Run.open(out, readonly=True)
    assert len(run.task_ids) == 10
    judged = [(e.node, e.task) for e in run.evaluations() if e.outcome is not Outcome.ERROR]
    assert len(judged) == len(set(judged)) == 30
    parents = {n.parent for n in run.nodes()}
    for node in run.nodes():
        results = [e.outcome for e in run.evaluations(node.id) if e.outcome is not Outcome.ERROR]
        first = results[:3]
        if node.id != 0 and len(first) == 3 and first.count(Outcome.PASS) / 3 < 0.5:
            # below the stage-1 threshold: no more evaluations and no children
            assert len(results) == 3 and node.id not in parents, node.id
