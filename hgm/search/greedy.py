"""Greedy baseline: evaluate every node a fixed number of times, expand the best mean.

Evaluation comes first: while some valid node has fewer than ``evals_per_node`` evaluations
done or dispatched (capped at the number of tasks) and a task left, the lowest such id is
evaluated. Otherwise the parent is the valid node with the highest own pass rate among
those whose evaluations are complete; equal rates are broken uniformly at random with the
given generator (always taking the lowest id would pin the search to the root whenever the
first few nodes tie). Nodes whose evaluations are still running are not parents yet.

The default ``evals_per_node = 12`` was chosen in the policy simulator on seeds 1000-1199 by
the procedure that chose HGM's defaults (docs/simulator.md has the sweep); the random
baseline keeps 5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hgm.search import Action, Expand
from hgm.search.common import evaluated_nodes, owed_evaluation, wait_or_stop
from hgm.search.tree import Snapshot


@dataclass(frozen=True)
class QuotaPolicy:
    """Evaluate every valid node up to a quota first, then expand a parent that ``choose`` picks.

    Parameters:
        evals_per_node: evaluations every valid node (the root too) receives before it can
            be a parent; capped at the number of tasks.
    """

    evals_per_node: int = 5

    def __post_init__(self) -> None:
        if self.evals_per_node < 0:
            raise ValueError(f"evals_per_node must be >= 0, got {self.evals_per_node}")

    def decide(self, snap: Snapshot, rng: np.random.Generator) -> Action:
        quota = min(self.evals_per_node, snap.n_tasks)
        owed = owed_evaluation(snap, quota)
        if owed is not None:
            return owed
        parents = evaluated_nodes(snap, quota)
        if parents.size == 0:
            return wait_or_stop(snap, "no valid node to expand")
        return Expand(self.choose(snap, parents, rng))

    def choose(self, snap: Snapshot, parents: np.ndarray, rng: np.random.Generator) -> int:
        raise NotImplementedError


@dataclass(frozen=True)
class GreedyPolicy(QuotaPolicy):
    """Best-own-mean expansion after a fixed evaluation quota.

    Parameters:
        evals_per_node: evaluations every valid node (the root too) receives before the
            policy expands; capped at the number of tasks.
    """

    evals_per_node: int = 12
    name: str = "greedy"

    def choose(self, snap: Snapshot, parents: np.ndarray, rng: np.random.Generator) -> int:
        done = snap.own_pass[parents] + snap.own_fail[parents]
        mean = snap.own_pass[parents] / np.maximum(done, 1)
        best = parents[mean == mean.max()]
        return int(best[rng.integers(best.size)] if best.size > 1 else best[0])
