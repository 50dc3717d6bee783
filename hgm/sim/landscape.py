"""The synthetic self-improvement landscape.

Every agent version (node) carries two latent numbers, both on the logit scale:

* ``q``, its *potential*: how good the agents it produces tend to be. Potential is
  heritable: a child's potential is its parent's plus a random change.
* ``s``, the logit of its *true pass rate* ``p = sigmoid(s)``: the chance that it solves a
  benchmark task. Evaluating a node on a task draws Bernoulli(p); tasks are exchangeable.

Expanding node x draws a child (``z1``, ``z2`` independent standard normals)::

    delta   = drift + sigma * z1                      # the change in potential
    q_child = q_x + delta
    s_child = q_x + drift + sigma * (cos(m*pi/2) * z1 + sin(m*pi/2) * z2)

The mismatch knob ``m`` in [0, 1] sets how much a node's own pass rate says about its own
potential: given the parent, ``corr(s_child, q_child) = cos(m*pi/2)``. At ``m = 0`` the
two are the same quantity (``s_child == q_child`` exactly); at ``m = 1`` a child's pass
rate reflects its *parent's* potential but carries nothing about its own change. The noise
is centred on ``drift`` so that the distribution of a child's pass rate given its parent is
``N(q_x + drift, sigma^2)`` for every ``m``: the knob changes only what pass rates reveal,
never how good agents are. Under mismatch a node's potential shows in its descendants'
results (its clade), not in its own. The seed agent (node 0) has ``q = s = q0``.

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


@dataclass(frozen=True)
class SimParams:
    """Parameters of the landscape and of one simulated run. The same for every policy.

    Defaults were fixed from what a self-improvement run looks like, before comparing any
    policies (docs/simulator.md gives the reasoning for each):

    * ``budget``: run length in evaluation units; one evaluation of one node on one task
      costs 1. The run stops once this much has been spent.
    * ``expand_cost``: what one expansion costs in evaluation units (3: an expansion is a
      diagnosis LLM call, one agent session on the agent's own source, usually longer than
      a benchmark task, and a self-check in a sandbox).
    * ``mismatch``: the knob ``m`` in [0, 1]; see the module docstring.
    * ``q0``: the seed agent's potential and pass-rate logit (-1.0: pass rate 0.27).
    * ``drift``: mean change of potential per expansion, in logits (-0.2: most edits are
      neutral or slightly harmful; progress comes from the upper tail).
    * ``sigma``: spread of that change, in logits (0.5: about +-10 points of pass rate per
      edit near the seed's level).
    * ``p_invalid``: chance that an expansion yields an invalid child (0.1).
    * ``n_tasks``: number of benchmark tasks; each node can be evaluated once per task (50).
    """

    budget: int = 400
    expand_cost: int = 3
    mismatch: float = 0.7
    q0: float = -1.0
    drift: float = -0.2
    sigma: float = 0.5
    p_invalid: float = 0.1
    n_tasks: int = 50

    def __post_init__(self) -> None:
        if not 0.0 <= self.mismatch <= 1.0:
            raise ValueError(f"mismatch must be in [0, 1], got {self.mismatch}")
        if not 0.0 <= self.p_invalid < 1.0:
            raise ValueError(f"p_invalid must be in [0, 1), got {self.p_invalid}")
        if self.budget < 0 or self.expand_cost < 0 or self.n_tasks < 1:
            raise ValueError("budget and expand_cost must be >= 0 and n_tasks >= 1")
        if self.sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {self.sigma}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Latent:
    """A node's latent values: potential ``q`` and true pass rate ``p`` (``s`` its logit).

    An invalid node has ``valid=False`` and NaN values.
    """

    valid: bool
    q: float
    s: float

    @property
    def p(self) -> float:
        return sigmoid(self.s)


INVALID = Latent(valid=False, q=math.nan, s=math.nan)


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


def root(params: SimParams) -> Latent:
    """The seed agent: potential and pass-rate logit both ``q0``."""
    return Latent(valid=True, q=params.q0, s=params.q0)


def child_from_normals(q_parent: float, z1: float, z2: float, params: SimParams) -> Latent:
    """A valid child of a parent with potential ``q_parent``, from two standard normals.

    Split out from :func:`draw_child` so the formula can be checked on chosen draws.
    """
    angle = params.mismatch * math.pi / 2
    # cos(pi/2) is 6e-17, not 0: pin it so that m = 1 means exactly "unrelated".
    c = 0.0 if params.mismatch == 1 else math.cos(angle)
    delta = params.drift + params.sigma * z1
    q = q_parent + delta
    # Same association as q, so that at m = 0 (c = 1, sin = 0) s equals q bit for bit.
    s = q_parent + (params.drift + params.sigma * (c * z1 + math.sin(angle) * z2))
    return Latent(valid=True, q=q, s=s)


def draw_child(q_parent: float, rng: np.random.Generator, params: SimParams) -> Latent:
    """Draw the result of expanding a node with potential ``q_parent``.

    Always consumes the same three draws (validity, z1, z2), so a run's randomness does
    not depend on which branch was taken.
    """
    u, z1, z2 = rng.random(), rng.standard_normal(), rng.standard_normal()
    if u < params.p_invalid:
        return INVALID
    return child_from_normals(q_parent, float(z1), float(z2), params)


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
    :func:`node_rng` of its path only. So every policy run with the same seed meets the
    same agents when it expands the same nodes (common random numbers: differences between
    policies are not drowned by differences between worlds), and a resumed run rebuilds
    every node exactly from its position in the tree.
    """

    def __init__(self, seed: int, params: SimParams):
        self.seed = seed
        self.params = params

    def root(self) -> NodeDraw:
        rng = node_rng(self.seed, ())
        return NodeDraw((), root(self.params), rng.random(self.params.n_tasks))

    def child(self, parent: NodeDraw, ordinal: int) -> NodeDraw:
        """The ``ordinal``-th child (0-based, invalid ones counted) of ``parent``."""
        if not parent.latent.valid:
            raise ValueError(f"node at {parent.path} is invalid and cannot be expanded")
        path = (*parent.path, ordinal)
        rng = node_rng(self.seed, path)
        lat = draw_child(parent.latent.q, rng, self.params)
        return NodeDraw(path, lat, rng.random(self.params.n_tasks) if lat.valid else None)
