"""Aider's protocol (``Task.tries``, ``polyglot:...?tries=2``): after a failed attempt the
agent runs again on what it left, and sees the failed tests' output."""

from __future__ import annotations

import json
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hgm.bench import BenchmarkError, get_benchmark
from hgm.gateway import Gateway, get_backend
from hgm.jobs.evaluation import AgentLimits, evaluate
from hgm.sandbox import get_sandbox
from hgm.types import Outcome, Task

CHECKOUT = Path(__file__).parent / "fixtures" / "polyglot" / "checkout"

# Wrong at first; right only once its instructions carry the failed test's assertion.
LEARNER = """
import argparse, json, pathlib
p = argparse.ArgumentParser()
for a in ("--workspace", "--task-file", "--trajectory", "--max-steps", "--model"):
    p.add_argument(a)
args = p.parse_args()
task = pathlib.Path(args.task_file).read_text()
ws = pathlib.Path(args.workspace)
seen = "AssertionError: -1 != 5" in task and "Your previous attempt" in task
previous = (ws / "calc.py").read_text()
(ws / "calc.py").write_text("def add(a, b):\\n    return a + b\\n" if seen else "def add(a, b):\\n    return a - b\\n")
pathlib.Path(args.trajectory).write_text(json.dumps(
    {"finish_reason": "finished", "tool_calls": [{"name": "bash", "arguments": {"command": "saw:" + str(seen)}}],
     "previous": previous}))
"""


@pytest.fixture(scope="module")
def box():
    sandbox = get_sandbox("local")
    yield sandbox
    sandbox.close()


@pytest.fixture
def gateway() -> Iterator[Path]:
    folder = Path(f"/tmp/hgm-tries-gw-{uuid.uuid4().hex[:8]}")
    folder.mkdir()
    gw = Gateway(get_backend("scripted:echo"), socket_path=folder / "gw.sock", recorder=lambda call: None)
    gw.start()
    yield gw.socket_path
    gw.stop()


def run(box, gateway: Path, tmp_path: Path, tries: int):
    agent = tmp_path / "agent"
    agent.mkdir()
    (agent / "run_agent.py").write_text(textwrap.dedent(LEARNER))
    root = tmp_path / "task"
    (root / "workspace").mkdir(parents=True)
    (root / "workspace" / "calc.py").write_text("def add(a, b):\n    return 0\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_calc.py").write_text(
        "import unittest\nfrom calc import add\n\nclass T(unittest.TestCase):\n"
        "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n"
    )
    task = Task(id="calc", instructions="make add() add", workspace=root / "workspace", tests=root / "tests",
                test_command="python3 -m unittest discover -s tests_hidden -q", tries=tries)  # fmt: skip
    return evaluate(box, agent, task, token="t", model="scripted:echo", gateway_socket=gateway,
                    limits=AgentLimits(time_limit_s=60), test_time_limit_s=60)  # fmt: skip


def test_one_attempt_is_the_default_and_fails(box, gateway, tmp_path):
    result = run(box, gateway, tmp_path, tries=1)
    assert result.outcome is Outcome.FAIL
    assert "attempt" not in result.test_log and "attempts" not in json.loads(result.trajectory)


def test_second_attempt_sees_the_test_output_and_works_on_what_it_left(box, gateway, tmp_path):
    result = run(box, gateway, tmp_path, tries=2)
    assert result.outcome is Outcome.PASS, result.test_log
    trajectory = json.loads(result.trajectory)
    commands = [c["arguments"]["command"] for c in trajectory["tool_calls"]]
    assert commands == ["saw:False", "saw:True"]
    assert trajectory["attempts"][1]["previous"] == "def add(a, b):\n    return a - b\n"
    assert result.test_log.startswith("=== attempt 1 ===") and "=== attempt 2 ===" in result.test_log


def test_polyglot_takes_tries_and_checks_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HGM_CACHE_DIR", str(tmp_path / "cache"))
    tasks = get_benchmark(f"polyglot:{CHECKOUT}?tries=2").tasks()
    assert {t.tries for t in tasks} == {2}
    assert {t.tries for t in get_benchmark(f"polyglot:{CHECKOUT}").tasks()} == {1}
    with pytest.raises(BenchmarkError, match="tries= must be a whole number from 1 to 5, got '9'"):
        get_benchmark(f"polyglot:{CHECKOUT}?tries=9")
