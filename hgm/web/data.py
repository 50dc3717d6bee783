"""What the web page shows, as JSON-ready data: one function per API endpoint.

Each function takes an open read-only :class:`~hgm.archive.Run` and reuses the views the
CLI prints (:mod:`hgm.views`, :mod:`hgm.logs`, :mod:`hgm.search.final`). Text from a run is
passed on as text; the page renders it with ``textContent``, never as HTML.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np

from hgm.archive import Run
from hgm.logs import MAX_CALLS, eval_log, summarise_call
from hgm.search.final import clade_pass_rate, final_agent, own_pass_rate
from hgm.session import SESSION_EVENTS, sessions
from hgm.views import ViewError, final_min_evals, require_node

TEXT_IN_TREE = 200  # characters of each proposal sent with the tree (for search and tooltips)
SERIES_POINTS = 80  # samples of the best-belief curve


@dataclass(frozen=True)
class Version:
    """The highest row ids of a run: the page polls this to learn whether anything changed."""

    nodes: int
    evaluations: int
    expansions: int
    events: int
    llm_calls: int


def version(run: Run) -> Version:
    """A cheap "what changed since" query: five indexed MAX(id) lookups."""
    row = run.query(
        "SELECT (SELECT COALESCE(MAX(id), -1) FROM nodes) AS nodes,"
        " (SELECT COALESCE(MAX(id), 0) FROM evaluations) AS evaluations,"
        " (SELECT COALESCE(MAX(id), 0) FROM expansions) AS expansions,"
        " (SELECT COALESCE(MAX(id), 0) FROM events) AS events,"
        " (SELECT COALESCE(MAX(id), 0) FROM llm_calls) AS llm_calls"
    )[0]
    return Version(**{k: int(v) for k, v in row.items()})


@dataclass(frozen=True)
class Counts:
    """Per-node result counts (arrays indexed by node id), straight from SQL: the fields
    :func:`~hgm.search.final.final_agent` and the pass-rate helpers read from a snapshot.

    Replaying the search statistics (``Run.tree_stats``) takes most of a second at 10,000
    nodes; the page needs only counts, which a few aggregate queries give at once.
    """

    parent: np.ndarray
    valid: np.ndarray
    own_pass: np.ndarray
    own_fail: np.ndarray
    clade_pass: np.ndarray
    clade_fail: np.ndarray
    failed_children: np.ndarray


def counts(run: Run, nodes: list[tuple] | None = None) -> Counts:
    """Own and clade results of every node, and failed expansions per parent. ``nodes``: the
    run's node rows starting (id, parent, status), in id order, when the caller has them."""
    if nodes is None:
        nodes = run.query_tuples("SELECT id, parent, status FROM nodes ORDER BY id")
    n = len(nodes)
    parents = [-1 if r[1] is None else r[1] for r in nodes]
    own_pass, own_fail, failed = [0] * n, [0] * n, [0] * n
    for node, p, f in run.query_tuples("SELECT node, SUM(outcome = 'pass'), SUM(outcome = 'fail')"
                                       " FROM evaluations GROUP BY node"):
        own_pass[node], own_fail[node] = p, f
    for parent, k in run.query_tuples("SELECT parent, COUNT(*) FROM expansions WHERE status = 'failed'"
                                      " GROUP BY parent"):
        failed[parent] = k
    clade_pass, clade_fail = own_pass[:], own_fail[:]
    # A child's id is always above its parent's, so one pass from the last id down pools
    # every clade (plain lists: numpy's per-element access would be slower here).
    for i in range(n - 1, 0, -1):
        p = parents[i]
        if p >= 0:
            clade_pass[p] += clade_pass[i]
            clade_fail[p] += clade_fail[i]
    as_array = lambda xs: np.asarray(xs, dtype=np.int64)  # noqa: E731
    return Counts(as_array(parents), np.array([r[2] == "valid" for r in nodes], dtype=bool),
                  as_array(own_pass), as_array(own_fail), as_array(clade_pass), as_array(clade_fail),
                  as_array(failed))


def num(x: float | None, digits: int = 4) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


def run_state(run: Run) -> dict:
    """running / finished / stopped (with the reason) / killed, from the run's session events."""
    if isinstance(run.config, dict) and run.config.get("simulator"):
        return {"state": "simulated", "reason": None}
    found = sessions(run.events(SESSION_EVENTS))
    if not found:
        return {"state": "created", "reason": None}
    last = found[-1]
    if last["stop_kind"] is None:
        alive = last["pid"] is not None and _pid_alive(int(last["pid"]))
        return {"state": "running" if alive else "killed", "reason": None if alive else "driver gone"}
    finished = last["stop_kind"] == "finished"
    return {"state": "finished" if finished else "stopped", "reason": last["stop_reason"]}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def busy(run: Run) -> list[dict]:
    """The nodes being expanded or evaluated right now, on a running run: those whose LLM
    calls of this session belong to a job with no record yet (the archive records a job when
    it ends; a job that has made no LLM call yet is not seen)."""
    state = sessions(run.events(SESSION_EVENTS))
    if run_state(run)["state"] != "running" or not state:
        return []
    since = state[-1]["started_at"]
    scopes = run.query_tuples("SELECT scope_kind, scope_id, node, MAX(created_at) FROM llm_calls"
                              " WHERE created_at >= ? AND node IS NOT NULL GROUP BY scope_id, scope_kind", (since,))
    evaluated = {ref for (ref,) in run.query_tuples(
        "SELECT json_extract(data, '$.ref') FROM events WHERE kind = 'evaluation' AND created_at >= ?", (since,))}
    expanded = dict(run.query_tuples("SELECT parent, MAX(finished_at) FROM expansions WHERE finished_at >= ?"
                                     " GROUP BY parent", (since,)))
    found: dict[tuple[int, str], None] = {}
    for kind, ref, node, last in scopes:
        if kind == "evaluation" and ref not in evaluated:
            found[(node, "evaluation")] = None
        elif kind in ("expansion", "diagnosis") and expanded.get(node, 0) < last:
            found[(node, "expansion")] = None
    return [{"node": node, "kind": kind} for node, kind in found]


def run_summary(run_id: str, run: Run) -> dict:
    """One row of the runs page."""
    totals = run.totals()
    config = run.config if isinstance(run.config, dict) else {}
    snap = counts(run)
    choice = final_agent(snap, min_evals=final_min_evals(run))  # type: ignore[arg-type]
    first_last = run.query("SELECT MIN(created_at) AS a, MAX(created_at) AS b FROM evaluations")[0]
    created = run.query("SELECT created_at FROM nodes WHERE id = 0")
    start = created[0]["created_at"] if created else None
    end = first_last["b"]
    sim = config.get("simulator")
    return {
        "id": run_id,
        "policy": str(config.get("policy") or (sim or {}).get("policy") or "?"),
        "model": str(config.get("model") or ("simulator" if sim else "?")),
        "benchmark": str(config.get("benchmark") or ("simulated" if sim else "?")),
        "nodes": totals["nodes"],
        "valid_nodes": totals["valid_nodes"],
        "evaluations": sum(totals["evaluations"].values()),
        "outcomes": totals["evaluations"],
        "failed_expansions": int(snap.failed_children.sum()),
        "cost_usd": num(totals["llm_cost_usd"], 6),
        "hours": num((end - start) / 3600 if start is not None and end is not None else 0.0),
        "best": None if choice is None else {
            "node": choice.node, "pass_rate": num(choice.pass_rate), "passes": choice.passes,
            "evals": choice.evals, "interval95": [num(choice.lower), num(choice.upper)],
            "qualified": not choice.fallback,
        },
        "min_evals": final_min_evals(run),
        **run_state(run),
        "version": asdict(version(run)),
    }


def tree(run: Run) -> dict:
    """Every node as parallel arrays (compact at 10,000 nodes), with own and clade counts,
    CMP with its interval, failed expansions per node and the best-belief node."""
    rows = run.query_tuples("SELECT id, parent, status, kind, substr(proposal, 1, ?) FROM nodes ORDER BY id",
                            (TEXT_IN_TREE,))
    snap = counts(run, rows)
    choice = final_agent(snap, min_evals=final_min_evals(run))  # type: ignore[arg-type]
    clade_evals = snap.clade_pass + snap.clade_fail
    # CMP as hgm tree shows it: the posterior mean (PassRates.mean); the intervals, which
    # take a fifth of this view's time at 10,000 nodes, are left to the node panel.
    cmp = np.where(clade_evals > 0, np.round((1.0 + snap.clade_pass) / (2.0 + clade_evals), 4), -1)
    return {
        "version": asdict(version(run)),
        "tasks": len(run.task_ids),
        "best": None if choice is None or choice.fallback else choice.node,
        "candidate": None if choice is None else choice.node,
        "id": [r[0] for r in rows],
        "parent": snap.parent.tolist(),
        "kind": [r[3] for r in rows],
        "valid": snap.valid.astype(int).tolist(),
        "passes": snap.own_pass.tolist(),
        "evals": (snap.own_pass + snap.own_fail).tolist(),
        "clade_passes": snap.clade_pass.tolist(),
        "clade_evals": clade_evals.tolist(),
        "cmp": cmp.tolist(),
        "failed": snap.failed_children.tolist(),
        "text": [r[4] for r in rows],
        "busy": busy(run),
    }


def node(run: Run, node_id: int, snap: Counts | None = None) -> dict:
    """The node panel: proposal, own and clade rates with intervals, results per task,
    LLM calls, skills added and children. ``snap``: the run's counts, when already made."""
    n = require_node(run, node_id)
    snap = counts(run) if snap is None else snap
    own, clade = own_pass_rate(snap), clade_pass_rate(snap)  # type: ignore[arg-type]
    evals = run.evaluations(n.id)
    calls = run.llm_calls(n.id)
    expansion = run.query("SELECT problem_statement, reason, cost_usd FROM expansions WHERE child = ?", (n.id,))
    failed = run.query("SELECT id, problem_statement, reason, cost_usd FROM expansions"
                       " WHERE parent = ? AND status = 'failed' ORDER BY id", (n.id,))
    children = run.query("SELECT id, kind, status, substr(proposal, 1, 120) AS text FROM nodes"
                         " WHERE parent = ? ORDER BY id", (n.id,))
    return {
        "node": n.id, "parent": n.parent, "commit": n.commit, "kind": str(n.kind),
        "status": str(n.status), "reason": n.reason, "proposal": n.proposal,
        "cost_usd": num(n.cost_usd, 6), "created_at": n.created_at, "meta": n.meta,
        "expansion": expansion[0] if expansion else None,
        "own": _rate(own, n.id), "clade": _rate(clade, n.id),
        "evaluations": [
            {"id": e.id, "task": e.task, "outcome": str(e.outcome), "duration_s": num(e.duration_s, 2),
             "cost_usd": num(e.cost_usd, 6), "reason": e.reason,
             "has_trajectory": bool(e.trajectory), "has_test_log": bool(e.test_log)}
            for e in evals
        ],
        "llm_calls": [asdict(summarise_call(c)) for c in calls[-MAX_CALLS:]],
        "llm_calls_total": {"count": len(calls), "cost_usd": num(sum(c["cost_usd"] for c in calls), 6),
                            "prompt_tokens": sum(c["prompt_tokens"] for c in calls),
                            "completion_tokens": sum(c["completion_tokens"] for c in calls)},
        "failed_expansions": failed,
        "children": children,
        "skills": node_skills(run, n.id),
    }


def _rate(rates, i: int) -> dict:
    return {"passes": int(rates.passes[i]), "evals": int(rates.evals[i]),
            "mean": num(rates.mean[i]), "interval95": [num(rates.lower[i]), num(rates.upper[i])]}


def node_skills(run: Run, node_id: int) -> list[dict]:
    """The skills first recorded at this node (the skill index, when the run has one)."""
    rows = run.query("SELECT id, name, description, path, content_hash FROM skills WHERE node = ? ORDER BY id",
                     (node_id,))
    return rows


def evaluation(run: Run, evaluation_id: int) -> dict:
    """One evaluation's trajectory (readable entries, long outputs folded) and test log."""
    rows = run.query("SELECT node FROM evaluations WHERE id = ?", (int(evaluation_id),))
    if not rows:
        raise ViewError(f"run {run.path} has no evaluation {evaluation_id}")
    found = next(e for e in run.evaluations(rows[0]["node"]) if e.id == int(evaluation_id))
    log = eval_log(run, found)
    return {
        "id": found.id, "node": found.node, "task": found.task, "outcome": str(found.outcome),
        "reason": found.reason, "duration_s": num(found.duration_s, 2),
        "header": [list(h) for h in log.header],
        "entries": [asdict(e) for e in log.entries],
        "test_log": log.test_log,
        "notes": log.notes,
    }


def artifact_ref(run: Run, evaluation_id: int, which: str) -> str:
    """The recorded artifact ref of an evaluation's ``trajectory`` or ``test_log``."""
    if which not in ("trajectory", "test_log"):
        raise ViewError(f"no artifact {which!r}")
    rows = run.query(f"SELECT {which} AS ref FROM evaluations WHERE id = ?", (int(evaluation_id),))
    if not rows or not rows[0]["ref"]:
        raise ViewError(f"evaluation {evaluation_id} has no {which}")
    return rows[0]["ref"]

