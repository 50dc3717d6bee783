"""``hgm?preset=paper`` (the reference HGM minus its bugs) and the ``hgm?clade=0`` ablation."""

from __future__ import annotations

import numpy as np
import pytest

from hgm.search import Evaluate, Expand, Wait, get_policy
from hgm.search.hgm import HGMPolicy
from hgm.search.hgm_paper import PaperHGMPolicy
from hgm.search.tree import TreeStats
from hgm.sim import SimParams, simulate_run

OUTCOME = {"p": "pass", "f": "fail", "e": "error"}


def tree(parents, results=None, *, n_tasks=20, invalid=(), failed=0, pending=0) -> TreeStats:
    t = TreeStats(n_tasks)
    for i, p in enumerate(parents):
        t.add_node(p, valid=i not in invalid)
    for node, outcomes in (results or {}).items():
        for ch in outcomes:
            t.record_eval(node, t.take_task(node), OUTCOME[ch])
    for _ in range(failed):
        t.start_expansion(0)
        t.end_expansion(0, failed=True)
    for _ in range(pending):
        t.start_expansion(0)
    return t


def decisions(policy, t: TreeStats, draws: int = 300) -> set:
    rng, snap = np.random.default_rng(0), t.snapshot()
    return {policy.decide(snap, rng) for _ in range(draws)}


def test_the_spec_builds_the_preset_with_its_reference_defaults():
    policy = get_policy("hgm?preset=paper")
    assert isinstance(policy, PaperHGMPolicy)
    assert (policy.alpha, policy.initial, policy.root_eval, policy.cool_down) == (0.6, 5, "outside", 0)
    tuned = get_policy("hgm?preset=paper&cool_down=1&beta=2&root_eval=inside")
    assert (tuned.cool_down, tuned.beta, tuned.root_eval, tuned.root_eval_uncharged) == (1, 2.0, "inside", False)
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        get_policy("hgm?preset=nope")
    with pytest.raises(ValueError, match="no 'sharpen'"):
        get_policy("hgm?preset=paper&sharpen=1")
    with pytest.raises(ValueError, match="root_eval"):
        get_policy("hgm?preset=paper&root_eval=never")


def test_the_root_is_evaluated_on_every_task_then_expanded_five_times():
    policy, t = PaperHGMPolicy(), tree([None], n_tasks=6)
    rng = np.random.default_rng(1)
    for _ in range(6):
        action = policy.decide(t.snapshot(), rng)
        assert isinstance(action, Evaluate) and action.node == 0
        t.record_eval(0, t.take_task(0, action.task), "pass")
    for k in range(5):  # five expansion attempts of the root, whatever the widening says
        assert policy.decide(t.snapshot(), rng) == Expand(0)
        t.start_expansion(0)
        if k == 2:
            t.end_expansion(0, failed=True)  # a failed attempt counts among the five
        else:
            t.add_node(0, valid=k != 3)
            t.end_expansion(0)
    # 0 evaluations of non-root nodes: 0 ** 0.6 < 3 valid children, so evaluate a child.
    action = policy.decide(t.snapshot(), rng)
    assert isinstance(action, Evaluate) and action.node in (1, 2, 4)


def test_with_root_results_in_flight_the_initial_expansions_wait():
    t = tree([None], {0: "pp"}, n_tasks=3)
    t.take_task(0)  # the root's last task is running
    assert decisions(PaperHGMPolicy(), t) == {Wait()}


def test_a_run_starts_with_the_five_root_expansions():
    res = simulate_run("hgm?preset=paper", 3, SimParams(budget=120))
    assert res.own_pass[0] + res.own_fail[0] == 50  # the root on every task first
    assert list(res.parent[1:6]) == [0] * 5


def test_no_node_without_an_evaluation_or_with_mean_zero_is_expanded():
    # root 0/20 (mean 0); 1 unevaluated; 2: 0/3; 3: 1/2; 4: invalid. alpha 1: 5 evals >= 3 nodes.
    t = tree([None, 0, 0, 0, 0], {0: "f" * 20, 2: "fff", 3: "pf"}, invalid={4})
    policy = PaperHGMPolicy(alpha=1.0, initial=0)
    assert policy.wants_expansion(t.snapshot())
    assert decisions(policy, t) == {Expand(3)}
    assert policy.parents(t.snapshot()).tolist() == [False, False, False, True, False]


def test_with_no_eligible_parent_it_evaluates_instead():
    t = tree([None, 0, 0], {0: "f" * 20, 2: "fff"})
    policy = PaperHGMPolicy(alpha=1.0, initial=0)
    assert policy.wants_expansion(t.snapshot())
    assert {type(a) for a in decisions(policy, t)} == {Evaluate}


def test_widening_counts_non_root_evaluations_against_valid_non_root_nodes_and_pending():
    # Root: 20 evaluations (left out). Children: 3 valid, 2 invalid (not counted), a failed
    # attempt (not counted), one pending (counted): 4 = 10.08 ** 0.6.
    def at(evals: int) -> TreeStats:
        results = {0: "p" * 20, 1: "pf" * (evals // 2) + "p" * (evals % 2)}
        return tree([None, 0, 0, 0, 0, 0], results, n_tasks=30, invalid={4, 5}, failed=1, pending=1)

    policy = PaperHGMPolicy()
    assert policy.widening_count(at(10).snapshot()) == (10, 4)
    assert not policy.wants_expansion(at(10).snapshot())  # 10 ** 0.6 = 3.98 < 4
    assert policy.wants_expansion(at(11).snapshot())  # 11 ** 0.6 = 4.21 >= 4
    # hgm's own rule counts the root's evaluations and every attempt: 31 ** 0.7 = 11 >= 8.
    assert HGMPolicy().wants_expansion(at(11).snapshot())


def test_evaluations_take_a_uniformly_random_untried_task():
    # Node 1 tried tasks 0 and 1; every other node has none left, so node 1 is evaluated
    # (alpha 0.01: the tree is wide enough, so the policy evaluates).
    t = tree([None, 0, 0, 0], {0: "p" * 10, 1: "pf", 2: "p" * 10, 3: "f" * 10}, n_tasks=10)
    policy = PaperHGMPolicy(alpha=0.01, initial=0)
    seen = [a.task for a in (policy.decide(t.snapshot(), np.random.default_rng(s)) for s in range(800))]
    assert {a.node for a in decisions(policy, t)} == {1}
    counts = np.bincount(seen, minlength=10)
    assert counts[:2].tolist() == [0, 0]
    assert counts[2:].min() > 800 / 8 * 0.6  # every untried task comes up, about evenly


def test_an_errored_task_is_retried_before_a_random_one():
    t = tree([None, 0, 0, 0], {0: "p" * 10, 1: "pf", 2: "p" * 10, 3: "f" * 10}, n_tasks=10)
    t.record_eval(1, t.take_task(1, 7), "error")
    assert decisions(PaperHGMPolicy(alpha=0.01, initial=0), t) == {Evaluate(1, 7)}


def test_simulated_runs_evaluate_out_of_the_task_order():
    res = simulate_run("hgm?preset=paper", 0, SimParams(budget=200))
    assert res.n_nodes > 6 and (res.own_pass + res.own_fail).sum() > 50


def test_root_evaluation_is_free_outside_the_budget_and_paid_inside():
    outside = simulate_run("hgm?preset=paper", 2, SimParams(budget=150))
    inside = simulate_run("hgm?preset=paper&root_eval=inside", 2, SimParams(budget=150))
    for res, root_cost in ((outside, 0), (inside, 50)):
        evals = int((res.own_pass + res.own_fail).sum())
        expansions = res.n_nodes - 1
        assert res.spent == evals - 50 + root_cost + 3 * expansions
        assert res.own_pass[0] + res.own_fail[0] == 50


def test_cool_down_multiplies_both_parameters_by_the_reference_factor():
    policy = PaperHGMPolicy(cool_down=1, beta=2.0)
    t = tree([None])
    t.budget_fraction = 0.75
    assert policy.scale(t.snapshot()) == pytest.approx(16.0)  # (N / (N - n)) ** beta
    t.budget_fraction = 1.0
    assert policy.scale(t.snapshot()) == 10_000.0
    assert PaperHGMPolicy().scale(t.snapshot()) == 1.0


def _subtree_sums(parent: np.ndarray, own: np.ndarray) -> np.ndarray:
    total = own.astype(np.int64).copy()
    for i in range(len(parent) - 1, 0, -1):
        total[parent[i]] += total[i]
    return total


def test_clade_counts_never_double_count_over_random_trees_and_event_orders():
    # Property test (seeded random loop): random trees grown in random orders, evaluations
    # dispatched and completed in random orders, errors and retries, and the preset
    # deciding (read-only) after every event: each clade count is exactly the sum of the
    # own counts over the node's subtree, however many decisions were taken.
    policy = PaperHGMPolicy(initial=0)
    for seed in range(40):
        rng = np.random.default_rng(seed)
        t = TreeStats(int(rng.integers(3, 12)))
        t.add_node(None)
        in_flight: list[tuple[int, int]] = []
        for _ in range(int(rng.integers(20, 120))):
            snap = t.snapshot()
            kind = rng.integers(4)
            if kind == 0:
                t.add_node(int(rng.integers(t.n_nodes)), valid=bool(rng.random() > 0.2))
            elif kind == 1:
                ready = np.flatnonzero(snap.next_task >= 0)
                if ready.size:
                    node = int(rng.choice(ready))
                    untried = np.flatnonzero(~snap.taken[node])
                    task = int(rng.choice(untried)) if untried.size and rng.random() < 0.5 else None
                    in_flight.append((node, t.take_task(node, task)))
            elif in_flight:
                node, task = in_flight.pop(int(rng.integers(len(in_flight))))
                t.record_eval(node, task, str(rng.choice(["pass", "fail", "error"], p=[0.45, 0.45, 0.1])))
            before = t.snapshot().copy()
            policy.decide(t.snapshot(), rng)  # deciding changes nothing
            snap = t.snapshot()
            for name in ("own_pass", "own_fail", "clade_pass", "clade_fail"):
                assert np.array_equal(getattr(snap, name), getattr(before, name))
            assert np.array_equal(snap.clade_pass, _subtree_sums(snap.parent, snap.own_pass))
            assert np.array_equal(snap.clade_fail, _subtree_sums(snap.parent, snap.own_fail))


def test_clade_counts_of_a_whole_preset_run_are_the_subtree_sums():
    res = simulate_run("hgm?preset=paper", 4, SimParams(budget=300, mismatch=1.0))
    assert np.array_equal(res.clade_pass, _subtree_sums(res.parent, res.own_pass))
    assert np.array_equal(res.clade_fail, _subtree_sums(res.parent, res.own_fail))
    assert res.clade_pass[0] + res.clade_fail[0] == (res.own_pass + res.own_fail).sum()


def test_clade_zero_ranks_parents_by_their_own_results():
    # Node 1: 1/5 on its own, a great clade (five unscreened children, 4/4 each); node 2:
    # 3/5 on its own, no children; the root 1/5 on its own. Only 0, 1 and 2 are screened.
    results = {0: "pffff", 1: "pffff", 2: "pppff", **{i: "pppp" for i in range(3, 8)}}
    t = tree([None, 0, 0, 1, 1, 1, 1, 1], results)
    t.budget_fraction = 1.0  # sharpened: each sampling follows its means closely
    assert decisions(HGMPolicy(alpha=1.0, screen=5), t, 200) == {Expand(1)}
    assert decisions(HGMPolicy(alpha=1.0, screen=5, clade=0), t, 200) == {Expand(2)}
    assert get_policy("hgm?clade=0").signal == "own" and get_policy("hgm").signal == "clade"
    with pytest.raises(ValueError, match="clade must be 0 or 1"):
        get_policy("hgm?clade=2")


@pytest.mark.slow
def test_the_real_loop_runs_the_preset(tmp_path):
    # The real loop charges the root's evaluations to --max-evals (it has no budget-free
    # evaluations); otherwise the preset behaves as in the simulator.
    import subprocess
    import sys

    from hgm.archive import Run
    from hgm.bench import get_benchmark

    ids = sorted(t.id for t in get_benchmark("builtin").tasks())[:4]
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "hgm.cli", "run", "--model", "scripted:demo", "--benchmark",
         f"builtin?ids={','.join(ids)}", "--sandbox", "local", "--max-evals", "12", "--workers", "2",
         "--policy", "hgm?preset=paper", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = Run.open(out, readonly=True)
    evals = run.evaluations()
    assert sorted(e.task_index for e in evals if e.node == 0) == [0, 1, 2, 3]  # the root on every task
    assert [n.parent for n in run.nodes()[1:6]] == [0] * 5  # then five root expansions
    assert len(evals) == 12
