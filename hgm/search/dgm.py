"""Darwin Gödel Machine baseline: score x novelty parent sampling, staged evaluation.

**Staged evaluation.** A node is first evaluated on ``stage1`` tasks. When those are done,
it goes on to ``stage2`` tasks in all only if its stage-1 pass rate is at least
``threshold``; the root always goes through stage 2. Both stages are capped at the number
of tasks. Only the totals are kept per node, so the gate reads ``own_pass / stage1`` when
exactly ``stage1`` evaluations are done; a node with more than that was already let
through (this policy never dispatches past stage 1 otherwise). Errored evaluations are
owed again.

**Decision.** If a valid node still owes evaluations under that schedule (and has a task
left), evaluate the oldest such node (lowest id). Otherwise expand a parent sampled among
valid nodes that completed their staged evaluation, with weight
``sigmoid(steepness * (score - midpoint)) / (1 + children + pending_children)``, where
``score`` is the node's own pass rate (nodes without evaluations are never parents) and
``children`` counts every child recorded, invalid ones too.

**Differences from the DGM paper.** DGM evaluates a new agent on 10 tasks, then on 50 more
(60 in all) if it passes; its archive holds only children that compiled and kept their
editing ability, so its children count leaves failed self-modifications out. Here the
children count includes invalid children and pending expansions. The defaults
``stage1 = 1``, ``stage2 = 12`` were chosen in the policy simulator on seeds 1000-1199 by
the procedure that chose HGM's (highest mean final quality over mismatch 0, 0.7 and 1 at
budget 400); DGM's own sizes are ``dgm?stage1=10&stage2=60`` (capped at the task count).
docs/simulator.md has the sweep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from hgm.search import Action, Expand
from hgm.search.common import owed_evaluation, wait_or_stop
from hgm.search.tree import Snapshot


@dataclass(frozen=True)
class DGMPolicy:
    """Darwin Gödel Machine search.

    Parameters:
        stage1: tasks every node is evaluated on first (>= 1).
        stage2: tasks in all for a node that passes the stage-1 gate, and for the root
            (>= stage1).
        threshold: stage-1 pass rate needed to continue to stage 2.
        steepness: slope of the sigmoid on the score (DGM uses 10).
        midpoint: score at which the sigmoid is 1/2 (DGM uses 0.5).
    """

    stage1: int = 1
    stage2: int = 12
    threshold: float = 0.4
    steepness: float = 10.0
    midpoint: float = 0.5
    name: str = "dgm"

    def __post_init__(self) -> None:
        if not 1 <= self.stage1 <= self.stage2:
            raise ValueError(f"need 1 <= stage1 <= stage2, got {self.stage1}, {self.stage2}")

    def quota(self, snap: Snapshot) -> np.ndarray:
        """Evaluations each node is owed under the staged schedule, as things stand."""
        s1, s2 = min(self.stage1, snap.n_tasks), min(self.stage2, snap.n_tasks)
        done = snap.own_pass + snap.own_fail
        if s1 == 0:  # no tasks at all: nothing is owed
            return np.zeros(snap.n_nodes, dtype=np.int64)
        gate = (done == s1) & (snap.own_pass / s1 >= self.threshold)
        full = gate | (done > s1) | (snap.parent < 0)
        return np.where(full, s2, s1)

    def decide(self, snap: Snapshot, rng: np.random.Generator) -> Action:
        quota = self.quota(snap)
        owed = owed_evaluation(snap, quota)
        if owed is not None:
            return owed
        done = snap.own_pass + snap.own_fail
        parents = np.flatnonzero(snap.valid & (done >= quota) & (done > 0))
        if parents.size == 0:
            return wait_or_stop(snap, "no evaluated node to expand")
        score = snap.own_pass[parents] / done[parents]
        weight = special.expit(self.steepness * (score - self.midpoint)) / (
            1.0 + snap.children[parents] + snap.pending_children[parents]
        )
        total = weight.sum()
        if not total > 0:  # every sigmoid underflowed (extreme steepness): no preference
            return Expand(int(parents[rng.integers(parents.size)]))
        return Expand(int(rng.choice(parents, p=weight / total)))
