"""The final-agent rule and the pass-rate intervals the views show."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hgm.search.final import (
    FinalChoice,
    beta_interval,
    clade_pass_rate,
    final_agent,
    own_pass_rate,
)
from hgm.search.tree import TreeStats


def tree(parents, results=None, *, invalid=(), n_tasks=60) -> TreeStats:
    t = TreeStats(n_tasks)
    for i, p in enumerate(parents):
        t.add_node(p, valid=i not in invalid)
    for node, outcomes in (results or {}).items():
        for ch in outcomes:
            t.record_eval(node, t.take_task(node), {"p": "pass", "f": "fail", "e": "error"}[ch])
    return t


def test_final_agent_prefers_the_higher_lower_bound_over_a_lucky_node():
    # Node 1: 40/50. Node 2: 5/5, a higher observed rate and posterior mean, less evidence.
    t = tree([None, 0, 0], {0: "f" * 10, 1: "p" * 40 + "f" * 10, 2: "ppppp"})
    choice = final_agent(t.snapshot())
    assert choice.node == 1 and not choice.fallback
    assert (choice.evals, choice.passes) == (50, 40)


def test_final_agent_ignores_nodes_below_min_evals():
    t = tree([None, 0], {0: "pffff", 1: "ppp"})
    assert final_agent(t.snapshot(), min_evals=5).node == 0


def test_final_agent_falls_back_to_the_best_posterior_among_evaluated_nodes():
    t = tree([None, 0, 0], {0: "pf", 1: "ppp", 2: "p"})
    choice = final_agent(t.snapshot(), min_evals=5)
    assert choice.node == 1 and choice.fallback


def test_final_agent_fallback_follows_results_not_evaluation_counts():
    # The old fallback took the most-evaluated node (0), ties to the lowest id.
    t = tree([None, 0, 0, 0], {0: "pfff", 1: "fff", 2: "ppp", 3: "pf"})
    choice = final_agent(t.snapshot(), min_evals=5)
    assert (choice.node, choice.fallback, choice.evals, choice.passes) == (2, True, 3, 3)


def test_final_agent_fallback_without_any_evaluation_is_the_first_valid_node():
    t = tree([None, 0, 0], invalid={0})
    choice = final_agent(t.snapshot())
    assert (choice.node, choice.evals, choice.fallback) == (1, 0, True)


def test_greedy_with_three_evaluations_per_node_does_not_always_report_the_seed():
    from hgm.sim import SimParams, simulate_run

    runs = [simulate_run("greedy?evals_per_node=3", s, SimParams(budget=120)) for s in range(4)]
    assert all(r.final_fallback for r in runs)
    assert any(r.final_node != 0 for r in runs)
    for r in runs:  # the pick is a node with the best posterior lower bound
        evals = r.own_pass + r.own_fail
        assert evals[r.final_node] == 3 and r.own_pass[r.final_node] == r.own_pass[evals > 0].max()


def test_final_agent_never_picks_an_invalid_node():
    t = tree([None, 0], {0: "fffff"}, invalid={1})
    assert final_agent(t.snapshot()).node == 0


def test_final_agent_is_none_without_valid_nodes():
    assert final_agent(tree([None], invalid={0}).snapshot()) is None


def test_final_agent_errors_do_not_count_as_evaluations():
    t = tree([None, 0], {0: "pffff", 1: "pppp" + "eeee"})
    assert final_agent(t.snapshot(), min_evals=5).node == 0


def test_final_agent_ties_go_to_more_evaluations_then_the_lower_id():
    t = tree([None, 0, 0], {0: "fffff", 1: "ppppp", 2: "ppppp"})
    assert final_agent(t.snapshot()).node == 1


def test_final_choice_reports_posterior_mean_and_interval():
    t = tree([None], {0: "ppppppff"})
    choice = final_agent(t.snapshot(), level=0.9)
    lo, hi = stats.beta.interval(0.9, 7, 3)
    assert isinstance(choice, FinalChoice)
    assert choice.pass_rate == pytest.approx(7 / 10)
    assert (choice.lower, choice.upper) == (pytest.approx(lo), pytest.approx(hi))


def test_beta_interval_is_equal_tailed():
    lower, upper = beta_interval(np.array([3]), np.array([9]), level=0.8)
    assert stats.beta.cdf(lower[0], 4, 10) == pytest.approx(0.1)
    assert stats.beta.sf(upper[0], 4, 10) == pytest.approx(0.1)


def test_clade_pass_rate_pools_the_node_and_its_descendants():
    t = tree([None, 0, 1, 0], {0: "f", 1: "pp", 2: "pf"})
    rates = clade_pass_rate(t.snapshot())
    assert rates.rate[0] == pytest.approx(3 / 5)
    assert rates.rate[1] == pytest.approx(3 / 4)
    assert np.isnan(rates.rate[3])
    assert rates.lower[1] < 3 / 4 < rates.upper[1]


def test_own_pass_rate_counts_only_the_node():
    rates = own_pass_rate(tree([None, 0], {0: "f", 1: "pp"}).snapshot())
    assert rates.rate.tolist() == [0.0, 1.0]
    assert rates.evals.tolist() == [1, 2]
