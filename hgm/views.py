"""Read-only views of a run: the data behind `hgm status`, `tree`, `show` and `best`.

Each function takes an open :class:`~hgm.archive.Run` and returns plain typed data; the CLI
renders it as rich text or JSON, and the web page can use the same functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hgm.archive import Run
from hgm.search.final import FinalChoice, beta_interval, final_agent
from hgm.types import Node


@dataclass(frozen=True)
class TreeRow:
    """One node as the tree view shows it."""

    node: int
    parent: int | None
    depth: int
    kind: str
    status: str
    passes: int
    evals: int
    cmp: float | None
    cmp_lower: float | None
    cmp_upper: float | None
    best: bool
    proposal: str


def best_choice(run: Run, min_evals: int | None = None) -> FinalChoice | None:
    """The run's final agent under the best-belief rule (see hgm.search.final)."""
    if min_evals is None:
        min_evals = int(run.config.get("final_min_evals", 5))
    return final_agent(run.tree_stats().snapshot(), min_evals=min_evals)


def run_status(run: Run) -> dict:
    """Counts, spend and the current best agent, in the shape of `hgm status --json`."""
    totals = run.totals()
    choice = best_choice(run)
    best = None
    if choice is not None:
        best = {
            "node": choice.node,
            "pass_rate": choice.pass_rate,
            "evals": choice.evals,
            "passes": choice.passes,
            "interval95": [choice.lower, choice.upper],
            "fallback": choice.fallback,
        }
    return {
        "run": str(run.path),
        "nodes": totals["nodes"],
        "valid_nodes": totals["valid_nodes"],
        "evaluations": totals["evaluations"],
        "expansions": totals["expansions"],
        "llm_calls": totals["llm_calls"],
        # Every dollar is an LLM call, including calls of work that was in flight when a run
        # was killed (redone on resume, but spent all the same).
        "cost_usd": round(float(totals["llm_cost_usd"]), 6),
        "best": best,
    }


def tree_rows(run: Run) -> list[TreeRow]:
    """Every node in depth-first order (children by id), with its own and clade results."""
    snap = run.tree_stats().snapshot()
    choice = best_choice(run)
    nodes = run.nodes()
    children: dict[int | None, list[Node]] = {}
    for n in nodes:
        children.setdefault(n.parent, []).append(n)
    rows: list[TreeRow] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        n = stack.pop()
        rows.append(_row(n, snap, choice))
        stack.extend(reversed(children.get(n.id, [])))
    return rows


def _row(n: Node, snap, choice: FinalChoice | None) -> TreeRow:
    cp, cf = int(snap.clade_pass[n.id]), int(snap.clade_fail[n.id])
    cmp = lo = hi = None
    if cp + cf:
        cmp = cp / (cp + cf)
        lo, hi = beta_interval(cp, cf)
    return TreeRow(
        node=n.id,
        parent=n.parent,
        depth=int(snap.depth[n.id]),
        kind=str(n.kind),
        status=str(n.status),
        passes=int(snap.own_pass[n.id]),
        evals=int(snap.own_pass[n.id] + snap.own_fail[n.id]),
        cmp=cmp,
        cmp_lower=lo,
        cmp_upper=hi,
        best=choice is not None and choice.node == n.id,
        proposal=n.proposal,
    )


def node_detail(run: Run, node_id: int) -> dict:
    """Everything `hgm show` prints about one node."""
    node = run.node(node_id)
    row = next(r for r in tree_rows(run) if r.node == node_id)
    evals = run.evaluations(node_id)
    calls = run.llm_calls(node_id)
    children = [n.id for n in run.nodes() if n.parent == node_id]
    return {
        "node": node.id,
        "parent": node.parent,
        "commit": node.commit,
        "kind": str(node.kind),
        "status": str(node.status),
        "reason": node.reason,
        "proposal": node.proposal,
        "children": children,
        "own": {"passes": row.passes, "evals": row.evals},
        "cmp": {"rate": row.cmp, "interval95": [row.cmp_lower, row.cmp_upper]},
        "evaluations": [
            {
                "id": e.id,
                "task": e.task,
                "outcome": str(e.outcome),
                "duration_s": e.duration_s,
                "cost_usd": e.cost_usd,
                "trajectory": e.trajectory,
                "test_log": e.test_log,
                "reason": e.reason,
            }
            for e in evals
        ],
        "llm_calls": {"count": len(calls), "cost_usd": float(sum(c["cost_usd"] for c in calls))},
        "meta": node.meta,
    }


def choice_dict(choice: FinalChoice) -> dict:
    d = asdict(choice)
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in d.items()}
