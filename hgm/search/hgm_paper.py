"""``hgm?preset=paper``: the reference HGM algorithm (metauto-ai/HGM), minus its bugs.

Item by item, with where the reference does it (``hgm.py``, ``tree.py`` of that repository):

* **Root evaluation** (``initialize_run``): the seed agent is evaluated on every task before
  the search starts, outside the evaluation budget. ``root_eval="outside"`` (default) asks
  the driver not to charge these evaluations (:attr:`PaperHGMPolicy.root_eval_uncharged`;
  the simulator honours it, the real loop charges every evaluation to ``--max-evals``);
  ``"inside"`` evaluates the root on every task and pays for it from the budget.
* **Initial expansions** (``main``: ``min(5, int(max_workers ** alpha))`` expansions of the
  root, 5 with the reference's 20 workers): once the root's results are all in,
  ``initial`` expansion attempts of the root before anything else.
* **Widening** (``sample``): expand when ``evals ** alpha >= (nodes - 1) + pending``, where
  ``evals`` leaves out the root's evaluations (the reference's ``n_task_evals`` does) and
  ``nodes - 1`` counts the valid nodes other than the root (a failed self-modification, an
  invalid child here, never becomes a node there). ``alpha = 0.6``.
* **Parent filter** (``expand``): a node can be a parent only with at least one evaluation
  and a positive own mean (``np.isfinite(mean_utility) and mean_utility > 0``).
* **Parent choice** (``expand``, ``TS_sample``): Thompson sampling on the clade,
  ``Beta(1 + clade_pass, 1 + clade_fail)``. The reference builds the clade list by
  extending the node's own result list in place (``Node.get_decendant_evals`` returns
  ``utility_measures`` itself while the node has fewer than ``n_pseudo_descendant_evals``
  results, then ``+=`` appends the descendants'), so every decision adds the descendants'
  results to the node's own results again: counts grow with the number of decisions. Here
  each result counts once, in its node's clade and in each ancestor's (the bug is not
  copied).
* **Evaluation target** (``sample``): Thompson sampling on own results,
  ``Beta(1 + own_pass, 1 + own_fail)``, over every valid node with an untried task,
  unevaluated ones included; the task is a uniformly random untried one
  (``eval_random_level = 1.0``). An errored task waiting for a retry is retried first.
* **Cool-down** (``TS_sample`` with ``cool_down``): both samplings' Beta parameters
  multiplied by ``(1 / (1 - f)) ** beta``, ``f`` the budget fraction spent (the reference's
  ``(N / (N - n)) ** beta`` with ``n`` of ``N`` evaluations spent; 10,000 at ``f = 1``).
  Off by default, as in the reference's config (``cool_down=1`` turns it on).

Where the reference would fail (an expansion with no eligible parent: ``argmax`` of an empty
list), this policy evaluates instead; with nothing to evaluate either it waits or stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from hgm.search import Action, Evaluate, Expand, Wait
from hgm.search.common import wait_or_stop
from hgm.search.sampling import thompson_argmax
from hgm.search.tree import Snapshot

COOL_DOWN_CAP = 10_000.0
"""The reference's cool-down factor once the budget is spent."""


@dataclass(frozen=True)
class PaperHGMPolicy:
    """The reference HGM algorithm (see the module docstring).

    Parameters:
        alpha: widening exponent (0.6, the reference's default).
        initial: expansion attempts of the root before anything else (5).
        root_eval: ``"outside"`` (the root is evaluated on every task, not charged to the
            budget, as in the reference) or ``"inside"`` (the same, paid for).
        cool_down: 1 multiplies both samplings' Beta parameters by
            ``(1 / (1 - budget_fraction)) ** beta``; 0 (default) does not.
        beta: the cool-down exponent (1.0, the reference's default).
        preset: always ``"paper"`` (how the spec ``hgm?preset=paper`` names this policy).
    """

    alpha: float = 0.6
    initial: int = 5
    root_eval: str = "outside"
    cool_down: int = 0
    beta: float = 1.0
    preset: str = "paper"
    name: str = "hgm?preset=paper"
    signal: ClassVar[str] = "clade"
    """What this policy ranks parents by (read by the simulator's metrics)."""

    def __post_init__(self) -> None:
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if self.initial < 0:
            raise ValueError(f"initial must be >= 0, got {self.initial}")
        if self.root_eval not in ("outside", "inside"):
            raise ValueError(f"root_eval must be outside or inside, got {self.root_eval!r}")
        if self.cool_down not in (0, 1):
            raise ValueError(f"cool_down must be 0 or 1, got {self.cool_down}")
        if self.beta < 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")
        if self.preset != "paper":
            raise ValueError(f"unknown preset {self.preset!r}; the only one is paper")

    @property
    def root_eval_uncharged(self) -> bool:
        """Should the driver leave the root's evaluations out of the budget?"""
        return self.root_eval == "outside"

    def widening_count(self, snap: Snapshot) -> tuple[int, int]:
        """``(evals, attempts)`` as the reference counts them: evaluations other than the
        root's, and valid non-root nodes plus pending expansions."""
        evals = int(snap.evals_done - snap.own_pass[0] - snap.own_fail[0]) if snap.n_nodes else 0
        nodes = int(np.count_nonzero(snap.valid[1:]))
        return evals, nodes + snap.pending_expansions

    def wants_expansion(self, snap: Snapshot) -> bool:
        evals, attempts = self.widening_count(snap)
        return float(evals) ** self.alpha >= attempts

    def scale(self, snap: Snapshot) -> float:
        if not self.cool_down:
            return 1.0
        left = 1.0 - min(max(snap.budget_fraction, 0.0), 1.0)
        return COOL_DOWN_CAP if left <= 0 else min((1.0 / left) ** self.beta, COOL_DOWN_CAP)

    def decide(self, snap: Snapshot, rng: np.random.Generator) -> Action:
        if snap.n_nodes == 0:
            return wait_or_stop(snap, "no seed agent")
        if snap.valid[0] and snap.next_task[0] >= 0:  # the root is evaluated on every task first
            return Evaluate(0, self._task(snap, 0, rng))
        attempts = snap.n_nodes - 1 + snap.pending_expansions + snap.failed_expansions
        if attempts < self.initial and snap.valid[0]:
            # As in the reference, the root's results are all in before it is expanded.
            return Wait() if snap.in_flight[0] > 0 else Expand(0)
        first, second = (
            (self._expand, self._evaluate)
            if self.wants_expansion(snap)
            else (self._evaluate, self._expand)
        )
        return first(snap, rng) or second(snap, rng) or wait_or_stop(snap)

    def parents(self, snap: Snapshot) -> np.ndarray:
        """The reference's parent filter: valid, evaluated, positive own mean."""
        return snap.valid & (snap.own_pass + snap.own_fail > 0) & (snap.own_pass > 0)

    def _expand(self, snap: Snapshot, rng: np.random.Generator) -> Expand | None:
        parents = self.parents(snap)
        if not parents.any():
            return None
        node = thompson_argmax(
            snap.clade_pass, snap.clade_fail, rng, scale=self.scale(snap), eligible=parents
        )
        return Expand(node)

    def _evaluate(self, snap: Snapshot, rng: np.random.Generator) -> Evaluate | None:
        ready = snap.valid & (snap.next_task >= 0)
        if not ready.any():
            return None
        node = thompson_argmax(
            snap.own_pass, snap.own_fail, rng, scale=self.scale(snap), eligible=ready
        )
        return Evaluate(node, self._task(snap, node, rng))

    @staticmethod
    def _task(snap: Snapshot, node: int, rng: np.random.Generator) -> int:
        """A uniformly random untried task of ``node``; an errored one waiting is retried first."""
        nxt = int(snap.next_task[node])
        if snap.taken is None or snap.taken[node, nxt]:
            return nxt
        untried = np.flatnonzero(~snap.taken[node])
        return int(untried[rng.integers(untried.size)])
