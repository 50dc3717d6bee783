"""The plots' data: the best-belief agent over the run, growth of the tree, cost by kind,
and the compare page's per-task matrix of several runs' best agents."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hgm.archive import Run
from hgm.search.final import final_agent
from hgm.views import final_min_evals
from hgm.web.data import SERIES_POINTS, num

GROWTH_POINTS = 200


@dataclass(frozen=True)
class _Counts:
    """The three arrays :func:`~hgm.search.final.final_agent` reads from a snapshot, for a
    prefix of the run's evaluations (the rule is applied as the run would have at that time)."""

    valid: np.ndarray
    own_pass: np.ndarray
    own_fail: np.ndarray


def _samples(n: int, points: int) -> list[int]:
    """Up to ``points`` prefix lengths in 1..n, evenly spread, always ending at n."""
    if n <= 0:
        return []
    return sorted({int(round(x)) for x in np.linspace(1, n, min(points, n))})


def best_series(run: Run) -> list[dict]:
    """The best-belief agent after each sampled prefix of evaluations: its pass rate with its
    interval, against evaluations, dollars and hours since the run began."""
    nodes = run.query("SELECT id, status, created_at FROM nodes ORDER BY id")
    evals = run.query("SELECT node, outcome, created_at FROM evaluations ORDER BY id")
    if not nodes or not evals:
        return []
    start = nodes[0]["created_at"]
    node_of = np.array([e["node"] for e in evals], dtype=np.int64)
    outcome = np.array([e["outcome"] for e in evals])
    times = np.array([e["created_at"] for e in evals], dtype=np.float64)
    created = np.array([n["created_at"] for n in nodes], dtype=np.float64)
    valid_all = np.array([n["status"] == "valid" for n in nodes])
    dollars = _dollars_at(run, times)
    need, size = final_min_evals(run), len(nodes)
    out = []
    for k in _samples(len(evals), SERIES_POINTS):
        t = times[k - 1]
        passes = np.bincount(node_of[:k][outcome[:k] == "pass"], minlength=size)[:size]
        fails = np.bincount(node_of[:k][outcome[:k] == "fail"], minlength=size)[:size]
        valid = valid_all & (created <= t)
        choice = final_agent(_Counts(valid, passes, fails), min_evals=need)  # type: ignore[arg-type]
        if choice is None:
            continue
        out.append({
            "evaluations": k, "dollars": num(dollars[k - 1], 6), "hours": num((t - start) / 3600, 5),
            "node": choice.node, "rate": num(choice.pass_rate), "lower": num(choice.lower),
            "upper": num(choice.upper), "qualified": not choice.fallback,
        })
    return out


def _dollars_at(run: Run, times: np.ndarray) -> np.ndarray:
    """Dollars spent on LLM calls up to each of ``times``."""
    calls = run.query("SELECT created_at, cost_usd FROM llm_calls ORDER BY created_at")
    if not calls:
        return np.zeros(len(times))
    at = np.array([c["created_at"] for c in calls], dtype=np.float64)
    cumulative = np.cumsum([c["cost_usd"] for c in calls])
    idx = np.searchsorted(at, times, side="right")
    return np.where(idx > 0, cumulative[np.maximum(idx - 1, 0)], 0.0)


def growth(run: Run) -> dict:
    """Nodes (valid and invalid) and failed expansions against hours since the run began."""
    nodes = run.query("SELECT status, created_at FROM nodes ORDER BY created_at")
    failed = run.query("SELECT finished_at FROM expansions WHERE status = 'failed' ORDER BY finished_at")
    if not nodes:
        return {"nodes": [], "invalid": [], "failed": []}
    start = nodes[0]["created_at"]

    def curve(stamps: list[float]) -> list[list[float]]:
        return [[num((stamps[k - 1] - start) / 3600, 5), k] for k in _samples(len(stamps), GROWTH_POINTS)]

    return {
        "nodes": curve([n["created_at"] for n in nodes]),
        "invalid": curve([n["created_at"] for n in nodes if n["status"] == "invalid"]),
        "failed": curve([f["finished_at"] for f in failed]),
    }


def cost_by_kind(run: Run) -> list[dict]:
    """Dollars, calls and tokens of the run's LLM calls by scope (expansion, evaluation,
    diagnosis, ...)."""
    rows = run.query(
        "SELECT scope_kind AS kind, COUNT(*) AS calls, SUM(cost_usd) AS cost_usd,"
        " SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens"
        " FROM llm_calls GROUP BY scope_kind ORDER BY scope_kind"
    )
    return [r | {"cost_usd": num(r["cost_usd"], 6)} for r in rows]


def plots(run: Run) -> dict:
    """Everything the plots view draws for one run."""
    return {"best": best_series(run), "growth": growth(run), "cost": cost_by_kind(run)}


def task_matrix(runs: dict[str, Run], best_nodes: dict[str, int | None]) -> dict:
    """Per task, each run's best agent's passes and evaluations (the compare page's matrix)."""
    columns: dict[str, dict[str, list[int]]] = {}
    tasks: dict[str, None] = {}
    for run_id, run in runs.items():
        node = best_nodes.get(run_id)
        cell: dict[str, list[int]] = {}
        if node is not None:
            rows = run.query("SELECT task_id, SUM(outcome = 'pass') AS p, SUM(outcome != 'error') AS n"
                             " FROM evaluations WHERE node = ? GROUP BY task_id", (node,))
            cell = {r["task_id"]: [int(r["p"]), int(r["n"])] for r in rows}
        for t in run.task_ids:
            tasks.setdefault(t)
        columns[run_id] = cell
    return {"tasks": list(tasks), "runs": list(runs), "cells": columns}
