"""The loop tells the policy how much of the run's budget is spent and what is left.

A real loop (archive, gateway, worker, local sandbox) runs a trivial agent; the policy is
greedy wrapped so that it keeps what each snapshot said about the budget.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from hgm.archive import Run
from hgm.executor.local import LocalExecutor
from hgm.gateway import Gateway, get_backend
from hgm.jobs import CostLedger, Worker, WorkerSettings
from hgm.loop import Limits, run_search
from hgm.sandbox import get_sandbox
from hgm.search import get_policy
from hgm.types import Task

AGENT = """
import argparse, json
p = argparse.ArgumentParser()
for a in ("--workspace", "--task-file", "--trajectory", "--max-steps", "--model"):
    p.add_argument(a)
json.dump({"steps": 1}, open(p.parse_args().trajectory, "w"))
"""


class Recording:
    """A policy that decides like ``inner`` and remembers each snapshot's budget view."""

    def __init__(self, inner):
        self.inner, self.name, self.seen = inner, inner.name, []

    def decide(self, snap, rng):
        self.seen.append((snap.evals_done, snap.budget_fraction, snap.evals_left))
        return self.inner.decide(snap, rng)


def test_the_policy_sees_the_fraction_spent_and_the_evaluations_left(tmp_path: Path):
    agent = tmp_path / "agent"
    agent.mkdir()
    (agent / "run_agent.py").write_text(textwrap.dedent(AGENT))
    tasks = []
    for i in range(4):
        task = tmp_path / "tasks" / f"t{i}"
        (task / "workspace").mkdir(parents=True)
        (task / "tests").mkdir()
        tasks.append(Task(f"t{i}", "nothing", task / "workspace", task / "tests", "true", 60.0))
    run = Run.create(tmp_path / "run", agent, config={}, task_ids=[t.id for t in tasks])
    ledger = CostLedger(run)
    policy = Recording(get_policy("greedy?evals_per_node=4"))
    sandbox = get_sandbox("local")
    executor = LocalExecutor(1)
    try:
        with Gateway(get_backend("scripted:echo"), socket_path=tmp_path / "gw.sock", recorder=ledger.record) as gw:
            worker = Worker(run, sandbox, gw, ledger, tasks, WorkerSettings(model="scripted:echo"))
            run_search(run, policy, executor, worker, Limits(max_evals=4))
    finally:
        executor.shutdown()
        sandbox.close()
        run.close()
    # One worker: each decision follows the previous evaluation's result.
    assert policy.seen == [(done, done / 4, 4 - done) for done in range(4)]
