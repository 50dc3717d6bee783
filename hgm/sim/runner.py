"""One simulated run: a policy searching the synthetic landscape, one action at a time.

The loop is sequential (nothing is ever in flight when the policy decides): take a
snapshot, ask the policy, apply the action, record it, until the budget is spent or the
policy stops. Step ``k`` of run ``seed`` hands the policy ``step_rng(seed, k)``; children and
evaluation outcomes come from the seed's :class:`~hgm.sim.landscape.World`, keyed by a
node's place in the tree. So a run's course depends on nothing but its seed, its policy and
its parameters, and a run resumed from its archive continues exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from hgm.search import Evaluate, Expand, Policy, Stop, get_policy
from hgm.search.final import final_agent
from hgm.search.tree import TreeStats
from hgm.sim import metrics
from hgm.sim.landscape import Latent, NodeDraw, SimParams, World, step_rng
from hgm.types import Outcome

FINAL_MIN_EVALS = 5
"""The final-agent rule's minimum number of own evaluations (hgm.search.final)."""
FINAL_LEVEL = 0.95
"""The final-agent rule's credible level."""


@dataclass(frozen=True, eq=False)  # arrays have no single truth value; compare fields
class SimResult:
    """The outcome of one simulated run.

    Per-node arrays are indexed by node id (length ``n_nodes``). ``s`` (pass-rate logit),
    ``p`` (pass rate) and ``q`` (potential) are NaN on invalid nodes. ``signal`` is the policy's selection signal (see
    :func:`hgm.sim.metrics.selection_signal`), ``clade_quality`` the mean true pass rate over
    each node's clade in the final tree. ``final_node`` is the node the shared final-agent
    rule picks and ``final_p`` its TRUE pass rate.
    ``signal_rank_corr`` is the Spearman correlation of ``signal`` and ``clade_quality``
    over valid nodes with at least one evaluation (NaN when undefined).
    """

    policy: str
    seed: int
    params: SimParams
    final_node: int
    final_p: float
    final_lower: float | None
    final_upper: float | None
    final_fallback: bool
    n_nodes: int
    steps: int
    spent: int
    stop_reason: str
    parent: np.ndarray = field(repr=False)
    valid: np.ndarray = field(repr=False)
    s: np.ndarray = field(repr=False)
    q: np.ndarray = field(repr=False)
    p: np.ndarray = field(repr=False)
    own_pass: np.ndarray = field(repr=False)
    own_fail: np.ndarray = field(repr=False)
    clade_pass: np.ndarray = field(repr=False)
    clade_fail: np.ndarray = field(repr=False)
    signal: np.ndarray = field(repr=False)
    clade_quality: np.ndarray = field(repr=False)
    signal_rank_corr: float = float("nan")

    @property
    def tree_best_p(self) -> float:
        """The best TRUE pass rate of any valid node in the tree (what the search found,
        whatever the final-agent rule then picked)."""
        return float(np.max(self.p[self.valid]))


class Recorder(Protocol):
    """Where a run's events go besides memory (the archive writer, in hgm.sim.record)."""

    def node(self, step: int, parent: int, child: Latent) -> None: ...

    def evaluation(self, step: int, node: int, task: int, passed: bool) -> None: ...


@dataclass
class RunState:
    """The mutable state of a run between steps: enough to continue it."""

    stats: TreeStats
    nodes: list[NodeDraw]
    step: int = 0
    spent: int = 0

    @classmethod
    def fresh(cls, world: World) -> RunState:
        stats = TreeStats(world.params.n_tasks)
        stats.add_node(None)
        return cls(stats=stats, nodes=[world.root()])


def simulate_run(
    policy_spec: str | Policy,
    seed: int,
    params: SimParams | None = None,
    out: Path | None = None,
) -> SimResult:
    """Run one policy on the landscape with ``seed`` until the budget is spent or it stops.

    ``policy_spec`` is a policy spec (``"hgm"``, ``"greedy"``, ``"hgm?alpha=0.6"``) or a
    policy object. With ``out``, the run is written there in the archive format (every
    node a commit, node meta ``{"s", "p", "q", "xi", "step"}``, every evaluation with its
    outcome); if ``out`` already holds a partial run of the same policy, seed and
    parameters it is resumed and finishes exactly as an uninterrupted run would.
    """
    params = params or SimParams()
    policy = get_policy(policy_spec) if isinstance(policy_spec, str) else policy_spec
    spec = policy_spec if isinstance(policy_spec, str) else policy.name
    world = World(seed, params)
    if out is None:
        state = RunState.fresh(world)
        stop_reason = _loop(policy, world, state, None)
    else:
        from hgm.sim.record import ArchiveRecorder  # imports this module; and git/SQLite

        with ArchiveRecorder.open_or_create(Path(out), spec, world) as recorder:
            state = recorder.state(uncharged_root=_uncharged_root(policy))
            stop_reason = _loop(policy, world, state, recorder)
    return _result(spec, policy, seed, params, state, stop_reason)


def _loop(policy: Policy, world: World, state: RunState, rec: Recorder | None) -> str:
    """Apply the policy's actions until the budget is spent; return why the run ended."""
    stats, budget = state.stats, world.params.budget
    uncharged_root = _uncharged_root(policy)
    while state.spent < budget:
        stats.budget_fraction = state.spent / budget
        stats.evals_left = budget - state.spent
        action = policy.decide(stats.snapshot(), step_rng(world.seed, state.step))
        if isinstance(action, Stop):
            return f"policy stopped: {action.reason}"
        if isinstance(action, Expand):
            _expand(action.node, world, state, rec)
            state.spent += world.params.expand_cost
        elif isinstance(action, Evaluate):
            _evaluate(action, state, rec)
            state.spent += 0 if action.node == 0 and uncharged_root else 1
        else:
            # Nothing is ever in flight here, so waiting could only wait forever.
            raise RuntimeError(f"policy {policy.name!r} returned {action!r} in a sequential run")
        state.step += 1
    stats.budget_fraction, stats.evals_left = 1.0, 0
    return "budget spent"


def _uncharged_root(policy: Policy) -> bool:
    """Does the policy ask for the seed agent's evaluations to be free? (The HGM paper
    evaluates it on every task before the run: see hgm.search.hgm_paper.)"""
    return bool(getattr(policy, "root_eval_uncharged", False))


def _expand(parent: int, world: World, state: RunState, rec: Recorder | None) -> None:
    stats = state.stats
    if not 0 <= parent < stats.n_nodes:
        raise ValueError(f"cannot expand unknown node {parent}")
    # The ordinal counts every earlier child, invalid ones too, as replay from disk does.
    child = world.child(state.nodes[parent], int(stats.snapshot().children[parent]))
    if rec is not None:  # durable before the next decision can use it
        rec.node(state.step, parent, child.latent)
    stats.start_expansion(parent)
    stats.add_node(parent, valid=child.latent.valid)
    stats.end_expansion(parent)
    state.nodes.append(child)


def _evaluate(action: Evaluate, state: RunState, rec: Recorder | None) -> None:
    stats = state.stats
    if not 0 <= action.node < stats.n_nodes:
        raise ValueError(f"cannot evaluate unknown node {action.node}")
    task = stats.take_task(action.node, action.task)
    passed = state.nodes[action.node].passes(task)
    if rec is not None:
        rec.evaluation(state.step, action.node, task, passed)
    stats.record_eval(action.node, task, Outcome.PASS if passed else Outcome.FAIL)


def _result(
    spec: str, policy: Policy, seed: int, params: SimParams, state: RunState, reason: str
) -> SimResult:
    snap = state.stats.snapshot().copy()
    n = snap.n_nodes
    latent = [d.latent for d in state.nodes]
    s = np.array([lat.s for lat in latent], dtype=float)
    q = np.array([lat.q for lat in latent], dtype=float)
    p = np.array([lat.p if lat.valid else np.nan for lat in latent], dtype=float)
    valid = snap.valid.copy()
    signal = metrics.selection_signal(
        metrics.signal_kind(policy), snap.own_pass, snap.own_fail, snap.clade_pass, snap.clade_fail
    )
    quality = metrics.clade_quality(snap.parent, p, valid)
    choice = final_agent(snap, min_evals=FINAL_MIN_EVALS, level=FINAL_LEVEL)
    final_node = 0 if choice is None else int(choice.node)
    arrays = dict(
        parent=snap.parent, valid=valid, s=s, q=q, p=p, own_pass=snap.own_pass,
        own_fail=snap.own_fail, clade_pass=snap.clade_pass, clade_fail=snap.clade_fail,
        signal=signal, clade_quality=quality,
    )  # fmt: skip
    for a in arrays.values():
        a.flags.writeable = False
    return SimResult(
        policy=spec,
        seed=seed,
        params=params,
        final_node=final_node,
        final_p=float(p[final_node]),
        final_lower=None if choice is None else float(choice.lower),
        final_upper=None if choice is None else float(choice.upper),
        final_fallback=True if choice is None else bool(choice.fallback),
        n_nodes=n,
        steps=state.step,
        spent=state.spent,
        stop_reason=reason,
        signal_rank_corr=metrics.rank_corr(signal, quality, valid & (snap.own_evals() > 0)),
        **arrays,
    )
