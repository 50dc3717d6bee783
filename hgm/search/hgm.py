"""The Huxley-Gödel Machine policy: clade-metric Thompson sampling with progressive widening.

Each decision is one of two kinds:

* **Expand or evaluate** (progressive widening). Expand when
  ``evals_done ** alpha >= n_nodes + pending_expansions + failed_expansions``, otherwise
  evaluate. Every expansion attempt counts: recorded nodes (invalid ones too), attempts
  that produced no child (else a parent that never yields a change would be retried
  forever, for free), and pending expansions, so parallel workers do not overshoot.
* **Expansion parent**: Thompson sampling on the clade metric. Each valid node ``i`` draws
  from ``Beta(s * (1 + clade_pass[i]), s * (1 + clade_fail[i]))`` and the largest draw
  wins. ``s = 1 + sharpen * budget_fraction``: with ``sharpen = 0`` (default) this is the
  plain posterior under a uniform prior; with ``sharpen > 0`` both parameters grow as the
  budget is spent, which keeps each posterior's mean and shrinks its variance about
  ``s``-fold, so late choices follow the clade means more closely (greedier).
* **Evaluation target**: Thompson sampling on the node's own results,
  ``Beta(1 + own_pass, 1 + own_fail)``, over valid nodes with a task left; the node is
  given one task, its next one.

When the chosen kind is impossible (no valid node; no task left anywhere) the other kind
is taken; when neither is possible the policy waits for in-flight work, or stops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hgm.search import Action, Evaluate, Expand, Stop, Wait
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
    """

    alpha: float = 0.6
    sharpen: float = 0.0
    name: str = "hgm"

    def __post_init__(self) -> None:
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if self.sharpen < 0:
            raise ValueError(f"sharpen must be >= 0, got {self.sharpen}")

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
        return first(snap, rng) or second(snap, rng) or wait_or_stop(snap)

    def _expand(self, snap: Snapshot, rng: np.random.Generator) -> Expand | None:
        if not snap.valid.any():
            return None
        scale = 1.0 + self.sharpen * min(max(snap.budget_fraction, 0.0), 1.0)
        eligible = None if snap.valid.all() else snap.valid
        node = thompson_argmax(
            snap.clade_pass, snap.clade_fail, rng, scale=scale, eligible=eligible
        )
        return Expand(node)

    def _evaluate(self, snap: Snapshot, rng: np.random.Generator) -> Evaluate | None:
        # next_task is -1 for invalid nodes too; the mask states the rule all the same.
        ready = snap.next_task >= 0
        ready &= snap.valid
        if not ready.any():
            return None
        eligible = None if ready.all() else ready
        node = thompson_argmax(snap.own_pass, snap.own_fail, rng, eligible=eligible)
        return Evaluate(node, int(snap.next_task[node]))


def wait_or_stop(snap: Snapshot, reason: str = "nothing left to expand or evaluate") -> Action:
    """Wait while work is in flight (its results may enable more), else stop."""
    if snap.evals_in_flight > 0 or snap.pending_expansions > 0:
        return Wait()
    return Stop(reason)
