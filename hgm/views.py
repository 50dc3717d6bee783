"""Read-only views of a run: the data behind `hgm status`, `tree`, `show` and `best`.

Each function takes an open :class:`~hgm.archive.Run` and returns plain typed data; the CLI
renders it as rich text or JSON, and the web page can use the same functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hgm.archive import ArchiveError, Run
from hgm.search.final import FinalChoice, PassRates, clade_pass_rate, final_agent
from hgm.session import SESSION_EVENTS, sessions
from hgm.types import Node

DEFAULT_FINAL_MIN_EVALS = 5


class ViewError(Exception):
    """A view cannot be shown (no such node, ...); the message is one line for the user."""


@dataclass(frozen=True)
class TreeRow:
    """One node as the tree view shows it.

    ``cmp`` is the posterior mean of the clade pass rate, ``(1 + passes) / (2 + evals)`` of
    the clade's pooled results, so it always lies inside its own 95% credible interval
    ``[cmp_lower, cmp_upper]``; ``clade_passes / clade_evals`` are the raw counts.
    """

    node: int
    parent: int | None
    depth: int
    kind: str
    status: str
    passes: int
    evals: int
    clade_passes: int
    clade_evals: int
    cmp: float | None
    cmp_lower: float | None
    cmp_upper: float | None
    best: bool
    proposal: str


def final_min_evals(run: Run) -> int:
    """The run's ``final_min_evals`` (at least 1: a node never evaluated is never best)."""
    config = run.config if isinstance(run.config, dict) else {}
    try:
        return max(1, int(config.get("final_min_evals", DEFAULT_FINAL_MIN_EVALS)))
    except (TypeError, ValueError):
        return DEFAULT_FINAL_MIN_EVALS


def best_choice(run: Run, min_evals: int | None = None) -> FinalChoice | None:
    """The run's final agent under the best-belief rule (see hgm.search.final).

    The answer may be a fallback (``choice.fallback``): no node has ``min_evals`` evaluations
    yet and this is merely the best-looking of the evaluated ones. Use :func:`qualified_best` for the agent
    that may be called best.
    """
    min_evals = final_min_evals(run) if min_evals is None else max(1, int(min_evals))
    return final_agent(run.tree_stats().snapshot(), min_evals=min_evals)


def qualified_best(run: Run, min_evals: int | None = None) -> FinalChoice:
    """The best agent by the best-belief rule; :class:`ViewError` when no node qualifies yet."""
    need = final_min_evals(run) if min_evals is None else max(1, int(min_evals))
    choice = best_choice(run, need)
    if choice is not None and not choice.fallback:
        return choice
    raise ViewError(no_best_reason(choice, need))


def no_best_reason(candidate: FinalChoice | None, min_evals: int) -> str:
    """Why no node is best yet, with how far the closest candidate is from qualifying."""
    need = f"no node has the {min_evals} evaluation{'s' if min_evals != 1 else ''} the best-belief rule needs"
    if candidate is None:
        return f"{need}: the run has no valid node"
    if candidate.evals == 0:
        return f"{need}: no valid node has been evaluated yet"
    return (
        f"{need}: the leading candidate, node {candidate.node}, has {candidate.evals} "
        f"({candidate.passes} passed); let the run go on, or lower --min-evals"
    )


def _choice_summary(choice: FinalChoice) -> dict:
    return {
        "node": choice.node,
        "pass_rate": choice.pass_rate,
        "evals": choice.evals,
        "passes": choice.passes,
        "interval95": [choice.lower, choice.upper],
    }


def pricing(config: dict) -> str:
    """How the run's dollars were counted, in words (docs/models.md): the same --max-usd
    means the same thing for every backend only if a user can see which pricing applied."""
    from urllib.parse import parse_qsl

    model = str(config.get("model") or "")
    params = dict(parse_qsl(model.partition("?")[2]))
    if model.startswith("scripted:"):
        return "scripted: each call costs what the script says"
    given = (config.get("input_cost_per_1m"), config.get("output_cost_per_1m"))
    if None not in given:
        return f"${given[0]:g} in / ${given[1]:g} out per million tokens (config)"
    if "usd_per_gpu_hour" in params:
        return f"${params['usd_per_gpu_hour']} per GPU hour of the model's device time (model string)"
    per_million = (params.get("input_cost_per_1m"), params.get("output_cost_per_1m"))
    if None not in per_million:
        return f"${per_million[0]} in / ${per_million[1]} out per million tokens (model string)"
    if "input_cost_per_token" in params:
        return f"${params['input_cost_per_token']} in / ${params.get('output_cost_per_token')} out per token (model string)"
    if config.get("allow_free"):
        return "free: calls to a model without a known price count $0 (--allow-free)"
    if model.startswith(("hf:", "vllm:")):
        return "no price: tokens recorded, $0 counted"
    return "litellm's price table for the model"


def run_status(run: Run) -> dict:
    """Counts, spend and the current best agent, in the shape of `hgm status --json`.

    ``best`` is null until a node has ``final_min_evals`` evaluations; meanwhile
    ``best_candidate`` is the fallback choice of the rule: the best-looking evaluated
    valid node (null when there is no valid node).
    """
    totals = run.totals()
    need = final_min_evals(run)
    choice = best_choice(run, need)
    qualified = choice is not None and not choice.fallback
    return {
        "run": str(run.path),
        "nodes": totals["nodes"],
        "valid_nodes": totals["valid_nodes"],
        "evaluations": totals["evaluations"],
        "expansions": totals["expansions"],
        "llm_calls": totals["llm_calls"],
        "model": run.config.get("model"),
        "pricing": pricing(run.config),
        # Every dollar is an LLM call, including calls of work that was in flight when a run
        # was killed (redone on resume, but spent all the same).
        "cost_usd": round(float(totals["llm_cost_usd"]), 6),
        "best": _choice_summary(choice) if qualified else None,
        "best_candidate": _choice_summary(choice) if choice is not None and not qualified else None,
        "final_min_evals": need,
        # -- sessions (hgm run / --resume), from their events: see hgm.session ------------
        "sessions": sessions(run.events(SESSION_EVENTS)),
    }


def tree_rows(run: Run) -> list[TreeRow]:
    """Every node in depth-first order (children by id), with its own and clade results."""
    snap = run.tree_stats().snapshot()
    choice = best_choice(run)
    best = None if choice is None or choice.fallback else choice.node
    cmp = clade_pass_rate(snap)
    nodes = run.nodes()
    children: dict[int | None, list[Node]] = {}
    for n in nodes:
        children.setdefault(n.parent, []).append(n)
    rows: list[TreeRow] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        n = stack.pop()
        rows.append(_row(n, snap, cmp, best))
        stack.extend(reversed(children.get(n.id, [])))
    return rows


def _row(n: Node, snap, cmp: PassRates, best: int | None) -> TreeRow:
    evaluated = bool(cmp.evals[n.id])
    return TreeRow(
        node=n.id,
        parent=n.parent,
        depth=int(snap.depth[n.id]),
        kind=str(n.kind),
        status=str(n.status),
        passes=int(snap.own_pass[n.id]),
        evals=int(snap.own_pass[n.id] + snap.own_fail[n.id]),
        clade_passes=int(cmp.passes[n.id]),
        clade_evals=int(cmp.evals[n.id]),
        cmp=float(cmp.mean[n.id]) if evaluated else None,
        cmp_lower=float(cmp.lower[n.id]) if evaluated else None,
        cmp_upper=float(cmp.upper[n.id]) if evaluated else None,
        best=best == n.id,
        proposal=n.proposal,
    )


def node_detail(run: Run, node_id: int) -> dict:
    """Everything `hgm show` prints about one node; :class:`ViewError` when there is none."""
    node = require_node(run, node_id)
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
        # rate: the posterior mean, inside its interval (see TreeRow)
        "cmp": {
            "rate": row.cmp, "interval95": [row.cmp_lower, row.cmp_upper],
            "passes": row.clade_passes, "evals": row.clade_evals,
        },
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
        "llm_calls": {"count": len(calls), "cost_usd": float(sum(c["cost_usd"] for c in calls)),
                      "pricing": pricing(run.config)},
        "meta": node.meta,
    }


def require_node(run: Run, node_id: int) -> Node:
    """Node ``node_id`` of ``run``, or a :class:`ViewError` naming the run and the node."""
    try:
        return run.node(node_id)
    except ArchiveError:
        raise ViewError(f"run {run.path} has no node {node_id}") from None


def node_diff(run: Run, node_id: int, against: str = "parent") -> dict:
    """The git diff that turns the base (``parent``, ``root`` or a node id) into ``node_id``."""
    target = require_node(run, node_id)
    if against == "parent":
        base = target.parent if target.parent is not None else target.id
    elif against == "root":
        base = 0
    elif against.isdigit():
        base = require_node(run, int(against)).id
    else:
        raise ViewError(f"--against must be parent, root or a node id, not {against!r}")
    return {"node": target.id, "against": base, "diff": run.diff(target.id, base)}


def choice_dict(choice: FinalChoice) -> dict:
    d = asdict(choice)
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in d.items()}
