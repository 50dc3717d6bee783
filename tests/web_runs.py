"""Runs the web tests browse: a run whose every text field is hostile HTML, made with the
archive's own writer (Run.create, add_node, record_evaluation, ...)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from hgm.archive import Run
from hgm.types import NodeKind, NodeStatus, Outcome

SCRIPT = "<script>window.__pwned = 1; alert('script')</script>"
IMG = "<img src=x onerror=\"window.__pwned = 2; alert('img')\">"
LINK = "<a href=\"javascript:alert('link')\">click me</a>"
ENTITY = "&lt;b&gt;not bold&lt;/b&gt; &amp; &#x3C;i&#x3E;"
HOSTILE = f"{SCRIPT} {IMG} {LINK} {ENTITY}"
HOSTILE_TASK = "task<script>alert('task')</script><img src=x onerror=alert('t')>"


def make_hostile_run(path: Path, seed_dir: Path) -> Path:
    """A run with two nodes (a valid child, an invalid one), a failed expansion, and an
    evaluation whose task id, trajectory and test log all carry :data:`HOSTILE` text."""
    seed_dir.mkdir(parents=True, exist_ok=True)
    (seed_dir / "run_agent.py").write_text("print('seed')\n")
    (seed_dir / "notes<script>.md").write_text(HOSTILE + "\n")
    config = {"model": "scripted:" + SCRIPT, "benchmark": "dir:" + IMG, "policy": "hgm", "final_min_evals": 1}
    with Run.create(path, seed_dir, config=config, task_ids=[HOSTILE_TASK, "plain-task"], durable=False) as run:
        (seed_dir / "run_agent.py").write_text("print('child: " + LINK.replace("'", '"') + "')\n")
        child = run.add_node(0, seed_dir, kind=NodeKind.EDIT, proposal="proposal " + HOSTILE,
                             expansion={"cost_usd": 0.01})
        run.add_node(0, seed_dir, kind=NodeKind.SKILL, proposal="skill " + HOSTILE, status=NodeStatus.INVALID,
                     reason="self-check failed: " + HOSTILE, expansion={"cost_usd": 0.01})
        run.record_failed_expansion(child.id, problem_statement="failed " + HOSTILE, reason=IMG, cost_usd=0.01)
        trajectory = {"model": SCRIPT, "messages": [
            {"role": "system", "content": "system " + HOSTILE},
            {"role": "assistant", "content": "assistant " + HOSTILE,
             "tool_calls": [{"id": "c1", "function": {"name": "bash<img src=x onerror=alert(3)>",
                                                      "arguments": json.dumps({"command": HOSTILE})}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "output " + HOSTILE},
        ]}
        for node in (0, child.id):
            run.record_evaluation(node, 0, Outcome.FAIL, trajectory=json.dumps(trajectory),
                                  test_log="test log " + HOSTILE, reason="hidden tests failed " + IMG)
            run.record_evaluation(node, 1, Outcome.PASS, trajectory="not json " + HOSTILE, test_log=ENTITY)
        # The skill index's writer (hgm.skills) is not in yet: the row goes in with plain SQL.
        with sqlite3.connect(path / "hgm.db") as db:
            db.execute("INSERT INTO skills (node, name, content_hash, description, path, created_at)"
                       " VALUES (?, ?, ?, ?, ?, ?)",
                       (child.id, "skill<script>", "0" * 64, "skill description " + HOSTILE,
                        "skills/<img src=x onerror=alert(4)>/SKILL.md", 0.0))
        run.log_llm_call(node=child.id, scope_kind="evaluation", scope_id="evaluation-x", model=SCRIPT,
                         request={"messages": [{"role": "user", "content": HOSTILE}]},
                         response={"choices": [{"message": {"content": HOSTILE}}]},
                         prompt_tokens=10, completion_tokens=5, cost_usd=0.002, latency_s=0.1)
    return path
