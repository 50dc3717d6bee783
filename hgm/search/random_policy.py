"""Random baseline: the greedy evaluation schedule, with a uniformly random parent.

Every valid node is evaluated ``evals_per_node`` times first (lowest id first, as in
:mod:`hgm.search.greedy`); then the parent is drawn uniformly among valid nodes whose
evaluations are complete. It tells how much a policy's choice of parent is worth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hgm.search import Action, Expand
from hgm.search.greedy import evaluated_nodes, owed_evaluation
from hgm.search.hgm import wait_or_stop
from hgm.search.tree import Snapshot


@dataclass(frozen=True)
class RandomPolicy:
    """Uniformly random expansion after a fixed evaluation quota.

    Parameters:
        evals_per_node: evaluations every valid node (the root too) receives before it can
            be a parent; capped at the number of tasks.
    """

    evals_per_node: int = 5
    name: str = "random"

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
        return Expand(int(parents[rng.integers(parents.size)]))
