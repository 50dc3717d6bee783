"""The seed agent (node 0): its own self-check, and real runs against the real gateway."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import hgm
from hgm.gateway import ChatRequest, Gateway, Scope
from hgm.gateway.scripted import CallableModel

SEED = Path(hgm.__file__).parent / "seed_agent"
SELF_CHECK = [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."]


def copy_seed(dest: Path) -> Path:
    shutil.copytree(SEED, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def call(name: str, arguments: dict | str) -> dict:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def script(*replies: dict) -> Callable[[ChatRequest, Scope], dict]:
    """A stateless model: the Nth reply answers the Nth model call of the conversation."""

    def reply(request: ChatRequest, scope: Scope) -> dict:
        n = sum(1 for m in request.messages if m.get("role") == "assistant")
        return replies[min(n, len(replies) - 1)]

    return reply


class Run:
    """One real run of the seed agent as a subprocess, against a gateway on TCP."""

    def __init__(self, tmp: Path, replies: Callable, *, max_usd: float | None = None):
        self.tmp = tmp
        self.calls: list = []
        self.workspace = tmp / "workspace"
        self.workspace.mkdir()
        self.trajectory_path = tmp / "out" / "trajectory.json"
        # unix socket paths are limited to 107 bytes, so keep it out of the deep tmp_path
        self._sockdir = Path(tempfile.mkdtemp(prefix="hgm-gw-"))
        self.gateway = Gateway(
            CallableModel(replies, "script"),
            socket_path=self._sockdir / "gw.sock",
            recorder=self.calls.append,
            tcp_port=0,
            max_usd=max_usd,
        )

    def __enter__(self) -> Run:
        self.gateway.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gateway.stop()
        shutil.rmtree(self._sockdir, ignore_errors=True)

    def agent(self, task: str = "do the task", max_steps: int = 10, token: str | None = None):
        task_file = self.tmp / "task.md"
        task_file.write_text(task)
        token = token or self.gateway.issue_token(Scope(kind="evaluation", task="t"))
        env = {**os.environ, "HGM_GATEWAY_URL": self.gateway.base_url, "HGM_TOKEN": token}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        args = ["--workspace", self.workspace, "--task-file", task_file]
        args += ["--trajectory", self.trajectory_path, "--max-steps", str(max_steps)]
        return subprocess.run(
            [sys.executable, SEED / "run_agent.py", *args],
            cwd=self.tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    @property
    def trajectory(self) -> dict:
        return json.loads(self.trajectory_path.read_text())


def test_seed_agent_passes_its_own_self_check(tmp_path):
    agent = copy_seed(tmp_path / "agent")
    proc = subprocess.run(SELF_CHECK, cwd=agent, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stderr


def test_seed_agent_uses_only_the_standard_library(tmp_path):
    agent = copy_seed(tmp_path / "agent")
    code = (
        "import sys; sys.path.insert(0, '.'); import agent.loop, agent.llm, agent.tools\n"
        "mods = {m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names)\n"
        "print(sorted(mods - {'agent', '__main__'}))"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], cwd=agent, capture_output=True, text=True
    )
    assert proc.stdout.strip() == "[]", proc.stderr


def test_agent_edits_the_workspace_through_the_gateway(tmp_path):
    replies = script(
        call("create_file", {"path": "pkg/hello.py", "content": "print('hi')\n"}),
        call("bash", {"command": "python3 pkg/hello.py"}),
        call("finish", {"summary": "added hello"}),
    )
    with Run(tmp_path, replies) as run:
        proc = run.agent()
    assert proc.returncode == 0, proc.stderr
    assert (run.workspace / "pkg" / "hello.py").read_text() == "print('hi')\n"
    assert run.trajectory["finish_reason"] == "finished"
    assert run.trajectory["summary"] == "added hello"
    assert [c["name"] for c in run.trajectory["tool_calls"]] == ["create_file", "bash", "finish"]
    assert "hi" in run.trajectory["tool_calls"][1]["output"]
    assert len(run.calls) == 3 and all(c.error is None for c in run.calls)


def test_malformed_tool_arguments_go_back_to_the_model_and_the_agent_continues(tmp_path):
    replies = script(
        call("create_file", '{"path": "a.txt", "content": '),
        call("create_file", {"path": "a.txt", "content": "fixed"}),
        call("finish", {"summary": "done"}),
    )
    with Run(tmp_path, replies) as run:
        proc = run.agent()
    assert proc.returncode == 0, proc.stderr
    second_request = run.calls[1].request["messages"]
    assert second_request[-1]["role"] == "tool"
    assert "not valid JSON" in second_request[-1]["content"]
    assert (run.workspace / "a.txt").read_text() == "fixed"


def test_agent_stops_at_the_step_limit_and_writes_its_trajectory(tmp_path):
    with Run(tmp_path, script(call("bash", {"command": "echo again"}))) as run:
        proc = run.agent(max_steps=3)
    assert proc.returncode == 1
    assert len(run.calls) == 3
    assert run.trajectory["finish_reason"] == "step_limit"
    assert run.trajectory["steps"] == 3


def test_agent_stops_cleanly_when_the_budget_is_exhausted(tmp_path):
    with Run(tmp_path, script(call("bash", {"command": "true"})), max_usd=0.0025) as run:
        proc = run.agent(max_steps=20)
    assert proc.returncode == 1
    assert run.trajectory["finish_reason"] == "budget_exhausted"
    assert run.trajectory["steps"] < 20


def test_trajectory_is_written_when_the_gateway_refuses_the_agent(tmp_path):
    with Run(tmp_path, script(call("finish", {"summary": "never"}))) as run:
        proc = run.agent(token="hgm-not-a-token")
    assert proc.returncode == 1
    assert run.trajectory["finish_reason"] == "llm_error"
    assert "401" in run.trajectory["errors"][0]
    assert run.trajectory["messages"][1]["content"] == "do the task"


def test_trajectory_is_written_when_no_gateway_is_configured(tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "task.md").write_text("anything")
    env = {k: v for k, v in os.environ.items() if k != "HGM_GATEWAY_URL"}
    args = ["--workspace", tmp_path / "ws", "--task-file", tmp_path / "task.md"]
    args += ["--trajectory", tmp_path / "t.json"]
    proc = subprocess.run(
        [sys.executable, SEED / "run_agent.py", *args], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 1
    trajectory = json.loads((tmp_path / "t.json").read_text())
    assert trajectory["finish_reason"] == "llm_error"
    assert "HGM_GATEWAY_URL" in trajectory["errors"][0]


def test_a_failed_self_check_says_why_on_its_first_line(tmp_path):
    from hgm.jobs.expansion import self_check
    from hgm.sandbox.local import LocalSandbox

    agent = copy_seed(tmp_path / "agent")
    (agent / "tests" / "test_broken.py").write_text(
        "import unittest\n\nclass T(unittest.TestCase):\n"
        "    def test_broken(self):\n        self.assertEqual(1, 2)\n"
    )
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    reason = self_check(LocalSandbox(), agent, scratch, time_limit_s=120, memory_mb=1024)
    first = reason.splitlines()[0]
    assert first.startswith("self-check failed (") and "FAILED (failures=1)" in first, reason
    assert "AssertionError: 1 != 2" in reason
