"""Search policies decide on hand-built trees; the fast Thompson sampler is exact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, special, stats

from hgm.search import Evaluate, Expand, Policy, Stop, Wait, get_policy
from hgm.search.dgm import DGMPolicy
from hgm.search.greedy import GreedyPolicy
from hgm.search.hgm import HGMPolicy
from hgm.search.random_policy import RandomPolicy
from hgm.search.sampling import tail_bound, thompson_argmax
from hgm.search.tree import TreeStats

ROOT = Path(__file__).resolve().parents[1]
OUTCOME = {"p": "pass", "f": "fail", "e": "error"}


def tree(parents, results=None, *, n_tasks=20, invalid=(), in_flight=None) -> TreeStats:
    """``parents[i]`` is node i's parent (None: root); ``results[i]`` a string of p/f/e
    outcomes recorded on node i; ``in_flight[i]`` tasks of node i dispatched, not done."""
    t = TreeStats(n_tasks)
    for i, p in enumerate(parents):
        t.add_node(p, valid=i not in invalid)
    for node, outcomes in (results or {}).items():
        for ch in outcomes:
            t.record_eval(node, t.take_task(node), OUTCOME[ch])
    for node, k in (in_flight or {}).items():
        for _ in range(k):
            t.take_task(node)
    return t


def decide(policy, t: TreeStats, seed: int = 0):
    return policy.decide(t.snapshot(), np.random.default_rng(seed))


def counts(policy, t: TreeStats, draws: int, seed: int = 0) -> dict:
    rng, snap, out = np.random.default_rng(seed), t.snapshot(), {}
    for _ in range(draws):
        action = policy.decide(snap, rng)
        out[action] = out.get(action, 0) + 1
    return out


# -- the resolver ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "cls"),
    [("hgm", HGMPolicy), ("dgm", DGMPolicy), ("greedy", GreedyPolicy), ("random", RandomPolicy)],
)
def test_get_policy_builds_each_policy_by_name(spec, cls):
    policy = get_policy(spec)
    assert isinstance(policy, cls) and isinstance(policy, Policy) and policy.name == spec


def test_get_policy_passes_parameters():
    assert get_policy("hgm?alpha=0.5&sharpen=2") == HGMPolicy(alpha=0.5, sharpen=2)
    assert get_policy("dgm?stage1=3&threshold=0.5").stage1 == 3


def test_get_policy_rejects_bad_parameters():
    with pytest.raises(ValueError, match="bad parameters"):
        get_policy("hgm?beta=1")
    with pytest.raises(ValueError, match="alpha"):
        get_policy("hgm?alpha=0")
    with pytest.raises(ValueError, match="screen"):
        get_policy("hgm?screen=-1")


# -- HGM --------------------------------------------------------------------------------


def test_hgm_widening_evaluates_just_below_the_threshold():
    # 3 nodes, alpha 0.5: expand once sqrt(evals) >= 3, i.e. at 9 evaluations.
    t = tree([None, 0, 0], {0: "pfpfpfpf"})
    assert isinstance(decide(HGMPolicy(alpha=0.5), t), Evaluate)


def test_hgm_widening_expands_exactly_at_the_threshold():
    t = tree([None, 0, 0], {0: "pfpfpfpfp"})
    assert isinstance(decide(HGMPolicy(alpha=0.5), t), Expand)


def test_hgm_widening_counts_pending_expansions_as_nodes():
    t = tree([None, 0, 0], {0: "pfpfpfpfp"})
    t.start_expansion(0)
    assert isinstance(decide(HGMPolicy(alpha=0.5), t), Evaluate)


def test_hgm_evaluates_the_chosen_node_on_its_next_task():
    # Task 1 errored, so it is node 0's next task; 1 evaluation < 3 nodes: evaluate.
    t = tree([None, 0, 0], {0: "pe"}, n_tasks=5, invalid={1, 2})
    assert decide(HGMPolicy(), t) == Evaluate(0, 1)


def test_hgm_expands_when_no_task_is_left_to_evaluate():
    t = tree([None], {0: "p"}, n_tasks=1)  # widening wants an evaluation (1 ** a < 1 + 1)
    t.add_node(0)
    t.record_eval(1, t.take_task(1), "fail")
    assert decide(HGMPolicy(alpha=0.5), t) in {Expand(0), Expand(1)}


def test_hgm_screens_a_new_node_before_anything_else():
    # Node 0 is screened (5 evaluations); node 2 has 2 of its 5: it gets the next task.
    t = tree([None, 0, 0], {0: "pfpfp", 1: "ppppp", 2: "pf"})
    assert decide(HGMPolicy(alpha=0.1), t) == Evaluate(2, 2)


def test_hgm_screening_counts_evaluations_in_flight():
    # 2 done + 2 in flight: one more is owed; 2 done + 3 in flight: screening is complete
    # and Thompson sampling chooses among both nodes.
    owed = tree([None, 0], {0: "pfpfp", 1: "pf"}, in_flight={1: 2})
    assert counts(HGMPolicy(alpha=0.1), owed, 50) == {Evaluate(1, 4): 50}
    done = tree([None, 0], {0: "pfpfp", 1: "pf"}, in_flight={1: 3})
    assert set(counts(HGMPolicy(alpha=0.1), done, 100)) == {Evaluate(0, 5), Evaluate(1, 5)}


def test_hgm_never_expands_a_node_that_is_not_screened():
    # Node 1 looks perfect on 4 tasks but owes a fifth; widening wants an expansion.
    t = tree([None, 0], {0: "fffff" * 4, 1: "pppp"})
    seen = counts(HGMPolicy(alpha=1.0), t, 200)
    assert Expand(1) not in seen and set(seen) == {Expand(0)}


def test_hgm_waits_for_screening_in_flight_before_expanding():
    t = tree([None], in_flight={0: 1}, n_tasks=1)  # nothing to evaluate, nothing screened
    assert decide(HGMPolicy(), t) == Wait()
    assert decide(HGMPolicy(screen=0), t) == Expand(0)


def test_hgm_waits_when_nothing_is_possible_but_work_is_in_flight():
    t = tree([None], invalid={0})
    t.start_expansion(0)
    assert decide(HGMPolicy(), t) == Wait()


def test_hgm_stops_when_nothing_is_possible_and_nothing_is_in_flight():
    assert isinstance(decide(HGMPolicy(), tree([None, 0], invalid={0, 1})), Stop)


def test_hgm_never_expands_or_evaluates_an_invalid_node():
    t = tree([None, 0, 0], {0: "ffff"}, invalid={1})
    seen = counts(HGMPolicy(alpha=1.0, screen=0), t, 200)
    assert Expand(1) not in seen and set(seen) <= {Expand(0), Expand(2)}


def test_hgm_on_a_large_tree_never_picks_an_invalid_node():
    # Thousands of nodes take the grouped sampler, with invalid nodes masked out.
    rng = np.random.default_rng(0)
    parents = [None] + [int(rng.integers(i)) for i in range(1, 3000)]
    invalid = set(range(1, 3000, 3)) | {1500}
    t = tree(parents, {1500 - 1: "p" * 20}, invalid=invalid)
    for alpha, kind in ((0.5, Evaluate), (3.0, Expand)):  # 20**3 >= 3000 nodes
        seen = counts(HGMPolicy(alpha=alpha), t, 100)
        assert all(isinstance(a, kind) for a in seen)
        assert not {a.node for a in seen} & invalid


def test_hgm_expansion_prefers_the_clearly_better_clade():
    # Node 1's clade passes 18/20 (through its child 3), node 2's 2/20.
    t = tree([None, 0, 0, 1], {3: "p" * 18 + "ff", 2: "pp" + "f" * 18})
    seen = counts(HGMPolicy(alpha=1.0, screen=0), t, 400)
    best_clade = seen.get(Expand(1), 0) + seen.get(Expand(3), 0)
    assert best_clade >= 0.95 * 400
    assert seen.get(Expand(1), 0) > 40  # the clade counts, not only the node's own results


def test_hgm_evaluation_target_follows_own_results():
    t = tree([None, 0, 0], {0: "ffffffff", 1: "pppppp", 2: "ffffff"}, n_tasks=40)
    seen = counts(HGMPolicy(alpha=0.1), t, 300)
    assert seen.get(Evaluate(1, 6), 0) >= 0.9 * 300


def test_hgm_same_seed_gives_the_same_decisions():
    assert _simulate(HGMPolicy(), seed=7) == _simulate(HGMPolicy(), seed=7)
    assert _simulate(HGMPolicy(), seed=7) != _simulate(HGMPolicy(), seed=8)


def test_hgm_sharpening_is_greedier_late_in_the_budget():
    t = tree([None, 0, 0], {1: "ppppppffff", 2: "ppppffffff"})
    t.budget_fraction = 1.0
    plain = counts(HGMPolicy(alpha=1.0, sharpen=0, screen=0), t, 400).get(Expand(1), 0)
    sharp = counts(HGMPolicy(alpha=1.0, sharpen=30, screen=0), t, 400).get(Expand(1), 0)
    assert sharp > plain + 40


def test_hgm_sharpening_changes_nothing_at_the_start_of_the_budget():
    t = tree([None, 0, 0], {1: "ppppppffff", 2: "ppppffffff"})
    sharp, plain = HGMPolicy(alpha=1.0, sharpen=30), HGMPolicy(alpha=1.0, sharpen=0)
    assert counts(sharp, t, 50) == counts(plain, t, 50)


def _simulate(policy, seed: int, steps: int = 60) -> list:
    """A synchronous loop: the policy decides, the work completes at once."""
    rng, t = np.random.default_rng(seed), tree([None], n_tasks=8)
    out = []
    for _ in range(steps):
        action = policy.decide(t.snapshot(), rng)
        out.append(action)
        if isinstance(action, Expand):
            t.add_node(action.node, valid=bool(rng.random() < 0.8))
        elif isinstance(action, Evaluate):
            t.take_task(action.node, action.task)
            t.record_eval(action.node, action.task, "pass" if rng.random() < 0.4 else "fail")
        else:
            break
    return out


# -- DGM ---------------------------------------------------------------------------------


def test_dgm_evaluates_the_root_through_stage_two():
    assert decide(DGMPolicy(stage1=5, stage2=15), tree([None], {0: "fffff"})) == Evaluate(0, 5)


def test_dgm_stops_evaluating_after_stage_one_below_threshold():
    t = tree([None, 0], {0: "p" * 15, 1: "pffff"})  # 1/5 < 0.4
    assert decide(DGMPolicy(stage1=5, stage2=15), t) == Expand(0) or decide(DGMPolicy(stage1=5, stage2=15), t) == Expand(1)
    assert not any(isinstance(a, Evaluate) for a in counts(DGMPolicy(stage1=5, stage2=15), t, 50))


def test_dgm_continues_to_stage_two_at_the_threshold():
    t = tree([None, 0], {0: "p" * 15, 1: "ppfff"})  # 2/5 = 0.4
    assert decide(DGMPolicy(stage1=5, stage2=15), t) == Evaluate(1, 5)


def test_dgm_keeps_evaluating_a_node_already_in_stage_two():
    # 2/5 let it through; a bad stage 2 so far does not stop it before 15.
    t = tree([None, 0], {0: "p" * 15, 1: "ppfff" + "fff"})
    assert decide(DGMPolicy(stage1=5, stage2=15), t) == Evaluate(1, 8)


def test_dgm_evaluates_the_oldest_node_first():
    t = tree([None, 0, 0], {0: "p" * 15, 2: "pp"})
    assert decide(DGMPolicy(stage1=5, stage2=15), t) == Evaluate(1, 0)


def test_dgm_does_not_over_dispatch_and_expands_meanwhile():
    t = tree([None, 0], {0: "p" * 15, 1: "pppp"}, in_flight={1: 1})
    assert decide(DGMPolicy(stage1=5, stage2=15), t) == Expand(0)  # node 1 is not finished: not a parent


def test_dgm_waits_while_the_only_evaluations_are_in_flight():
    assert decide(DGMPolicy(stage1=5, stage2=15), tree([None], in_flight={0: 15})) == Wait()


def test_dgm_stops_when_there_are_no_tasks():
    assert isinstance(decide(DGMPolicy(stage1=5, stage2=15), tree([None], n_tasks=0)), Stop)


def test_dgm_parent_weight_falls_with_the_number_of_children():
    # Nodes 1 and 2 score alike; node 1 has 9 (invalid) children, so weight 1/10 vs 1.
    parents = [None, 0, 0] + [1] * 9
    t = tree(
        parents,
        {0: "f" * 15, 1: "ppppp" + "p" * 10, 2: "ppppp" + "p" * 10},
        invalid=set(range(3, 12)),
    )
    seen = counts(DGMPolicy(stage1=5, stage2=15), t, 600)
    assert seen.get(Expand(2), 0) > 4 * seen.get(Expand(1), 0)
    assert seen.get(Expand(1), 0) > 0


def test_dgm_parent_weight_rises_with_the_score():
    t = tree([None, 0, 0], {0: "f" * 15, 1: "pp" + "p" * 13, 2: "ppfff" + "f" * 10})
    seen = counts(DGMPolicy(stage1=5, stage2=15), t, 400)
    assert seen.get(Expand(1), 0) > 5 * seen.get(Expand(2), 0)


# -- greedy and random -------------------------------------------------------------------


def test_greedy_evaluates_the_root_up_to_the_quota_first():
    assert decide(GreedyPolicy(evals_per_node=5), tree([None, 0], {0: "ppp"})) == Evaluate(0, 3)


def test_greedy_evaluates_unevaluated_nodes_lowest_id_first():
    assert decide(GreedyPolicy(evals_per_node=5), tree([None, 0, 0], {0: "ppppp"})) == Evaluate(1, 0)


def test_greedy_expands_the_best_own_mean():
    t = tree([None, 0, 0], {0: "ppfff", 1: "ppppf", 2: "pffff"})
    assert decide(GreedyPolicy(evals_per_node=5), t) == Expand(1)


def test_greedy_breaks_ties_at_random_among_the_tied_only():
    t = tree([None, 0, 0], {0: "ppppf", 1: "pffff", 2: "ppppf"})
    assert set(counts(GreedyPolicy(evals_per_node=5), t, 100)) == {Expand(0), Expand(2)}


def test_greedy_waits_for_in_flight_evaluations_before_any_expansion():
    assert decide(GreedyPolicy(evals_per_node=5), tree([None], {0: "pp"}, in_flight={0: 3})) == Wait()


def test_greedy_quota_is_capped_by_the_number_of_tasks():
    t = tree([None], {0: "pp"}, n_tasks=2)
    assert decide(GreedyPolicy(evals_per_node=5), t) == Expand(0)


def test_random_expands_evaluated_nodes_uniformly():
    t = tree([None, 0, 0, 0], {0: "fffff", 1: "ppppp", 2: "fffff"}, in_flight={3: 5})
    seen = counts(RandomPolicy(), t, 300)
    assert set(seen) == {Expand(0), Expand(1), Expand(2)}
    assert min(seen.values()) > 60


def test_random_evaluates_before_expanding():
    assert decide(RandomPolicy(), tree([None, 0], {0: "fffff", 1: "f"})) == Evaluate(1, 1)


# -- the fast Thompson sampler ------------------------------------------------------------


def _win_probabilities(a, b, m):
    """P(some arm of unit j has the largest draw), units of m_j iid Beta(a_j, b_j) arms."""
    out = []
    for j in range(len(a)):

        def density(x, j=j):
            others = np.prod(
                [special.betainc(a[k], b[k], x) ** m[k] for k in range(len(a)) if k != j]
            )
            pdf = np.exp(
                (a[j] - 1) * np.log(x) + (b[j] - 1) * np.log1p(-x) - special.betaln(a[j], b[j])
            )
            return m[j] * pdf * special.betainc(a[j], b[j], x) ** (m[j] - 1) * others

        out.append(integrate.quad(density, 0, 1, limit=400, epsabs=1e-12)[0])
    return np.array(out)


def _chi2_pvalue(observed, expected_p):
    n = observed.sum()
    keep = expected_p * n >= 5  # pool sparse cells, as the test requires
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected_p[keep], expected_p[~keep].sum()) * n
    obs, exp = obs[exp > 0], exp[exp > 0]
    return stats.chisquare(obs, exp).pvalue


# Units (passes, fails, multiplicity): grouped small counts with many copies, and large
# counts (>= 32) whose posteriors sit close to the groups' maxima so they often win.
UNITS = [((0, 0), 6), ((3, 0), 4), ((2, 2), 5), ((60, 4), 1), ((70, 3), 1), ((31, 2), 2)]


def _arms(units):
    p = np.concatenate([[u[0][0]] * u[1] for u in units])
    f = np.concatenate([[u[0][1]] * u[1] for u in units])
    unit_of = np.concatenate([[j] * u[1] for j, u in enumerate(units)])
    return p, f, unit_of


@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_grouped_sampler_matches_exact_win_probabilities(scale):
    p, f, unit_of = _arms(UNITS)
    a = np.array([scale * (1 + u[0][0]) for u in UNITS])
    b = np.array([scale * (1 + u[0][1]) for u in UNITS])
    expected = _win_probabilities(a, b, np.array([u[1] for u in UNITS]))
    assert abs(expected.sum() - 1) < 1e-6
    # Arms left out by `eligible` would win or would enlarge a group if they took part.
    p, f = np.append(p, [500, 0, 0]), np.append(f, [0, 0, 0])
    eligible = np.arange(p.size) < unit_of.size
    rng = np.random.default_rng(123)
    picks = np.array(
        [
            thompson_argmax(p, f, rng, scale=scale, eligible=eligible, method="grouped")
            for _ in range(4000)
        ]
    )
    assert (picks < unit_of.size).all()
    per_unit = np.bincount(unit_of[picks], minlength=len(UNITS))
    assert _chi2_pvalue(per_unit, expected) > 1e-6


def test_direct_sampler_matches_the_same_probabilities():
    # Checks the reference integration itself against numpy's Beta draws.
    p, f, unit_of = _arms(UNITS)
    a = np.array([1.0 + u[0][0] for u in UNITS])
    b = np.array([1.0 + u[0][1] for u in UNITS])
    expected = _win_probabilities(a, b, np.array([u[1] for u in UNITS]))
    rng = np.random.default_rng(5)
    picks = [thompson_argmax(p, f, rng, method="direct") for _ in range(4000)]
    assert _chi2_pvalue(np.bincount(unit_of[picks], minlength=len(UNITS)), expected) > 1e-6


def test_grouped_sampler_picks_uniformly_within_a_group():
    p, f = np.zeros(200, dtype=np.int64), np.zeros(200, dtype=np.int64)
    p[:100] = 40  # a large arm block that rarely wins, to mix in pruned arms
    f[:100] = 60
    rng = np.random.default_rng(9)
    picks = np.array([thompson_argmax(p, f, rng, method="grouped") for _ in range(3000)])
    assert (picks >= 100).all()
    assert stats.chisquare(np.bincount(picks - 100, minlength=100)).pvalue > 1e-6


def test_grouped_sampler_on_many_arms_agrees_with_direct_draws():
    # Thousands of arms (the "auto" path): compare both samplers' choice frequencies.
    rng = np.random.default_rng(3)
    n = 3000
    p = rng.integers(0, 60, n)
    f = rng.integers(0, 60, n)
    p[:5], f[:5] = [200, 150, 90, 2, 0], [20, 10, 5, 0, 0]
    fast = np.bincount([thompson_argmax(p, f, rng) for _ in range(1000)], minlength=n)
    slow = np.bincount(
        [thompson_argmax(p, f, rng, method="direct") for _ in range(1000)], minlength=n
    )
    top = np.flatnonzero(fast + slow >= 20)
    table = np.array(
        [
            np.append(fast[top], fast.sum() - fast[top].sum()),
            np.append(slow[top], slow.sum() - slow[top].sum()),
        ]
    )
    table = table[:, table.sum(axis=0) > 0]
    assert stats.chi2_contingency(table).pvalue > 1e-6


def test_tail_bound_is_never_below_the_exact_tail():
    a, b, t = np.meshgrid(
        np.concatenate([np.arange(1, 40), [50.5, 99, 300, 1234.5]]),
        np.concatenate([np.arange(1, 40), [47.25, 101, 280, 2000]]),
        np.linspace(0.0, 1.0, 201),
        indexing="ij",
    )
    exact = special.betaincc(a, b, t)
    assert (tail_bound(a, b, t) >= exact - 1e-12).all()


def test_sampler_rejects_empty_input_and_unknown_methods():
    with pytest.raises(ValueError):
        thompson_argmax(np.array([]), np.array([]), np.random.default_rng())
    with pytest.raises(ValueError, match="unknown method"):
        thompson_argmax(np.array([1]), np.array([1]), np.random.default_rng(), method="x")


# -- the benchmark script runs ------------------------------------------------------------


def test_scheduler_benchmark_prints_the_json_record():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scheduler.py"), "--nodes", "300", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    record = json.loads(out.stdout)
    assert set(record) == {"nodes", "decision_ms_median", "update_ms_median", "depth"}
    assert record["nodes"] == 300 and record["depth"] >= 1


def test_hgm_widening_counts_failed_expansions():
    stats = TreeStats(20)
    stats.add_node(None)
    for _ in range(3):
        task = stats.take_task(0)
        stats.record_eval(0, task, "fail")
    policy = HGMPolicy(alpha=0.6)  # 3 ** 0.6 = 1.93: room for one expansion attempt, not two
    assert policy.wants_expansion(stats.snapshot())
    stats.start_expansion(0)
    stats.end_expansion(0, failed=True)
    assert not policy.wants_expansion(stats.snapshot())
    assert isinstance(policy.decide(stats.snapshot(), np.random.default_rng(0)), Evaluate)


def test_hgm_expands_only_while_the_evaluations_left_can_screen_the_child():
    # Node 0 screened, node 1 owes 3 screening evaluations; widening wants an expansion.
    t = tree([None, 0], {0: "pfpfp" * 4, 1: "pp"})
    t.evals_left = 3 + 5  # the owed 3, then a new child's 5
    assert decide(HGMPolicy(alpha=1.0), t) == Expand(0)
    t.evals_left = 3 + 4
    assert decide(HGMPolicy(alpha=1.0), t) == Evaluate(1, 2)  # screening instead
    t.start_expansion(0)  # a child on its way is owed its screening too
    t.evals_left = 3 + 5
    assert decide(HGMPolicy(alpha=1.0), t) == Evaluate(1, 2)
    t.evals_left = None  # no evaluation budget: widening alone decides
    assert decide(HGMPolicy(alpha=1.0), t) == Expand(0)


def test_hgm_says_why_it_stops_when_the_budget_cannot_screen_a_child():
    t = tree([None], {0: "pfpf"}, n_tasks=4)  # screened, and no task left
    t.evals_left = 3
    action = decide(HGMPolicy(), t)
    assert isinstance(action, Stop) and "3 evaluations left cannot screen" in action.reason
