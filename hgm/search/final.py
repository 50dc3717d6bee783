"""The final agent of a run, and pass rates with credible intervals for the views.

**The rule** (what ``hgm best`` reports). Each node's own results give a posterior
``Beta(1 + passes, 1 + fails)`` on its pass rate (uniform prior). Among valid nodes with at
least ``min_evals`` completed evaluations (errors do not count), the final agent is the one
whose equal-tailed ``level`` credible interval has the highest lower bound: the node we are
most confident is good, which a lucky node with a handful of passes cannot beat. Ties go
to more evaluations, then to the lower id. When no node has ``min_evals`` evaluations, the same ordering (highest
lower bound, then more evaluations, then lower id) is applied to the valid nodes with at
least one evaluation, and the answer is flagged ``fallback=True``; with no evaluation
anywhere it is the lowest-id valid node. (The fallback once took the most-evaluated node,
ties to the lowest id, which ignores results: with every node evaluated the same number
of times it always reported the seed.) The reported pass rate is the posterior mean
``(1 + passes) / (2 + evaluations)``.

**Clade pass rate (CMP).** :func:`clade_pass_rate` gives, per node, the pooled results of
the node and all its descendants, ``clade_pass / (clade_pass + clade_fail)``, with the same
interval; :func:`own_pass_rate` gives the node's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from hgm.search.tree import Snapshot


@dataclass(frozen=True)
class FinalChoice:
    """The final agent and the evidence for it."""

    node: int
    pass_rate: float  # posterior mean (1 + passes) / (2 + evals)
    lower: float  # credible interval of the pass rate
    upper: float
    evals: int
    passes: int
    fallback: bool  # True: no node had min_evals evaluations; best of the evaluated ones


@dataclass(frozen=True)
class PassRates:
    """Per-node pass rates (arrays indexed by node id) with equal-tailed credible intervals.

    ``rate`` is the observed ratio (NaN without evaluations); ``mean``, ``lower`` and
    ``upper`` describe the posterior ``Beta(1 + passes, 1 + fails)``.
    """

    passes: np.ndarray
    fails: np.ndarray
    evals: np.ndarray
    rate: np.ndarray
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float


def beta_interval(
    passes: np.ndarray, fails: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed ``level`` credible interval of ``Beta(1 + passes, 1 + fails)``."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    a = 1.0 + np.asarray(passes, dtype=np.float64)
    b = 1.0 + np.asarray(fails, dtype=np.float64)
    tail = (1.0 - level) / 2.0
    return special.betaincinv(a, b, tail), special.betaincinv(a, b, 1.0 - tail)


def pass_rates(passes: np.ndarray, fails: np.ndarray, level: float = 0.95) -> PassRates:
    """Pass rates and intervals for parallel arrays of pass and fail counts."""
    p = np.asarray(passes, dtype=np.int64)
    f = np.asarray(fails, dtype=np.int64)
    n = p + f
    lower, upper = beta_interval(p, f, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, p / np.maximum(n, 1), np.nan)
    return PassRates(p, f, n, rate, (1.0 + p) / (2.0 + n), lower, upper, level)


def own_pass_rate(snap: Snapshot, level: float = 0.95) -> PassRates:
    """Each node's own pass rate."""
    return pass_rates(snap.own_pass, snap.own_fail, level)


def clade_pass_rate(snap: Snapshot, level: float = 0.95) -> PassRates:
    """Each node's clade pass rate (CMP): the node and all its descendants pooled."""
    return pass_rates(snap.clade_pass, snap.clade_fail, level)


def final_agent(snap: Snapshot, *, min_evals: int = 5, level: float = 0.95) -> FinalChoice | None:
    """The final agent by the rule of the module docstring; None when no node is valid."""
    valid = np.flatnonzero(snap.valid)
    if valid.size == 0:
        return None
    rates = pass_rates(snap.own_pass[valid], snap.own_fail[valid], level)
    qualified = np.flatnonzero(rates.evals >= min_evals)
    fallback = qualified.size == 0
    if fallback:
        qualified = np.flatnonzero(rates.evals > 0)
    if qualified.size:
        # lexsort: last key is primary; ids are ascending already, so ties keep the lowest.
        order = np.lexsort((-rates.evals[qualified], -rates.lower[qualified]))
        k = int(qualified[order[0]])
    else:
        k = 0  # nothing evaluated: the lowest-id valid node
    return FinalChoice(
        node=int(valid[k]),
        pass_rate=float(rates.mean[k]),
        lower=float(rates.lower[k]),
        upper=float(rates.upper[k]),
        evals=int(rates.evals[k]),
        passes=int(rates.passes[k]),
        fallback=fallback,
    )
