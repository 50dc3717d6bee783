"""Latency of the HGM scheduler: one decision, and one recorded evaluation, on large trees.

Builds a realistic tree with :class:`hgm.search.tree.TreeStats` (the same calls the driver
makes), then times:

* ``decide()`` of the HGM policy on its snapshot, for the evaluation branch (the default
  alpha on this tree, screening off so that Thompson sampling over every node with a
  task left is timed, not the cheaper screening step) and for the expansion branch
  (alpha = 1, so the widening rule expands; with screening, over the screened nodes, and
  without, over every valid node); the reported ``decision_ms_median`` is the largest of
  the three medians;
* ``record_eval()`` on fresh leaves hung at several depths (the O(depth) walk up the
  ancestors is the whole cost); ``--json`` reports the deepest, ``depth`` being the leaf's.

The tree: a random recursive tree in which a new node extends the newest lineage with
probability 0.3 and otherwise picks a uniformly random parent; the last 1% of the nodes
form one long lineage (a run of successive improvements), so the deepest node is at depth
about n/100. One node in ten is invalid. Each valid node's quality drifts from its
parent's; about 10% of nodes are fresh (no evaluations) and the rest have a geometric
number of evaluations (mean 6, at most ``N_TASKS`` = 100), with 1% heavily evaluated.
Decisions are timed 200 times on one snapshot (the generator advancing), updates 300
times per depth; medians are reported. Timings on a shared machine vary with its load.

JSON keys (``--json``, one object per line, one line with ``--nodes``): ``nodes``,
``decision_ms_median`` (the largest of the three decision medians), ``update_ms_median``
(at the deepest leaf) and ``depth`` (that leaf's).

    python benchmarks/scheduler.py                  # sweep 1k, 10k, 100k nodes
    python benchmarks/scheduler.py --nodes 10000 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hgm.search.hgm import HGMPolicy  # noqa: E402
from hgm.search.sampling import thompson_argmax  # noqa: E402
from hgm.search.tree import TreeStats  # noqa: E402
from hgm.types import Outcome  # noqa: E402

N_TASKS = 100


def build_tree(n_nodes: int, seed: int = 0) -> TreeStats:
    """A tree of ``n_nodes`` nodes with evaluations spread over them (see module docstring)."""
    rng = np.random.default_rng(seed)
    stats = TreeStats(N_TASKS, capacity=n_nodes + 64)
    quality = np.empty(n_nodes)
    stats.add_node(None)
    quality[0] = 0.3
    chain_start = n_nodes - n_nodes // 100  # the last 1% extend one long lineage
    for i in range(1, n_nodes):
        extend = i >= chain_start or rng.random() < 0.3
        parent = i - 1 if extend else int(rng.integers(i))
        stats.add_node(parent, valid=i >= chain_start or bool(rng.random() >= 0.1))
        quality[i] = np.clip(quality[parent] + rng.normal(0.0, 0.05), 0.01, 0.99)
    snap = stats.snapshot()
    n_evals = np.minimum(rng.geometric(1 / 6, n_nodes), N_TASKS)
    n_evals[rng.random(n_nodes) < 0.1] = 0
    heavy = rng.random(n_nodes) < 0.01
    n_evals[heavy] = rng.integers(30, N_TASKS + 1, int(heavy.sum()))
    for i in np.flatnonzero(snap.valid):
        for ok in rng.random(n_evals[i]) < quality[i]:
            task = stats.take_task(int(i))
            stats.record_eval(int(i), task, Outcome.PASS if ok else Outcome.FAIL)
    return stats


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
    return float(np.median(times)) / 1e6


def decision_latency(stats: TreeStats, repeat: int = 200) -> dict[str, float]:
    """Median decide() time per branch (evaluate, expand), and of the naive sampler."""
    stats.evals_left = 10**9  # a --max-evals budget: the expand branch checks it too
    snap = stats.snapshot()
    rng = np.random.default_rng(1)
    out = {}
    branches = (
        ("evaluate", HGMPolicy(screen=0)),
        ("expand", HGMPolicy(alpha=1.0)),
        ("expand_unscreened", HGMPolicy(alpha=1.0, screen=0)),
    )
    for branch, policy in branches:
        kind = type(policy.decide(snap, rng)).__name__.lower()
        if not branch.startswith(kind):
            raise RuntimeError(f"expected the {branch} branch, policy chose {kind}")
        out[branch] = _median_ms(lambda p=policy: p.decide(snap, rng), repeat)
    idx = np.flatnonzero(snap.valid)
    cp, cf = snap.clade_pass[idx], snap.clade_fail[idx]
    out["naive_expand"] = _median_ms(
        lambda: thompson_argmax(cp, cf, rng, method="direct"), max(repeat // 4, 5)
    )
    return out


def update_latency(stats: TreeStats, node: int, repeat: int = 300) -> tuple[float, int]:
    """Median record_eval() time at fresh leaves under ``node``, and the leaves' depth."""
    times: list[int] = []
    leaf = -1
    while len(times) < repeat:
        if leaf < 0 or stats.snapshot().next_task[leaf] < 0:
            leaf = stats.add_node(node)
        task = stats.take_task(leaf)
        t0 = time.perf_counter_ns()
        stats.record_eval(leaf, task, Outcome.PASS if len(times) % 2 else Outcome.FAIL)
        times.append(time.perf_counter_ns() - t0)
    return float(np.median(times)) / 1e6, int(stats.snapshot().depth[leaf])


def update_curve(stats: TreeStats) -> list[tuple[int, float]]:
    """(depth, median record_eval ms) at depths 1, 10, 100, ... up to the deepest node."""
    depth = stats.snapshot().depth
    targets = [d for d in (0, 9, 99, 999, 9999) if d < depth.max()] + [int(depth.max())]
    out = []
    for d in targets:
        ms, leaf_depth = update_latency(stats, int(np.argmax(depth >= d)))
        out.append((leaf_depth, ms))
    return out


def measure(n_nodes: int) -> dict:
    """Everything the script prints, for one tree size."""
    stats = build_tree(n_nodes)
    info = {"evals": stats.evals_done, "max_depth": int(stats.snapshot().depth.max())}
    decide = decision_latency(stats)
    curve = update_curve(stats)  # after decide: it adds leaves to the tree
    return {"decide": decide, "curve": curve, **info}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, help="tree size (default: sweep 1k, 10k, 100k)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per size")
    args = parser.parse_args(argv)
    for n in [args.nodes] if args.nodes else [1_000, 10_000, 100_000]:
        r = measure(n)
        d = r["decide"]
        depth, update_ms = r["curve"][-1]  # the deepest leaf
        if args.json:
            record = {
                "nodes": n,
                "decision_ms_median": round(
                    max(d["evaluate"], d["expand"], d["expand_unscreened"]), 4
                ),
                "update_ms_median": round(update_ms, 4),
                "depth": depth,
            }
            print(json.dumps(record))
            continue
        curve = ", ".join(f"depth {k}: {ms * 1e3:.1f} us" for k, ms in r["curve"])
        print(
            f"{n:>7} nodes ({r['evals']} evaluations, max depth {r['max_depth']}):\n"
            f"  decide median: {d['evaluate']:.3f} ms (evaluate), {d['expand']:.3f} ms (expand),"
            f" {d['expand_unscreened']:.3f} ms (expand, no screening);"
            f" one rng.beta per node instead: {d['naive_expand']:.3f} ms\n"
            f"  record_eval median: {curve}"
        )


if __name__ == "__main__":
    main()
