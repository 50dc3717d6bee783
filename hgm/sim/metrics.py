"""What a simulated run is judged on: selection signals, true clade quality, rank agreement."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import spearmanr

CLADE_SIGNAL_POLICIES = frozenset({"hgm", "clade"})
"""Names that mean ranking by the clade's pooled results; anything else, by a node's own."""


def policy_name(spec: str) -> str:
    """``"hgm?alpha=0.6"`` -> ``"hgm"``."""
    return spec.partition("?")[0]


def signal_kind(policy: object) -> str:
    """``"clade"`` or ``"own"``: what ``policy`` ranks parents by (its ``signal`` attribute,
    or that of the policy it wraps; ``"own"`` when it has none)."""
    for p in (policy, getattr(policy, "inner", None)):
        kind = getattr(p, "signal", None)
        if kind is not None:
            return str(kind)
    return "own"


def selection_signal(
    name: str,
    own_pass: np.ndarray,
    own_fail: np.ndarray,
    clade_pass: np.ndarray,
    clade_fail: np.ndarray,
) -> np.ndarray:
    """The per-node score a policy ranks nodes by, as a posterior mean under Beta(1, 1).

    ``name`` is a kind (``"clade"``, ``"own"``) or a policy name. ``"clade"`` and ``"hgm"``:
    the clade pass rate ``(clade_pass + 1) / (clade_evals + 2)``; anything else: the node's
    own ``(own_pass + 1) / (own_evals + 2)``.
    """
    if name in CLADE_SIGNAL_POLICIES:
        return (clade_pass + 1) / (clade_pass + clade_fail + 2)
    return (own_pass + 1) / (own_pass + own_fail + 2)


def clade_quality(parent: np.ndarray, p: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Mean true pass rate over each node's clade (itself and all its descendants).

    Invalid nodes have no pass rate and are left out of every mean; an invalid node's own
    entry is NaN. Node ids are dense and every parent precedes its children, so one
    backward pass accumulates each clade into its parent in O(n).
    """
    n = len(parent)
    total = np.where(valid, p, 0.0).astype(float)
    count = valid.astype(float)
    for i in range(n - 1, 0, -1):
        j = parent[i]
        total[j] += total[i]
        count[j] += count[i]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def rank_corr(signal: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Spearman rank correlation of ``signal`` and ``truth`` over ``mask``; NaN if undefined.

    Undefined when fewer than three nodes qualify or either side is constant.
    """
    x, y = signal[mask], truth[mask]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(spearmanr(x, y).statistic)
