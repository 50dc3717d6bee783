"""Staged evaluation for any policy: a small first stage gates every further step.

``StagedPolicy(inner, stage1, threshold, stage2)`` wraps a policy. Written as a spec
parameter of any policy: ``"hgm?staged=5,0.4"``, ``"greedy?evals_per_node=8&staged=3,0.5,20"``
(``staged=STAGE1,THRESHOLD[,STAGE2]``; ``:`` may replace the commas, as in
``"hgm?staged=5:0.4"``, where the spec sits in a comma-separated list).

Definitions, per node (``s1 = min(stage1, n_tasks)``; ``done`` = completed evaluations,
``in_flight`` = dispatched and not completed; errored evaluations are neither, so they are
owed again):

* **Stage 1**: the node's first ``s1`` evaluations (its first tasks in the run's task order).
* **Gate**: the node *passes* when ``done == s1`` and ``own_pass / s1 >= threshold``. A node
  with ``done > s1`` has passed (this wrapper never lets a node past stage 1 otherwise). The
  root passes as soon as its stage 1 is done, whatever its score: it is the only starting
  point, and a weak seed agent must still be improved on. With ``n_tasks == 0`` every node
  passes.
* **Open** nodes are valid nodes that passed. Only they are shown to the inner policy.

Decision (pure: no I/O, no clock, randomness only from ``rng``):

1. If a valid node has fewer than ``s1`` evaluations done or in flight and a task left,
   evaluate the lowest-id such node on its next task (oldest first: new children are
   screened before anything else happens).
2. Otherwise ask the inner policy, on a view of the snapshot in which every node that is not
   open looks invalid (``valid`` False, ``next_task`` -1), so the inner policy can neither
   expand it nor evaluate it. With ``stage2`` set, an open node with ``stage2`` evaluations
   done or in flight also shows ``next_task`` -1 (no more evaluations; it may still be
   expanded). Everything else -- evaluation counts, clade statistics, in-flight and budget
   counters -- is shown unchanged, so a gated node's results still count in its
   ancestors' clades.

So a node below the threshold is never expanded and never evaluated past stage 1, and
while a node's stage-1 results are still in flight it is neither expanded nor given more.
When nothing is open and nothing is owed, the inner policy sees no valid node and waits
for in-flight work or stops.

Per-task time limits are the loop's, not the policy's: every evaluation (stage 1 or not)
runs under the task's ``time_limit_s`` (or the run's ``eval_time_limit_s``).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from hgm.search import Action, Policy
from hgm.search.common import owed_evaluation
from hgm.search.tree import Snapshot


@dataclass(frozen=True)
class StagedPolicy:
    """``inner`` with staged evaluation (see the module docstring).

    Parameters:
        inner: the policy that decides once the gate allows.
        stage1: evaluations every node gets first (>= 1).
        threshold: stage-1 pass rate needed to pass the gate, in [0, 1].
        stage2: at most this many evaluations per node in all (>= stage1); None: no cap
            beyond the number of tasks.
    """

    inner: Policy
    stage1: int = 5
    threshold: float = 0.4
    stage2: int | None = None

    def __post_init__(self) -> None:
        if self.stage1 < 1:
            raise ValueError(f"stage1 must be >= 1, got {self.stage1}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.stage2 is not None and self.stage2 < self.stage1:
            raise ValueError(f"stage2 must be >= stage1, got {self.stage2} < {self.stage1}")

    @property
    def name(self) -> str:
        stages = f"{self.stage1},{self.threshold:g}" + (
            f",{self.stage2}" if self.stage2 is not None else ""
        )
        return f"{self.inner.name}+staged({stages})"

    def decide(self, snap: Snapshot, rng: np.random.Generator) -> Action:
        owed = owed_evaluation(snap, min(self.stage1, snap.n_tasks))
        if owed is not None:
            return owed
        return self.inner.decide(self.gated_view(snap), rng)

    def passed(self, snap: Snapshot) -> np.ndarray:
        """Per node: has it passed the stage-1 gate (see the module docstring)?"""
        s1 = min(self.stage1, snap.n_tasks)
        if s1 == 0:
            return np.ones(snap.n_nodes, dtype=bool)
        done = snap.own_pass + snap.own_fail
        good = (snap.own_pass / s1 >= self.threshold) | (snap.parent < 0)
        return (done > s1) | ((done == s1) & good)

    def gated_view(self, snap: Snapshot) -> Snapshot:
        """``snap`` as the inner policy sees it: nodes that are not open look invalid."""
        valid = snap.valid & self.passed(snap)
        ready = valid
        if self.stage2 is not None:
            ready = valid & (snap.own_pass + snap.own_fail + snap.in_flight < self.stage2)
        next_task = np.where(ready, snap.next_task, -1)
        valid.flags.writeable = False
        next_task.flags.writeable = False
        return dataclasses.replace(snap, valid=valid, next_task=next_task)


def parse_staged(inner: Policy, value: str) -> StagedPolicy:
    """Wrap ``inner`` as the spec parameter ``staged=STAGE1,THRESHOLD[,STAGE2]`` says.

    ``:`` separates the numbers too (``staged=5:0.4``), for specs inside comma-separated
    lists such as ``hgm simulate --policies``.
    """
    parts = [part.strip() for part in re.split("[,:]", str(value))]
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        stage1, threshold = int(parts[0]), float(parts[1])
        stage2 = int(parts[2]) if len(parts) == 3 else None
    except ValueError:
        raise ValueError(
            f"staged={value!r}: expected STAGE1,THRESHOLD[,STAGE2], e.g. staged=5,0.4"
        ) from None
    return StagedPolicy(inner, stage1=stage1, threshold=threshold, stage2=stage2)
