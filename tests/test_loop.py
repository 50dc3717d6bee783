"""The evolution loop end to end: real CLI, real gateway, real agent, real sandboxes.

The only scripted part is the model (`scripted:demo`), reached over the gateway's HTTP. The
end-to-end run is made once in the local sandbox and once in Docker.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from hgm.archive import Run, check_run
from hgm.bench import get_benchmark
from hgm.types import Outcome

pytestmark = pytest.mark.slow

SEED_VIEW_LIMIT = 100


def _longest_file(task) -> int:
    files = [p.relative_to(task.solution) for p in task.solution.rglob("*") if p.is_file()]
    return max(len((task.workspace / f).read_text().splitlines()) for f in files if (task.workspace / f).is_file())


def _task_ids(n_short: int, n_long: int) -> tuple[list[str], list[str]]:
    """Short tasks the seed can solve, long ones it cannot see whole (sorted, deterministic)."""
    short, long_ = [], []
    for t in sorted(get_benchmark("builtin").tasks(), key=lambda t: t.id):
        (long_ if _longest_file(t) > SEED_VIEW_LIMIT else short).append(t.id)
    assert len(short) >= n_short and len(long_) >= n_long, "the built-in set lacks long or short tasks"
    return short[:n_short], long_[:n_long]


def _hgm(*args: str, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hgm.cli", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, **kw,
    )


@pytest.fixture(scope="module", params=["local", "docker"])
def demo_run(request, tmp_path_factory) -> tuple[Path, list[str], list[str]]:
    short, long_ = _task_ids(3, 3)
    out = tmp_path_factory.mktemp("loop") / "run"
    proc = _hgm(
        "run", "--model", "scripted:demo", "--benchmark", f"builtin?ids={','.join(short + long_)}",
        "--sandbox", request.param, "--max-evals", 30, "--workers", 2, "--out", out,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert yaml.safe_load((out / "config.yaml").read_text())["sandbox"] == request.param
    return out, short, long_


def test_scripted_run_grows_a_tree_and_prints_the_best_agent(demo_run):
    out, _, _ = demo_run
    run = Run.open(out, readonly=True)
    assert len(run.nodes()) >= 3
    status = json.loads(_hgm("status", out, "--json").stdout)
    assert status["evaluations"]["pass"] + status["evaluations"]["fail"] == 30
    assert check_run(out) == []


def test_a_child_carries_the_scripted_change_and_it_changes_the_pass_rate(demo_run):
    out, short, long_ = demo_run
    run = Run.open(out, readonly=True)
    improved = [n for n in run.nodes() if n.parent == 0 and "VIEW_MAX_LINES = 2000" in run.diff(n.id, 0)]
    assert improved, "no child of the seed carries the view-limit change"
    diff = run.diff(improved[0].id, 0)
    changed = [line for line in diff.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert changed[0].startswith("-VIEW_MAX_LINES = 100")
    assert changed[1:] == ["+VIEW_MAX_LINES = 2000  # was 100: whole source files must fit"]
    seed = {e.task: e.outcome for e in run.evaluations(0)}
    assert all(seed[t] is Outcome.FAIL for t in long_ if t in seed)
    assert all(seed[t] is Outcome.PASS for t in short if t in seed)
    child_long = [e for n in improved for e in run.evaluations(n.id) if e.task in long_]
    assert child_long and all(e.outcome is Outcome.PASS for e in child_long)


def test_every_evaluation_has_a_trajectory_and_a_test_log(demo_run):
    out, _, _ = demo_run
    run = Run.open(out, readonly=True)
    for e in run.evaluations():
        assert e.trajectory and json.loads(run.artifact(e.trajectory))["steps"] >= 1
        assert e.test_log and "exit code" in run.artifact(e.test_log).decode()


def test_every_llm_call_is_attributed_to_a_node_and_costed(demo_run):
    out, _, _ = demo_run
    run = Run.open(out, readonly=True)
    calls = run.llm_calls()
    node_ids = {n.id for n in run.nodes()}
    assert calls
    for c in calls:
        assert c["node"] in node_ids and c["scope_kind"] in {"evaluation", "expansion", "diagnosis"}
        # The demo's evaluations search skills through the gateway's embeddings; the run's
        # embedding model (scripted for a scripted model) is free.
        assert c["cost_usd"] > 0 or c["request"].get("endpoint") == "embeddings"
    recorded = sum(e.cost_usd for e in run.evaluations()) + sum(x.cost_usd for x in run.expansions())
    assert recorded == pytest.approx(sum(c["cost_usd"] for c in calls))


def _count(db: Path, sql: str) -> int:
    """The answer to ``sql`` on a run being written (0 until its schema exists)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_a_run_killed_mid_flight_resumes_without_loss_or_double_counting(tmp_path):
    short, long_ = _task_ids(2, 2)
    out = tmp_path / "run"
    args = ["run", "--model", "scripted:demo", "--benchmark", f"builtin?ids={','.join(short + long_)}",
            "--sandbox", "local", "--max-evals", 16, "--workers", 2, "--out", out]
    proc = subprocess.Popen([sys.executable, "-m", "hgm.cli", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    db = out / "hgm.db"
    deadline = time.monotonic() + 300
    target = random.Random().randint(3, 8)
    while time.monotonic() < deadline:
        if _count(db, "select count(*) from evaluations") >= target:
            break
        time.sleep(0.05)
    time.sleep(random.random() * 0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and every sandbox it started
    proc.wait()
    before = Run.open(out, readonly=True)
    kept = [(e.id, e.node, e.task, e.outcome, e.trajectory) for e in before.evaluations()]
    before.close()
    assert 0 < len([k for k in kept if k[3] is not Outcome.ERROR]) < 16

    # The killed driver could not remove its scratch folders (the gateway's, at least);
    # the resume sweeps them up.
    leftovers = lambda: list(Path(tempfile.gettempdir()).glob(f"hgm-{proc.pid}-*"))  # noqa: E731
    assert leftovers()

    resumed = _hgm("run", "--resume", out)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert check_run(out) == []
    assert leftovers() == []
    run = Run.open(out, readonly=True)
    after = [(e.id, e.node, e.task, e.outcome, e.trajectory) for e in run.evaluations()]
    assert after[: len(kept)] == kept  # nothing completed was lost or changed
    judged = [(e.node, e.task) for e in run.evaluations() if e.outcome is not Outcome.ERROR]
    assert len(judged) == len(set(judged)) == 16  # none counted twice; the budget is exact
    status = json.loads(_hgm("status", out, "--json").stdout)
    assert status["cost_usd"] == pytest.approx(sum(c["cost_usd"] for c in run.llm_calls()))


def test_hgm_makes_no_child_the_evaluation_budget_cannot_screen(tmp_path):
    # 4 tasks: HGM screens each node with 4 evaluations (all its tasks). With --max-evals 10
    # the seed takes 4 and one child 4; a second child could get only 2, so it is never
    # made, and with no task left to give the run stops 2 evaluations short.
    short, _ = _task_ids(4, 0)
    out = tmp_path / "run"
    proc = _hgm("run", "--model", "scripted:demo", "--benchmark", f"builtin?ids={','.join(short)}",
                "--sandbox", "local", "--max-evals", 10, "--workers", 1, "--out", out)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = Run.open(out, readonly=True)
    judged = {n.id: sum(e.outcome is not Outcome.ERROR for e in run.evaluations(n.id)) for n in run.nodes()}
    assert judged == {0: 4, 1: 4}
    assert "cannot screen a new child" in " ".join(proc.stdout.split())
