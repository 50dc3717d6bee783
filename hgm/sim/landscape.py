"""The synthetic self-improvement landscape.

Every agent version (node) carries, on the logit scale:

* ``s``, the logit of its *true pass rate* ``p = sigmoid(s)``: the chance that it solves a
  benchmark task. Evaluating a node on a task draws Bernoulli(p); tasks are exchangeable.
* ``q``, its *potential* (metaproductivity): how much its children improve on it. A child's
  expected pass-rate logit is its parent's plus the parent's potential.
* ``xi``, its *improver trait*: a standard normal that is the part of potential its own
  performance does not show.

Expanding node x draws a child c (``z_eps``, ``z_xi`` independent standard normals)::

    s_c  = s_x + q_x + sigma * z_eps                        # improve by x's potential, plus luck
    xi_c = rho * xi_x + sqrt(1 - rho^2) * z_xi              # the trait, heritability rho
    q_c  = drift + tau * (cos(m*pi/2) * g(s_c) + sin(m*pi/2) * xi_c)
    g(s) = 2 * tanh((s - s0) / (2 * scale))                 # standardised performance

The mismatch knob ``m`` in [0, 1] sets how much potential is a function of performance.
At ``m = 0``, ``q = drift + tau * g(s)``: potential is a strictly increasing function of
pass rate, so across all nodes of a tree the two rank identically (the best performer is the
best parent). At ``m = 1``, ``q = drift + tau * xi``; with the default ``rho = 0`` the trait is
drawn afresh for every node, so across a tree potential is unrelated to pass rate. In
between, the correlation over a tree falls steadily with ``m``. Whatever ``m``, a node's
potential shows in its children's pass rates (their clade), and given the parent's values the
law of a child's pass-rate logit is ``N(s_x + q_x, sigma^2)``.

``g`` is the linear standardisation ``(s - s0) / scale``, softly clipped at +-2 standard units
(the range the trait occupies 95% of the time), so potential stays within ``drift +- 2 tau``
at ``m = 0`` and a strong agent cannot compound its lead without bound. The seed agent (node
0) has ``s = s0`` and a trait drawn like any other.

With probability ``p_invalid`` an expansion yields an invalid child (it fails its
self-check): it has no latent values, cannot be evaluated or expanded, and is paid for
like any expansion.

Randomness: each seed is one fixed :class:`World`. A node's latent values and its outcome
on every task come from a generator keyed by (seed, its place in the tree), so the same
expansion gives the same child under every policy; the policy's own randomness comes from
a generator keyed by (seed, step). docs/simulator.md has the full description.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

POLICY_STREAM = 0
"""Stream of the generator handed to the policy's ``decide`` at each step."""
WORLD_STREAM = 1
"""Stream of the per-node generators the world is drawn from."""
G_LIMIT = 2.0
"""Soft bound of the standardised performance ``g``, in standard units."""


@dataclass(frozen=True)
class SimParams:
    """Parameters of the landscape and of one simulated run. The same for every policy.

    Defaults were fixed before comparing any policies; docs/simulator.md gives the reason
    for each.

    * ``budget``: run length in evaluation units; one evaluation of one node on one task
      costs 1. The run stops once this much has been spent.
    * ``expand_cost``: what one expansion costs in evaluation units (3).
    * ``mismatch``: the knob ``m`` in [0, 1]; see the module docstring (0.7).
    * ``s0``: the seed agent's pass-rate logit (-1.0: pass rate 0.27).
    * ``drift``: mean potential: the expected change of pass-rate logit per edit of an agent
      of average potential (-0.2: most edits are neutral or slightly harmful).
    * ``tau``: spread (standard deviation) of potential between agents, in logits (0.5).
    * ``sigma``: spread of one edit's luck, in logits (0.5).
    * ``scale``: the logit distance from the seed that counts as one standard unit of
      performance in ``g`` (1.0).
    * ``rho``: heritability of the improver trait, in [-1, 1] (0.0).
    * ``p_invalid``: chance that an expansion yields an invalid child (0.1).
    * ``n_tasks``: number of benchmark tasks; each node can be evaluated once per task (50).
    """

    budget: int = 400
    expand_cost: int = 3
    mismatch: float = 0.7
    s0: float = -1.0
    drift: float = -0.2
    tau: float = 0.5
    sigma: float = 0.5
    scale: float = 1.0
    rho: float = 0.0
    p_invalid: float = 0.1
    n_tasks: int = 50

    def __post_init__(self) -> None:
        if not 0.0 <= self.mismatch <= 1.0:
            raise ValueError(f"mismatch must be in [0, 1], got {self.mismatch}")
        if not 0.0 <= self.p_invalid < 1.0:
            raise ValueError(f"p_invalid must be in [0, 1), got {self.p_invalid}")
        if self.budget < 0 or self.expand_cost < 0 or self.n_tasks < 1:
            raise ValueError("budget and expand_cost must be >= 0 and n_tasks >= 1")
        if self.sigma < 0 or self.tau < 0:
            raise ValueError(f"sigma and tau must be >= 0, got {self.sigma}, {self.tau}")
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")
        if not -1.0 <= self.rho <= 1.0:
            raise ValueError(f"rho must be in [-1, 1], got {self.rho}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Latent:
    """A node's latent values: pass-rate logit ``s`` (``p`` the pass rate), potential ``q``
    and improver trait ``xi``. An invalid node has ``valid=False`` and NaN values.
    """

    valid: bool
    s: float
    q: float
    xi: float

    @property
    def p(self) -> float:
        return sigmoid(self.s)


INVALID = Latent(valid=False, s=math.nan, q=math.nan, xi=math.nan)


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def step_rng(seed: int, step: int) -> np.random.Generator:
    """The policy's generator at step ``step`` of run ``seed``: a pure function of both.

    Deriving it from the step number (not threading one generator through the run) is
    what lets a run resumed from its archive continue exactly as the uninterrupted one.
    """
    return np.random.default_rng([seed, POLICY_STREAM, step])


def node_rng(seed: int, path: tuple[int, ...]) -> np.random.Generator:
    """The generator of the node at ``path`` in world ``seed``.

    ``path`` lists child ordinals from the root (``()`` is the root, ``(0, 2)`` the third
    child of the root's first child; invalid children count). The length goes in too,
    because SeedSequence pads short entropy with zeros: ``(1,)`` and ``(1, 0)`` would
    otherwise collide.
    """
    return np.random.default_rng([seed, WORLD_STREAM, len(path), *path])


def standardise(s: float, params: SimParams) -> float:
    """``g(s)``: performance in standard units from the seed, softly clipped at +-2.

    Strictly increasing, so at ``m = 0`` potential orders nodes exactly as pass rate does.
    """
    return G_LIMIT * math.tanh((s - params.s0) / (G_LIMIT * params.scale))


def potential(s: float, xi: float, params: SimParams) -> float:
    """A node's potential from its pass-rate logit and its trait, under the mismatch knob."""
    angle = params.mismatch * math.pi / 2
    # cos(pi/2) is 6e-17, not 0: pin it so that m = 1 means exactly "unrelated".
    c = 0.0 if params.mismatch == 1 else math.cos(angle)
    return params.drift + params.tau * (c * standardise(s, params) + math.sin(angle) * xi)


def root(params: SimParams, xi: float) -> Latent:
    """The seed agent: pass-rate logit ``s0`` and improver trait ``xi``."""
    return Latent(valid=True, s=params.s0, q=potential(params.s0, xi, params), xi=xi)


def child_from_normals(parent: Latent, z_eps: float, z_xi: float, params: SimParams) -> Latent:
    """A valid child of ``parent`` from two standard normals (its luck and its new trait).

    Split out from :func:`draw_child` so the formula can be checked on chosen draws.
    """
    s = parent.s + parent.q + params.sigma * z_eps
    xi = params.rho * parent.xi + math.sqrt(1.0 - params.rho**2) * z_xi
    return Latent(valid=True, s=s, q=potential(s, xi, params), xi=xi)


def draw_child(parent: Latent, rng: np.random.Generator, params: SimParams) -> Latent:
    """Draw the result of expanding ``parent``.

    Always consumes the same three draws (validity, luck, trait), so a run's randomness
    does not depend on which branch was taken.
    """
    u, z_eps, z_xi = rng.random(), rng.standard_normal(), rng.standard_normal()
    if u < params.p_invalid:
        return INVALID
    return child_from_normals(parent, float(z_eps), float(z_xi), params)


@dataclass(frozen=True)
class NodeDraw:
    """Everything the world holds about one node: its place, latent values and task luck.

    ``u[t] < p`` decides whether the node passes task ``t`` (``u`` is None when invalid).
    """

    path: tuple[int, ...]
    latent: Latent
    u: np.ndarray | None = field(default=None, repr=False)

    def passes(self, task: int) -> bool:
        if self.u is None:
            raise ValueError(f"node at {self.path} is invalid and cannot be evaluated")
        return bool(self.u[task] < self.latent.p)


class World:
    """The random world of one seed: a fixed, unbounded tree of would-be agents.

    The k-th child of a node, and its result on each task, are drawn from
    :func:`node_rng` of its path only (and its parent's latent values, themselves fixed by
    the parent's path). So every policy run with the same seed meets the same agents when it
    expands the same nodes (common random numbers: differences between policies are not
    drowned by differences between worlds), and a resumed run rebuilds every node exactly
    from its position in the tree.
    """

    def __init__(self, seed: int, params: SimParams):
        self.seed = seed
        self.params = params

    def root(self) -> NodeDraw:
        rng = node_rng(self.seed, ())
        lat = root(self.params, float(rng.standard_normal()))
        return NodeDraw((), lat, rng.random(self.params.n_tasks))

    def child(self, parent: NodeDraw, ordinal: int) -> NodeDraw:
        """The ``ordinal``-th child (0-based, invalid ones counted) of ``parent``."""
        if not parent.latent.valid:
            raise ValueError(f"node at {parent.path} is invalid and cannot be expanded")
        path = (*parent.path, ordinal)
        rng = node_rng(self.seed, path)
        lat = draw_child(parent.latent, rng, self.params)
        return NodeDraw(path, lat, rng.random(self.params.n_tasks) if lat.valid else None)
