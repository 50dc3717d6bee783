"""The Huxley-Gödel Machine policy: clade-metric Thompson sampling with progressive widening.

Each decision is an expansion or an evaluation:

* **Screening.** A new node is first evaluated on ``screen`` tasks (capped at the number
  of tasks), oldest node first: every evaluation goes to screening while some node still
  owes it, and only screened nodes can be parents. Until then a node's own results and its
  clade say almost nothing, and a node the final-agent rule could never pick (it wants
  that many evaluations, ``final_min_evals``) is not worth building on. ``screen = 0``
  turns this off.
* **Expand or evaluate** (progressive widening). Expand when
  ``evals_done ** alpha >= n_nodes + pending_expansions + failed_expansions``, otherwise
  evaluate. Every expansion attempt counts: recorded nodes (invalid ones too), attempts
  that produced no child (else a parent that never yields a change would be retried
  forever, for free), and pending expansions, so parallel workers do not overshoot.
* **Budget.** When the driver knows how many evaluations are left (``evals_left``), no
  expansion starts unless they can still screen the new child after the screening
  already owed: a child that can never be screened is budget spent for nothing.
* **Expansion parent**: Thompson sampling on the clade metric over screened valid nodes.
  Each draws from ``Beta(s * (1 + clade_pass[i]), s * (1 + clade_fail[i]))`` and the
  largest draw wins. ``clade = 0`` (an ablation) ranks parents by their own results
  instead, ``own_pass`` / ``own_fail``, all else unchanged. ``s = 1 + sharpen * budget_fraction``: at the start of the budget this
  is the plain posterior under a uniform prior; as the budget is spent both parameters
  grow, which keeps each posterior's mean and shrinks its variance about ``s``-fold, so
  late choices follow the clade means more closely (greedier).
* **Evaluation target**: Thompson sampling on the node's own results,
  ``Beta(1 + own_pass, 1 + own_fail)``, over valid nodes with a task left; the node is
  given one task, its next one.

When the chosen kind is impossible (no screened node; no task left anywhere) the other
kind is taken; when neither is possible the policy waits for in-flight work, or stops.

The defaults (``alpha = 0.7``, ``sharpen = 10``, ``screen = 5``) were chosen in the policy
simulator on seeds 1000-1199, which no reported comparison uses; docs/simulator.md shows
the choice and how the result depends on it. The reference algorithm itself, minus its
bugs, is the spec ``hgm?preset=paper`` (:mod:`hgm.search.hgm_paper`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hgm.search import Action, Evaluate, Expand
from hgm.search.common import evaluated_nodes, owed_evaluation, wait_or_stop
from hgm.search.sampling import thompson_argmax
from hgm.search.tree import Snapshot


@dataclass(frozen=True)
class HGMPolicy:
    """Huxley-Gödel Machine search.

    Parameters:
        alpha: widening exponent, > 0 (usually in (0, 1]); larger expands more often
            (the tree grows like ``evals_done ** alpha``).
        sharpen: >= 0; the expansion posteriors are scaled by ``1 + sharpen *
            budget_fraction`` (0 turns sharpening off).
        screen: >= 0; evaluations every new node gets first, and needs before it can be
            a parent (0 turns screening off).
        clade: 1 ranks parents by their clade's results (HGM); 0 by their own (ablation).
    """

    alpha: float = 0.7
    sharpen: float = 10.0
    screen: int = 5
    clade: int = 1
    name: str = "hgm"

    def __post_init__(self) -> None:
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if self.sharpen < 0:
            raise ValueError(f"sharpen must be >= 0, got {self.sharpen}")
        if self.screen < 0:
            raise ValueError(f"screen must be >= 0, got {self.screen}")
        if self.clade not in (0, 1):
            raise ValueError(f"clade must be 0 or 1, got {self.clade}")

    @property
    def signal(self) -> str:
        """What parents are ranked by: ``"clade"`` or ``"own"`` results."""
        return "clade" if self.clade else "own"

    def wants_expansion(self, snap: Snapshot) -> bool:
        """The widening rule: is the tree narrow for the evaluations done so far?"""
        attempts = snap.n_nodes + snap.pending_expansions + snap.failed_expansions
        return float(snap.evals_done) ** self.alpha >= attempts

    def decide(self, snap: Snapshot, rng: np.random.Generator) -> Action:
        first, second = (
            (self._expand, self._evaluate)
            if self.wants_expansion(snap)
            else (self._evaluate, self._expand)
        )
        action = first(snap, rng) or second(snap, rng)
        if action is not None:
            return action
        if not self.affordable(snap) and evaluated_nodes(snap, min(self.screen, snap.n_tasks)).size:
            return wait_or_stop(snap, f"no task left to evaluate, and the {snap.evals_left:g} "
                                      "evaluations left cannot screen a new child")  # fmt: skip
        return wait_or_stop(snap)

    def affordable(self, snap: Snapshot) -> bool:
        """Can the evaluations left (when the driver knows them) still screen a new child,
        after the screening already owed to the nodes there are and being made?"""
        screen = min(self.screen, snap.n_tasks)
        if snap.evals_left is None or screen == 0:
            return True
        dispatched = snap.own_pass + snap.own_fail + snap.in_flight
        short = np.minimum(screen - dispatched, snap.n_tasks - snap.issued)
        owed = int(short[snap.valid & (short > 0)].sum()) + screen * snap.pending_expansions
        return snap.evals_left >= owed + screen

    def _expand(self, snap: Snapshot, rng: np.random.Generator) -> Expand | None:
        parents = snap.valid & (snap.own_evals() >= min(self.screen, snap.n_tasks))
        if not parents.any() or not self.affordable(snap):
            return None
        scale = 1.0 + self.sharpen * min(max(snap.budget_fraction, 0.0), 1.0)
        eligible = None if parents.all() else parents
        passes, fails = (
            (snap.clade_pass, snap.clade_fail) if self.clade else (snap.own_pass, snap.own_fail)
        )
        node = thompson_argmax(passes, fails, rng, scale=scale, eligible=eligible)
        return Expand(node)

    def _evaluate(self, snap: Snapshot, rng: np.random.Generator) -> Evaluate | None:
        # next_task is -1 for invalid nodes too; the mask states the rule all the same.
        ready = snap.next_task >= 0
        ready &= snap.valid
        if not ready.any():
            return None
        owed = owed_evaluation(snap, min(self.screen, snap.n_tasks))
        if owed is not None:
            return owed
        eligible = None if ready.all() else ready
        node = thompson_argmax(snap.own_pass, snap.own_fail, rng, eligible=eligible)
        return Evaluate(node, int(snap.next_task[node]))
