"""Staged evaluation as a wrapper around any policy: decisions on hand-built trees."""

from __future__ import annotations

import numpy as np
import pytest

from hgm.search import Evaluate, Expand, Wait, get_policy
from hgm.search.dgm import DGMPolicy
from hgm.search.greedy import GreedyPolicy
from hgm.search.hgm import HGMPolicy
from hgm.search.random_policy import RandomPolicy
from hgm.search.staged import StagedPolicy
from hgm.search.tree import TreeStats
from hgm.sim.runner import simulate_run
from hgm.testing import build_stats

INNERS = [
    HGMPolicy(),
    GreedyPolicy(evals_per_node=10),
    RandomPolicy(evals_per_node=10),
    DGMPolicy(),
]


def decisions(policy, snap, n: int = 200) -> list:
    return [policy.decide(snap, np.random.default_rng(seed)) for seed in range(n)]


def targets(actions) -> set[int]:
    return {a.node for a in actions if isinstance(a, Expand | Evaluate)}


# --- stage 1 ------------------------------------------------------------------------------


def test_new_child_gets_its_stage1_evaluations_before_anything_else():
    snap = build_stats("0>1", {0: "pppppppppp"}, n_tasks=20).snapshot()
    policy = StagedPolicy(HGMPolicy(), stage1=3, threshold=0.4)
    assert set(decisions(policy, snap)) == {Evaluate(1, 0)}


def test_stage1_evaluations_go_to_the_oldest_node_that_owes_them():
    snap = build_stats("0>1, 0>2", {0: "ppppp", 1: "p"}, n_tasks=20).snapshot()
    policy = StagedPolicy(HGMPolicy(), stage1=3, threshold=0.4)
    assert policy.decide(snap, np.random.default_rng(0)) == Evaluate(1, 1)


@pytest.mark.parametrize("inner", INNERS, ids=lambda p: p.name)
def test_node_below_threshold_is_never_expanded_or_evaluated_further(inner):
    # Node 1 passed 1 of its 5 stage-1 tasks (0.2 < 0.4); node 2 passed 2 of 5 (0.4).
    snap = build_stats("0>1, 0>2", {0: "ppfffppfff", 1: "pffff", 2: "ppfff"}, n_tasks=20).snapshot()
    policy = StagedPolicy(inner, stage1=5, threshold=0.4)
    chosen = targets(decisions(policy, snap))
    assert 1 not in chosen
    assert chosen  # the others still get work


def test_without_the_gate_the_inner_policy_would_evaluate_the_weak_node():
    snap = build_stats("0>1", {0: "ppfffppfff", 1: "pffff"}, n_tasks=20).snapshot()
    inner = GreedyPolicy(evals_per_node=10)
    assert inner.decide(snap, np.random.default_rng(0)) == Evaluate(1, 5)
    assert StagedPolicy(inner, stage1=5, threshold=0.4).decide(
        snap, np.random.default_rng(0)
    ) != Evaluate(1, 5)


def test_node_at_the_threshold_passes_the_gate():
    snap = build_stats("0>1", {0: "ppfffppfff", 1: "ppfff"}, n_tasks=20).snapshot()
    policy = StagedPolicy(GreedyPolicy(evals_per_node=10), stage1=5, threshold=0.4)
    assert policy.decide(snap, np.random.default_rng(0)) == Evaluate(1, 5)


def test_node_whose_stage1_results_are_in_flight_is_neither_expanded_nor_given_more():
    stats = build_stats("0>1", {0: "ppppp"}, n_tasks=20)
    for _ in range(3):
        stats.take_task(1)
    policy = StagedPolicy(HGMPolicy(), stage1=3, threshold=0.4)
    chosen = decisions(policy, stats.snapshot())
    assert 1 not in targets(chosen)
    assert any(isinstance(a, Expand) for a in chosen)  # the root is still open


def test_root_passes_the_gate_whatever_its_score():
    snap = build_stats("", {0: "fffff"}, n_tasks=20).snapshot()
    policy = StagedPolicy(HGMPolicy(), stage1=5, threshold=0.4)
    assert set(decisions(policy, snap, 20)) == {Expand(0)}


def test_waits_while_the_only_stage1_results_are_in_flight():
    stats = build_stats("", n_tasks=10)
    for _ in range(3):
        stats.take_task(0)
    policy = StagedPolicy(HGMPolicy(), stage1=3, threshold=0.4)
    assert policy.decide(stats.snapshot(), np.random.default_rng(0)) == Wait()


def test_stage2_caps_evaluations_but_not_expansion():
    snap = build_stats("0>1", {0: "ppppp", 1: "ppppp"}, n_tasks=20).snapshot()
    # alpha=0.1: 10 evaluations ** 0.1 < 2 nodes, so HGM wants to evaluate...
    assert all(isinstance(a, Evaluate) for a in decisions(HGMPolicy(alpha=0.1), snap, 20))
    # ...but both nodes have their stage2=5 evaluations, so it can only expand.
    policy = StagedPolicy(HGMPolicy(alpha=0.1), stage1=3, threshold=0.4, stage2=5)
    actions = decisions(policy, snap, 50)
    assert all(isinstance(a, Expand) for a in actions)
    assert targets(actions) == {0, 1}


def test_gated_view_hides_only_gated_nodes_and_keeps_clade_statistics():
    snap = build_stats(
        "0>1, 0>2, 2>3", {0: "ppppp", 1: "fffff", 2: "ppppf", 3: "pp"}, n_tasks=10
    ).snapshot()
    view = StagedPolicy(HGMPolicy(), stage1=5, threshold=0.4).gated_view(snap)
    assert view.valid.tolist() == [True, False, True, False]
    assert view.next_task.tolist() == [5, -1, 5, -1]
    assert view.clade_pass.tolist() == snap.clade_pass.tolist()
    assert view.clade_fail.tolist() == snap.clade_fail.tolist()
    assert not view.valid.flags.writeable and not view.next_task.flags.writeable


def test_same_snapshot_and_seed_give_the_same_action():
    snap = build_stats("0>1, 0>2", {0: "ppfffppfff", 1: "ppppp", 2: "ppfff"}, n_tasks=20).snapshot()
    policy = StagedPolicy(HGMPolicy(), stage1=5, threshold=0.4)
    assert decisions(policy, snap, 30) == decisions(policy, snap, 30)


# --- specs ----------------------------------------------------------------------------------


def test_staged_parameter_wraps_any_policy():
    policy = get_policy("hgm?alpha=0.5&staged=5,0.4")
    assert policy == StagedPolicy(HGMPolicy(alpha=0.5), stage1=5, threshold=0.4)
    assert policy.name == "hgm+staged(5,0.4)"
    capped = get_policy("greedy?evals_per_node=8&staged=3,0.5,20")
    assert capped == StagedPolicy(
        GreedyPolicy(evals_per_node=8), stage1=3, threshold=0.5, stage2=20
    )


def test_colons_may_separate_the_stages_inside_comma_separated_lists():
    assert get_policy("dgm?staged=3:0.5:9") == StagedPolicy(DGMPolicy(), 3, 0.5, 9)


@pytest.mark.parametrize("value", ["5", "5,x", "a,0.4", "5,0.4,6,7", ""])
def test_malformed_staged_parameter_is_a_clear_error(value):
    with pytest.raises(ValueError, match="STAGE1,THRESHOLD"):
        get_policy(f"hgm?staged={value}" if value else "hgm?staged=,")


@pytest.mark.parametrize(
    ("stage1", "threshold", "stage2"),
    [(0, 0.4, None), (5, 1.5, None), (5, -0.1, None), (5, 0.4, 3)],
)
def test_out_of_range_stages_are_rejected(stage1, threshold, stage2):
    with pytest.raises(ValueError):
        StagedPolicy(HGMPolicy(), stage1=stage1, threshold=threshold, stage2=stage2)


# --- a whole run ------------------------------------------------------------------------------


def test_in_a_whole_run_a_node_that_fails_its_gate_gets_no_more_work():
    stage1, threshold = 4, 0.5
    policy = get_policy(f"hgm?staged={stage1},{threshold}")
    stats = TreeStats(n_tasks=30)
    stats.add_node(None)
    quality, failed, world = {0: 0.5}, set(), np.random.default_rng(8)
    for step in range(600):
        action = policy.decide(stats.snapshot(), np.random.default_rng(step))
        assert isinstance(action, Expand | Evaluate), action
        assert action.node not in failed, (step, action)
        if isinstance(action, Expand):
            quality[stats.add_node(action.node)] = world.uniform(0.0, 1.0)
            continue
        node = action.node
        task = stats.take_task(node, action.task)
        stats.record_eval(node, task, "pass" if world.random() < quality[node] else "fail")
        snap = stats.snapshot()
        if node and snap.own_evals()[node] == stage1 and snap.own_pass[node] / stage1 < threshold:
            failed.add(node)
    snap = stats.snapshot()
    passed = [n for n in range(1, snap.n_nodes) if n not in failed and snap.own_evals()[n] > stage1]
    assert failed and passed  # both kinds occurred
    assert all(snap.children[n] == 0 and snap.own_evals()[n] == stage1 for n in failed)


def test_simulator_runs_a_staged_policy_from_its_spec():
    result = simulate_run("hgm?staged=5,0.4", seed=3)
    assert result.stop_reason == "budget spent"
    done = result.own_pass + result.own_fail
    children = np.bincount(result.parent[result.parent >= 0], minlength=result.n_nodes)
    failed = (result.parent >= 0) & (done == 5) & (result.own_pass / 5 < 0.4)
    assert failed.any() and (children[failed] == 0).all()
