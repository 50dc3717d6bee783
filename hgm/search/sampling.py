"""Exact Thompson sampling over many Beta posteriors, without one draw per arm.

:func:`thompson_argmax` returns the index ``i`` that maximises independent draws
``X_i ~ Beta(scale * (1 + passes[i]), scale * (1 + fails[i]))``. The returned index has
exactly the distribution of ``np.argmax(rng.beta(a, b))`` (up to floating-point rounding,
as for any sampler); only the random stream differs. For a few arms it simply calls
``rng.beta``. For many arms it does less work, in four steps:

1. **Group identical arms.** Arms whose counts are both below ``small`` share their Beta
   law with every other arm of the same counts. The maximum of ``m`` iid draws with CDF
   ``F`` has CDF ``F**m``, so one uniform gives that maximum by inversion, and by
   exchangeability the arm that attains it is uniform among the ``m`` and independent of
   the value. A group is one *unit*; every other arm is a unit of its own (``m = 1``).
2. **One uniform per unit.** Unit ``u`` draws ``Q_u ~ U(0, 1)`` and its maximum is
   ``X_u = S_u^{-1}(Q_u)``, ``S_u`` being the survival function of that maximum. Then
   ``X_u > t`` exactly when ``Q_u < S_u(t)``, which decides whether a unit can beat a
   threshold without inverting anything.
3. **Prune against a pilot.** ``t`` is the exact maximum of a few likely winners (the
   pilots), so a unit with ``X_u <= t`` cannot win. Ungrouped arms are first screened with
   the sub-Gaussian tail bound of the Beta law, ``P(X - mean >= d) <= exp(-2 (a + b + 1)
   d**2)`` for ``d >= 0`` (variance proxy ``1 / (4 (a + b + 1))``: conjectured by Elder,
   2016, proved by Marchal and Arbel, 2017), which costs a few vector operations per arm;
   the few that pass the screen, and the groups, are then tested exactly with the
   regularised incomplete beta function.
4. **Invert the survivors** (``scipy.special.betainccinv``) and take the largest value.

Every step keeps the law of the argmax unchanged: each ``X_u`` is a monotone transform of
its own uniform, and pruning only drops units whose value is at most a value actually
drawn. ``tests/test_search_policies.py`` checks the selection frequencies against exact
win probabilities and checks the tail bound on a grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

#: Up to this many arms, draw every Beta directly: the set-up below costs about as much
#: as ~2,000 Beta draws.
DIRECT_MAX = 2048
#: Arms with both counts below this are grouped (``SMALL**2`` possible groups).
SMALL = 32
_SHIFT = 6  # bits for a count clipped at SMALL (0..SMALL)
_N_KEYS = (SMALL << _SHIFT) + SMALL + 1
_GROUP_KEYS = np.array(
    [(i << _SHIFT) | j for i in range(SMALL) for j in range(SMALL)], dtype=np.int64
)
#: After the bound screen, re-pick the pilot while more than this many arms survive.
_REFINE_ABOVE = 32
_PILOT_GROUPS = 2


def thompson_argmax(
    passes: np.ndarray,
    fails: np.ndarray,
    rng: np.random.Generator,
    *,
    scale: float = 1.0,
    eligible: np.ndarray | None = None,
    method: str = "auto",
) -> int:
    """Index of the largest of independent ``Beta(scale*(1+passes), scale*(1+fails))`` draws.

    ``passes`` and ``fails`` are non-negative integer arrays of equal length; ``scale >= 1``
    concentrates every posterior around its mean. With ``eligible`` (a boolean array of
    the same length) only those arms take part; the index returned is into the full
    arrays, and at least one arm must take part. ``method`` is ``"direct"`` (one
    ``rng.beta`` draw per arm), ``"grouped"`` (the exact pruned sampler of the module
    docstring) or ``"auto"`` (direct up to :data:`DIRECT_MAX` arms).
    """
    p = np.asarray(passes, dtype=np.int64)
    f = np.asarray(fails, dtype=np.int64)
    if p.shape != f.shape or p.ndim != 1:
        raise ValueError("passes and fails must be 1-d arrays of the same length")
    if eligible is not None:
        eligible = np.asarray(eligible, dtype=bool)
        if eligible.shape != p.shape:
            raise ValueError("eligible must have the shape of passes")
    n = p.size if eligible is None else int(np.count_nonzero(eligible))
    if n == 0:
        raise ValueError("no arm to choose from")
    if method == "auto":
        method = "direct" if n <= DIRECT_MAX else "grouped"
    if method == "direct":
        idx = None if eligible is None else np.flatnonzero(eligible)
        if idx is not None:
            p, f = p[idx], f[idx]
        i = int(np.argmax(rng.beta(scale * (1.0 + p), scale * (1.0 + f))))
        return i if idx is None else int(idx[i])
    if method == "grouped":
        return _grouped_argmax(p, f, rng, float(scale), eligible)
    raise ValueError(f"unknown method {method!r}; choose auto, direct or grouped")


def _grouped_argmax(
    p: np.ndarray,
    f: np.ndarray,
    rng: np.random.Generator,
    scale: float,
    eligible: np.ndarray | None,
) -> int:
    # Counts are clipped at SMALL and packed into one key, so one bincount groups the small
    # arms; bins holding a clipped count collect the large arms and are ignored. Arms not
    # taking part get weight 0. In-place steps, because at 10**5 arms every fresh
    # full-size array costs page faults that outweigh the arithmetic.
    key = np.minimum(p, SMALL)
    key <<= _SHIFT
    key |= np.minimum(f, SMALL)
    is_large = p >= SMALL
    is_large |= f >= SMALL
    if eligible is not None:
        is_large &= eligible
    counts = np.bincount(key, weights=eligible, minlength=_N_KEYS)[_GROUP_KEYS]
    present = np.flatnonzero(counts)
    gkey = _GROUP_KEYS[present]
    large = np.flatnonzero(is_large)
    groups = _Units(
        ids=np.arange(gkey.size),
        a=scale * (1.0 + (gkey >> _SHIFT)),
        b=scale * (1.0 + (gkey & ((1 << _SHIFT) - 1))),
        m=counts[present].astype(np.float64),
        q=rng.random(gkey.size),
    )
    arms = _Units(
        ids=np.arange(large.size),
        a=scale * (1.0 + p[large]),
        b=scale * (1.0 + f[large]),
        m=np.ones(large.size),
        q=rng.random(large.size),
    )
    t, best = _pilot(groups, arms)
    # Large arms: screened by the tail bound, re-piloting while many pass the screen.
    arms = arms.screened(t)
    while len(arms) > _REFINE_ABOVE:
        j = int(np.argmax(arms.surrogate()))
        x = float(arms.take([j]).values()[0])
        if x <= t:
            break
        t, best = x, ("arm", int(arms.ids[j]))
        arms = arms.screened(t)
    # Then the exact test (no inversion), then inversion of the few left.
    for family, units in (("group", groups.screened(t)), ("arm", arms)):
        units = units.take(np.flatnonzero(units.q < units.survival(t)))
        if len(units):
            vals = units.values()
            i = int(np.argmax(vals))
            if vals[i] > t:
                t, best = float(vals[i]), (family, int(units.ids[i]))
    family, i = best
    if family == "arm":
        return int(large[i])
    member = key == gkey[i]
    if eligible is not None:
        member &= eligible
    members = np.flatnonzero(member)
    return int(members[rng.integers(members.size)])


@dataclass(frozen=True)
class _Units:
    """Parallel arrays over units: id within the family, Beta parameters of one arm,
    multiplicity, and the unit's uniform (the probability mass above its maximum)."""

    ids: np.ndarray
    a: np.ndarray
    b: np.ndarray
    m: np.ndarray
    q: np.ndarray

    def __len__(self) -> int:
        return self.ids.size

    def take(self, idx) -> _Units:
        return _Units(self.ids[idx], self.a[idx], self.b[idx], self.m[idx], self.q[idx])

    def arm_tail(self) -> np.ndarray:
        """One arm's survival at the unit's maximum: 1 - (1 - Q)**(1/m), computed stably."""
        return -np.expm1(np.log1p(-self.q) / self.m)

    def values(self) -> np.ndarray:
        """Each unit's maximum, by inverting one arm's survival function."""
        return special.betainccinv(self.a, self.b, self.arm_tail())

    def survival(self, t: float) -> np.ndarray:
        """P(unit maximum > t) = 1 - (1 - S(t))**m for one arm's survival S."""
        # I_{1-t}(b, a) == 1 - I_t(a, b); scipy's betainc is ~10x faster than its betaincc.
        s = special.betainc(self.b, self.a, 1.0 - t)
        return -np.expm1(self.m * np.log1p(-s))

    def screened(self, t: float) -> _Units:
        """The units the tail bound cannot rule out of exceeding ``t`` (a maximum of m
        arms exceeds t with probability at most m times one arm's)."""
        return self.take(np.flatnonzero(self.q < self.m * tail_bound(self.a, self.b, t)))

    def surrogate(self) -> np.ndarray:
        """A normal approximation of each unit's maximum; only used to choose pilots."""
        n = self.a + self.b
        mean = self.a / n
        sd = np.sqrt(mean * (1.0 - mean) / (n + 1.0))
        return mean - sd * special.ndtri(self.arm_tail())


def _pilot(groups: _Units, arms: _Units) -> tuple[float, tuple[str, int]]:
    """Exact maxima of a few likely winners: the threshold every other unit must beat.

    Any choice of pilots keeps the sampler exact; a good one only makes it faster.
    """
    t, best = -1.0, ("group", -1)
    if len(groups):
        top = np.argsort(groups.surrogate())[-_PILOT_GROUPS:]
        vals = groups.take(top).values()
        i = int(np.argmax(vals))
        t, best = float(vals[i]), ("group", int(top[i]))
    if len(arms):
        j = int(np.argmax(arms.a / (arms.a + arms.b)))
        x = float(arms.take([j]).values()[0])
        if x > t:
            t, best = x, ("arm", j)
    return t, best


def tail_bound(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Upper bound on ``P(Beta(a, b) > t)``: sub-Gaussian above the mean, 1 below it."""
    d = np.asarray(t) - a / (a + b)
    return np.exp(-2.0 * (a + b + 1.0) * d * np.maximum(d, 0.0))
