"""hgm.skills.usage: which skills an evaluation searched, read and ran, from its trajectory.

Real trajectories come from the seed agent run as a subprocess against the real gateway (the
model is a scripted reply function); hostile ones are whatever an agent could write.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import hgm
from hgm.gateway import ChatRequest, Gateway, Scope
from hgm.gateway.scripted import CallableModel
from hgm.jobs.evaluation import AgentLimits, evaluate
from hgm.sandbox import get_sandbox
from hgm.skills.usage import MAX_ENTRIES, SkillUsage, skill_usage
from hgm.types import Outcome, Task

SEED = Path(hgm.__file__).parent / "seed_agent"
STARTER_SKILLS = Path(__file__).resolve().parent.parent / "skills"

COUNT_LINES = '''\
"""Count the lines of a file."""

__all__ = ["count_lines"]


def count_lines(path: str) -> dict[str, int]:
    """Count the lines of a file (relative to the working directory)."""
    with open(path) as f:
        return {"lines": len(f.read().splitlines())}
'''


def agent_with_a_skill(root: Path) -> Path:
    agent = root / "agent"
    shutil.copytree(SEED, agent, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    folder = agent / "skills" / "count-lines"
    (folder / "tests").mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        "---\nname: count-lines\ndescription: Count the lines of a text file.\n---\n\nCall count_lines.\n"
    )
    (folder / "count_lines.py").write_text(COUNT_LINES)
    (folder / "tests" / "__init__.py").write_text("")
    return agent


def run_seed_agent(tmp: Path, replies: list[dict], embedder=None) -> bytes:
    """Run a copy of the seed agent (with one skill) through the real gateway; its trajectory."""
    agent = agent_with_a_skill(tmp)
    workspace = tmp / "workspace"
    workspace.mkdir()
    (workspace / "notes.txt").write_text("one\ntwo\n")
    (tmp / "task.md").write_text("count the lines of notes.txt")

    def reply(request: ChatRequest, scope: Scope) -> dict:
        n = sum(1 for m in request.messages if m.get("role") == "assistant")
        return replies[min(n, len(replies) - 1)]

    sockdir = Path(tempfile.mkdtemp(prefix="hgm-gw-"))
    gateway = Gateway(CallableModel(reply, "script"), socket_path=sockdir / "gw.sock",
                      recorder=lambda call: None, tcp_port=0, embedder=embedder)  # fmt: skip
    try:
        with gateway:
            token = gateway.issue_token(Scope(kind="evaluation", task="t"))
            env = {**os.environ, "HGM_GATEWAY_URL": gateway.base_url, "HGM_TOKEN": token,
                   "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
            args = ["--workspace", workspace, "--task-file", tmp / "task.md"]
            args += ["--trajectory", tmp / "trajectory.json"]
            proc = subprocess.run([sys.executable, agent / "run_agent.py", *args], env=env,
                                  capture_output=True, text=True, timeout=120)  # fmt: skip
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr
    return (tmp / "trajectory.json").read_bytes()


def call(tool: str, **arguments) -> dict:
    return {"tool_calls": [{"name": tool, "arguments": arguments}]}


def test_a_real_run_that_searches_reads_and_runs_a_skill(tmp_path):
    trajectory = run_seed_agent(tmp_path, [
        call("search_skills", query="count  lines\nof a file"),
        call("read_skill", name="count-lines"),
        call("read_skill", name="no-such-skill"),
        call("run_skill", name="count-lines", function="count_lines", arguments={"path": "notes.txt"}),
        call("run_skill", name="count-lines", function="count_lines", arguments={"path": "notes.txt"}),
        call("finish", summary="2 lines"),
    ])  # fmt: skip
    outputs = [c["output"] for c in json.loads(trajectory)["tool_calls"]]
    assert outputs[0].startswith("ranking: ") and "1. count-lines" in outputs[0]
    assert outputs[2].startswith("Error: no skill named 'no-such-skill'")
    assert json.loads(outputs[3]) == {"result": {"lines": 2}}  # it really ran, in the workspace
    assert skill_usage(trajectory) == SkillUsage(
        searched=("count lines of a file",), read=("count-lines",), ran=("count-lines",)
    )


def test_search_ranks_by_the_gateways_embeddings_or_says_why_not(tmp_path):
    from hgm.skills.embed import resolve_embedder

    replies = [call("search_skills", query="count the lines of a file"), call("finish", summary="ok")]
    with_model = run_seed_agent(tmp_path / "a", replies, embedder=resolve_embedder("scripted"))
    without = run_seed_agent(tmp_path / "b", replies)
    found = json.loads(with_model)["tool_calls"][0]["output"].splitlines()
    assert found[0] == "ranking: embedding (cosine similarity)" and found[1].startswith("1. count-lines")
    found = json.loads(without)["tool_calls"][0]["output"].splitlines()
    assert found[0].startswith("ranking: lexical fallback: the gateway answered HTTP 503")
    assert found[1].startswith("1. count-lines")


def test_a_real_run_whose_bash_runs_skill_code_counts_it_as_ran(tmp_path):
    skill_dir = tmp_path / "agent" / "skills" / "count-lines"  # where run_seed_agent puts it
    trajectory = run_seed_agent(tmp_path, [
        call("bash", command=f"cat {skill_dir}/SKILL.md"),
        call("bash", command=f"ls {skill_dir.parent}"),
        call("bash", command=f"cd {skill_dir} && python3 -m unittest discover -s tests -t ."),
        call("finish", summary="done"),
    ])  # fmt: skip
    outputs = [c["output"] for c in json.loads(trajectory)["tool_calls"]]
    assert "name: count-lines" in outputs[0] and "count-lines" in outputs[1]
    assert "[exit code: 0]" in outputs[2]
    assert skill_usage(trajectory) == SkillUsage(read=("count-lines",), ran=("count-lines",))


def test_an_evaluation_in_the_sandbox_runs_the_skill_and_records_its_usage(tmp_path):
    root = tmp_path / "task"
    (root / "workspace").mkdir(parents=True)
    (root / "workspace" / "notes.txt").write_text("one\ntwo\nthree\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_hidden.py").write_text(
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n        pass\n"
    )
    task = Task(id="t", instructions="count", workspace=root / "workspace", tests=root / "tests",
                test_command="python -m unittest discover -s tests_hidden -q")  # fmt: skip
    replies = [
        call("search_skills", query="count lines"),
        call("read_skill", name="count-lines"),
        call("run_skill", name="count-lines", function="count_lines", arguments={"path": "notes.txt"}),
        call("finish", summary="3 lines"),
    ]

    def reply(request: ChatRequest, scope: Scope) -> dict:
        return replies[min(sum(1 for m in request.messages if m.get("role") == "tool"), 3)]

    sockdir = Path(tempfile.mkdtemp(prefix="hgm-gw-"))
    gateway = Gateway(CallableModel(reply, "script"), socket_path=sockdir / "gw.sock", recorder=lambda c: None)
    sandbox = get_sandbox("local")
    try:
        with gateway:
            result = evaluate(
                sandbox, agent_with_a_skill(tmp_path), task, model="script",
                token=gateway.issue_token(Scope(kind="evaluation", node=0, ref="e1", task="t")),
                gateway_socket=gateway.socket_path, limits=AgentLimits(max_steps=8, time_limit_s=120),
                test_time_limit_s=60,
            )  # fmt: skip
    finally:
        sandbox.close()
        shutil.rmtree(sockdir, ignore_errors=True)
    assert result.outcome is Outcome.PASS, (result.reason, result.trajectory[-2000:])
    calls = json.loads(result.trajectory)["tool_calls"]
    assert json.loads(calls[2]["output"]) == {"result": {"lines": 3}}  # ran in the sandbox's /work
    assert result.skill_usage == SkillUsage(("count lines",), ("count-lines",), ("count-lines",))


def test_a_run_without_skill_calls_uses_none(tmp_path):
    trajectory = run_seed_agent(tmp_path, [call("view", path="."), call("finish", summary="ok")])
    assert skill_usage(trajectory) == SkillUsage()


def test_a_trajectory_cut_short_by_hgm_keeps_its_complete_calls(tmp_path):
    trajectory = run_seed_agent(tmp_path, [
        call("search_skills", query="lines"),
        call("run_skill", name="count-lines", function="count_lines", arguments={"path": "notes.txt"}),
        call("finish", summary="done"),
    ])  # fmt: skip
    cut = trajectory[: trajectory.index(b'"messages"') + 50] + b"\n[hgm: truncated: 9 bytes]\n"
    assert skill_usage(cut) == SkillUsage(searched=("lines",), ran=("count-lines",))


def test_calls_are_read_from_the_messages_when_there_is_no_tool_calls_list():
    messages = [
        {"role": "assistant", "tool_calls": [
            {"id": "a", "function": {"name": "run_skill", "arguments": '{"name": "x-1"}'}},
            {"id": "b", "function": {"name": "read_skill", "arguments": {"name": "y"}}},
        ]},
        {"role": "tool", "tool_call_id": "a", "content": '{"error": "ValueError: no"}'},
        {"role": "tool", "tool_call_id": "b", "content": "Error: no skill named 'y'"},
    ]  # fmt: skip
    assert skill_usage(json.dumps({"messages": messages}).encode()) == SkillUsage(ran=("x-1",))


@pytest.mark.parametrize(
    "trajectory",
    [
        b"",
        b"not json at all {",
        b"\xff\xfe\x00 binary",
        b"[" * 200_000 + b"]" * 200_000,  # nesting deeper than the parser's recursion
        b'{"tool_calls": [' + b"[" * 100_000,
        b"null",
        b"42",
        b'"a string"',
        b'["tool_calls"]',
        b'{"tool_calls": "search_skills"}',
        b'{"tool_calls": [1, null, "x", [], {"name": 5}, {"name": "run_skill", "arguments": 7}]}',
        b'{"tool_calls": [{"name": "run_skill", "arguments": "{\\"name\\": [\\"a\\"]}"}]}',
        b'{"messages": [{"role": "assistant", "tool_calls": "no"}, 3, {"role": "tool"}]}',
        b'{"messages": {"role": "assistant"}}',
    ],
)
def test_garbage_gives_no_usage_and_never_raises(trajectory):
    assert skill_usage(trajectory) == SkillUsage()


def test_inputs_that_are_not_bytes_give_no_usage():
    for value in (None, 3, ["x"], {"tool_calls": []}):
        assert skill_usage(value) == SkillUsage()  # type: ignore[arg-type]


def test_names_that_are_not_skill_names_are_not_counted():
    calls = [
        {"name": "run_skill", "arguments": json.dumps({"name": bad}), "output": "{}"}
        for bad in ("../../etc", "UPPER", "a" * 65, "", "-x", "a b")
    ]
    assert skill_usage(json.dumps({"tool_calls": calls}).encode()) == SkillUsage()


def test_a_flood_of_calls_is_capped_and_deduplicated():
    calls = [
        {"name": "search_skills", "arguments": json.dumps({"query": str(i) + "q" * 10_000})}
        for i in range(5_000)
    ]
    calls += [{"name": "run_skill", "arguments": json.dumps({"name": f"s{i % 3}"})} for i in range(1000)]
    usage = skill_usage(json.dumps({"tool_calls": calls}).encode())
    assert len(usage.searched) == MAX_ENTRIES and all(len(q) <= 300 for q in usage.searched)
    assert usage.ran == ("s0", "s1", "s2")


def test_a_trajectory_too_large_to_parse_gives_no_usage():
    big = b'{"tool_calls": [{"name": "run_skill", "arguments": "{\\"name\\": \\"a\\"}"}], "pad": "'
    assert skill_usage(big + b"x" * (65 << 20) + b'"}') == SkillUsage()


@pytest.mark.parametrize(
    ("command", "read", "ran"),
    [
        ("python3 /agent/skills/run-tests/run_tests.py", (), ("run-tests",)),
        ("PYTHONPATH=/agent/skills/run-tests python3 -c 'import run_tests'", (), ("run-tests",)),
        ('cd "$HGM_AGENT/skills/run-tests" && timeout 60 pytest -q', (), ("run-tests",)),
        ("/agent/skills/run-tests/go.sh --fast", (), ("run-tests",)),
        ("head -20 /agent/skills/run-tests/SKILL.md", ("run-tests",), ()),
        ("cat /tmp/bash-python-dir/skills/run-tests/SKILL.md", ("run-tests",), ()),
        ("ls /agent/skills/run-tests", (), ()),
        ("grep -n def /agent/skills/run-tests/run_tests.py", (), ()),
        ("python3 -m unittest discover -s tests", (), ()),
        ("python3 myskills/run-tests/x.py", (), ()),
    ],
)
def test_bash_commands_count_when_they_run_or_show_a_skill(command, read, ran):
    record = {"name": "bash", "arguments": json.dumps({"command": command}), "output": "[exit code: 0]"}
    usage = skill_usage(json.dumps({"tool_calls": [record]}).encode())
    assert (usage.read, usage.ran) == (read, ran)


@pytest.mark.slow
def test_a_demo_run_searches_reads_and_runs_skills_and_its_trajectories_say_so(tmp_path):
    from hgm.archive import Run
    from hgm.testing import SKILL_QUERY, demo_uses_skills

    seed = tmp_path / "seed"  # the seed agent with the repository's starter skills
    shutil.copytree(SEED, seed, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for folder in STARTER_SKILLS.iterdir():
        if (folder / "SKILL.md").is_file():
            junk = shutil.ignore_patterns("__pycache__")
            shutil.copytree(folder, seed / "skills" / folder.name, ignore=junk)
    (tmp_path / "config.yaml").write_text(f"seed_agent: {seed}\n")
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "hgm.cli", "run", "--config", tmp_path / "config.yaml", "--model",
         "scripted:demo", "--benchmark", "builtin", "--sandbox", "local", "--max-evals", "6",
         "--workers", "2", "--out", out],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = Run.open(out, readonly=True)
    evaluations = run.evaluations()
    assert len(evaluations) == 6
    used = [e for e in evaluations if demo_uses_skills(e.task)]
    assert 0 < len(used) < 6  # both kinds, so usage can be compared (true of the first 6 tasks)
    for evaluation in evaluations:
        trajectory = run.artifact(evaluation.trajectory)
        usage = skill_usage(trajectory)
        if evaluation not in used:
            assert usage == SkillUsage(), evaluation.task
            continue
        assert usage == SkillUsage((SKILL_QUERY,), ("run-tests",), ("run-tests",)), evaluation.task
        ran = next(c for c in json.loads(trajectory)["tool_calls"] if c["name"] == "run_skill")
        result = json.loads(ran["output"].split("\n[printed")[0])["result"]
        assert result["framework"] == "unittest" and result["passed"] > 0, result
