"""The loop under bad model output, a failing provider, a dollar budget, and Ctrl-C.

Every test runs the real `hgm run` (gateway, seed agent, local sandbox); the model is a
YAML script or the scripted demo, answering over the gateway's HTTP.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hgm.archive import Run, check_run
from hgm.types import Outcome

pytestmark = pytest.mark.slow

TASKS = "builtin?ids=paginate-page-count,csv-quoted-fields,lru-cache-eviction,rate-limiter-refill"


def _hgm(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hgm.cli", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


def _evaluations_so_far(db: Path) -> int:
    """Rows in the evaluations table of a run being written (0 until its schema exists)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute("select count(*) from evaluations").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_malformed_tool_calls_reach_the_agent_as_errors_and_the_run_goes_on(tmp_path):
    script = tmp_path / "model.yaml"
    script.write_text(
        "replies:\n"
        "  evaluation:\n"
        "    - tool_calls: [{name: bash, arguments: '{\"command\": \"ls\"'}]\n"  # invalid JSON
        "    - tool_calls: [{name: no_such_tool, arguments: {}}]\n"
        "    - tool_calls: [{name: finish, arguments: {summary: gave up}}]\n"
    )
    out = tmp_path / "run"
    proc = _hgm("run", "--model", f"scripted:{script}", "--benchmark", TASKS, "--sandbox", "local",
                "--policy", "greedy?evals_per_node=2", "--max-evals", 2, "--workers", 1, "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = Run.open(out, readonly=True)
    evals = run.evaluations()
    assert [e.outcome for e in evals] == [Outcome.FAIL, Outcome.FAIL]  # the agent's failure, judged
    trajectory = json.loads(run.artifact(evals[0].trajectory))
    assert trajectory["finish_reason"] == "finished" and trajectory["steps"] == 3
    results = [c for c in trajectory["tool_calls"]]
    assert not results[0]["ok"] and "JSON" in results[0]["output"]
    assert not results[1]["ok"] and "no_such_tool" in results[1]["output"]
    assert check_run(out) == []


def test_a_failing_model_is_an_infrastructure_error_and_stops_the_run(tmp_path):
    script = tmp_path / "model.yaml"
    script.write_text("replies:\n  default:\n" + "    - error: the provider is down\n" * 3)
    config = tmp_path / "run.yaml"
    config.write_text("max_consecutive_errors: 3\nmax_error_retries: 5\n")  # no error becomes a fail yet
    out = tmp_path / "run"
    proc = _hgm("run", "--config", config, "--model", f"scripted:{script}", "--benchmark", TASKS,
                "--sandbox", "local", "--max-evals", 10, "--workers", 1, "--out", out)
    assert proc.returncode == 3, proc.stdout + proc.stderr  # README "Exit codes": stopped on errors
    assert "3 evaluations in a row failed in the infrastructure" in proc.stdout
    evals = Run.open(out, readonly=True).evaluations()
    assert [e.outcome for e in evals] == [Outcome.ERROR] * 3  # never counted as the agent's failure
    assert "the provider is down" in evals[0].reason
    assert check_run(out) == []


def _always_failing_model(tmp_path: Path, config: str) -> tuple[Path, Path]:
    script = tmp_path / "model.yaml"
    script.write_text("replies:\n  default:\n    - error: the provider is down\n")  # every scope, every time
    (tmp_path / "run.yaml").write_text(config)
    return script, tmp_path / "run.yaml"


def test_an_error_that_repeats_on_the_same_node_and_task_becomes_a_fail(tmp_path):
    script, config = _always_failing_model(tmp_path, "max_error_retries: 1\n")
    out = tmp_path / "run"
    proc = _hgm("run", "--config", config, "--model", f"scripted:{script}", "--benchmark", TASKS,
                "--sandbox", "local", "--policy", "greedy?evals_per_node=2", "--max-evals", 2,
                "--workers", 1, "--out", out)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evals = Run.open(out, readonly=True).evaluations()
    # One retry per (node, task); the second error there is judged.
    assert [e.outcome for e in evals] == [Outcome.ERROR, Outcome.FAIL] * 2
    assert evals[0].task == evals[1].task != evals[2].task == evals[3].task
    assert evals[1].reason.startswith("error repeated 2 times: the model failed during the evaluation")
    assert "the provider is down" in evals[1].reason
    assert check_run(out) == []


def test_the_repeated_error_bound_holds_across_a_resume(tmp_path):
    # Each driver stops after one infrastructure error; the errors are counted from the archive.
    script, config = _always_failing_model(tmp_path, "max_error_retries: 1\nmax_consecutive_errors: 1\n")
    out = tmp_path / "run"
    first = _hgm("run", "--config", config, "--model", f"scripted:{script}", "--benchmark", TASKS,
                 "--sandbox", "local", "--max-evals", 4, "--workers", 1, "--out", out)  # fmt: skip
    assert "1 evaluations in a row failed in the infrastructure" in first.stdout, first.stdout + first.stderr
    _hgm("run", "--resume", out)
    evals = Run.open(out, readonly=True).evaluations()
    assert [e.outcome for e in evals] == [Outcome.ERROR, Outcome.FAIL]
    assert evals[0].task == evals[1].task and evals[1].reason.startswith("error repeated 2 times")


def test_the_dollar_budget_stops_the_run(tmp_path):
    out = tmp_path / "run"
    proc = _hgm("run", "--model", "scripted:demo", "--benchmark", TASKS, "--sandbox", "local",
                "--max-usd", 0.012, "--max-evals", 40, "--workers", 2, "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reached the dollar budget" in proc.stdout
    status = json.loads(_hgm("status", out, "--json").stdout)
    assert 0.012 <= status["cost_usd"] <= 0.012 + 2 * 0.001  # at most one crossing call per worker
    run = Run.open(out, readonly=True)
    refused = [c for c in run.llm_calls() if (c["error"] or "").startswith("BudgetExhausted")]
    assert refused and all(c["cost_usd"] == 0 for c in refused)
    assert check_run(out) == []


def test_ctrl_c_records_work_in_flight_and_says_how_to_resume(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hgm.cli", "run", "--model", "scripted:demo", "--benchmark", TASKS,
         "--sandbox", "local", "--max-evals", "12", "--workers", "2", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    db = out / "hgm.db"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if _evaluations_so_far(db) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout + stderr  # README "Exit codes": interrupted
    assert "interrupted" in stdout and f"hgm run --resume {out}" in stdout.replace("\n", "")
    assert check_run(out) == []
    judged = [e for e in Run.open(out, readonly=True).evaluations() if e.outcome is not Outcome.ERROR]
    assert 2 <= len(judged) < 12
    resumed = _hgm("run", "--resume", out)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    final = [e for e in Run.open(out, readonly=True).evaluations() if e.outcome is not Outcome.ERROR]
    assert len(final) == 12 and final[: len(judged)] == judged
