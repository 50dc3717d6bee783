"""Random baseline: the greedy evaluation schedule, with a uniformly random parent.

Every valid node is evaluated ``evals_per_node`` times first (5 by default; lowest id first,
as in :mod:`hgm.search.greedy`, whose tuned default is 12); then the parent is drawn
uniformly among valid nodes whose evaluations are complete. It tells how much a policy's
choice of parent is worth; it was not tuned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hgm.search.greedy import QuotaPolicy
from hgm.search.tree import Snapshot


@dataclass(frozen=True)
class RandomPolicy(QuotaPolicy):
    """Uniformly random expansion after a fixed evaluation quota.

    Parameters:
        evals_per_node: evaluations every valid node (the root too) receives before it can
            be a parent; capped at the number of tasks.
    """

    name: str = "random"

    def choose(self, snap: Snapshot, parents: np.ndarray, rng: np.random.Generator) -> int:
        return int(parents[rng.integers(parents.size)])
