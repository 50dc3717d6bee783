"""The policy simulator: landscape formulas, determinism, crash-resume, the compare contract."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from hgm.search import Evaluate, Expand, Stop, Wait
from hgm.sim import SimParams, compare, demo, render_report, render_tree, simulate_run
from hgm.sim.comparison import paired_difference
from hgm.sim.landscape import Latent, World, child_from_normals, draw_child, standardise
from hgm.sim.metrics import clade_quality, rank_corr, selection_signal

ROOT = Path(__file__).resolve().parents[1]


class TinyPolicy:
    """Evaluate the least-evaluated node until there are 4 evaluations per node, then expand
    the best own mean. Deterministic given the rng; used to test the runner on its own."""

    name = "tiny"

    def decide(self, snap, rng):
        evals = snap.own_evals()
        if snap.evals_done >= 4 * snap.n_nodes:
            ok = np.flatnonzero(snap.valid)
            score = (snap.own_pass[ok] + 1) / (evals[ok] + 2) + 1e-3 * rng.random(len(ok))
            return Expand(int(ok[np.argmax(score)]))
        cand = np.flatnonzero(snap.next_task >= 0)
        if not len(cand):
            return Stop("nothing left")
        i = int(cand[np.argmin(evals[cand])])
        return Evaluate(i, int(snap.next_task[i]))


def _tree(res):
    """Everything that identifies a simulated tree, as plain data."""
    return (
        res.n_nodes,
        res.parent.tolist(),
        res.valid.tolist(),
        np.nan_to_num(res.s, nan=9e9).tolist(),
        np.nan_to_num(res.q, nan=9e9).tolist(),
        np.nan_to_num(res.p, nan=9e9).tolist(),
        res.own_pass.tolist(),
        res.own_fail.tolist(),
        res.final_node,
    )


# -- the landscape ----------------------------------------------------------------------


def _parent(s: float, q: float, xi: float = 0.0) -> Latent:
    return Latent(valid=True, s=s, q=q, xi=xi)


def _tree_corr(policy: str, m: float, seeds=range(8)) -> list[float]:
    """Spearman correlation of pass-rate logit and potential over each grown tree."""
    params = SimParams(mismatch=m)
    out = []
    for seed in seeds:
        res = simulate_run(policy, seed, params)
        out.append(rank_corr(res.s, res.q, res.valid))
    return out


def test_child_pass_rate_logit_is_parent_logit_plus_parent_potential_plus_luck():
    params = SimParams()
    child = child_from_normals(_parent(0.3, -0.4), 1.5, 0.2, params)
    assert child.s == pytest.approx(0.3 - 0.4 + params.sigma * 1.5)


def test_child_expected_pass_rate_rises_with_parent_potential():
    params = SimParams()
    rng = np.random.default_rng(3)
    means = []
    for q in (-0.5, 0.0, 0.7):
        kids = [draw_child(_parent(0.2, q), rng, params) for _ in range(20000)]
        means.append(np.mean([k.s for k in kids if k.valid]))
    assert means == pytest.approx([0.2 - 0.5, 0.2, 0.2 + 0.7], abs=0.02)


def test_child_pass_rate_law_given_parent_does_not_depend_on_mismatch():
    z = np.random.default_rng(3).normal(size=(20000, 2))
    for m in (0.0, 0.5, 1.0):
        params = SimParams(mismatch=m)
        s = np.array([child_from_normals(_parent(0.2, 0.1), a, b, params).s for a, b in z])
        assert s.mean() == pytest.approx(0.3, abs=0.02)
        assert s.std() == pytest.approx(params.sigma, abs=0.02)


def test_mismatch_zero_makes_potential_an_increasing_function_of_pass_rate():
    params = SimParams(mismatch=0.0)
    rng = np.random.default_rng(1)
    kids = [
        child_from_normals(_parent(s, q, xi), z1, z2, params)
        for s, q, xi, z1, z2 in rng.normal(size=(300, 5))
    ]
    for k in kids:
        assert k.q == params.drift + params.tau * standardise(k.s, params)
    by_s = sorted(kids, key=lambda k: k.s)
    assert all(a.q < b.q for a, b in pairwise(by_s))


def test_mismatch_one_makes_potential_blind_to_pass_rate():
    params = SimParams(mismatch=1.0)
    a = child_from_normals(_parent(0.3, 0.1), 1.5, -0.4, params)
    b = child_from_normals(_parent(0.3, 0.1), -2.0, -0.4, params)  # other luck, same trait
    assert a.s != b.s
    assert a.q == b.q == pytest.approx(params.drift + params.tau * -0.4)


def test_standardised_performance_is_zero_at_the_seed_and_bounded_by_two():
    params = SimParams()
    assert standardise(params.s0, params) == 0.0
    assert standardise(params.s0 + 0.01, params) == pytest.approx(0.01 / params.scale, rel=1e-3)
    assert -2 < standardise(-30.0, params) < standardise(30.0, params) < 2


def test_improver_trait_is_inherited_with_correlation_rho():
    for rho in (0.0, 0.5):
        params = SimParams(rho=rho)
        xs = np.random.default_rng(4).normal(size=(20000, 2))
        kids = [child_from_normals(_parent(0.0, 0.0, x), 0.0, z, params) for x, z in xs]
        xi = np.array([k.xi for k in kids])
        assert np.corrcoef(xs[:, 0], xi)[0, 1] == pytest.approx(rho, abs=0.02)
        assert xi.std() == pytest.approx(1.0, abs=0.02)


def test_seed_agent_has_pass_rate_logit_s0_and_potential_from_its_trait():
    params = SimParams(mismatch=1.0)
    seed = World(0, params).root().latent
    assert seed.s == params.s0
    assert seed.q == pytest.approx(params.drift + params.tau * seed.xi)


def test_population_correlation_of_pass_rate_and_potential_is_one_at_mismatch_zero():
    assert min(_tree_corr("random", 0.0)) > 0.99


def test_population_correlation_of_pass_rate_and_potential_is_near_zero_at_mismatch_one():
    assert abs(np.mean(_tree_corr("random", 1.0))) < 0.15


def test_population_correlation_falls_steadily_as_mismatch_rises():
    means = [np.mean(_tree_corr("random", m)) for m in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert all(a > b for a, b in pairwise(means))
    assert 0.15 < means[2] < 0.99


def test_expansion_yields_invalid_children_at_the_stated_rate():
    params = SimParams(p_invalid=0.25)
    rng = np.random.default_rng(5)
    invalid = sum(not draw_child(_parent(0.0, 0.0), rng, params).valid for _ in range(8000))
    assert invalid / 8000 == pytest.approx(0.25, abs=0.02)


def test_world_gives_the_same_node_for_the_same_place_whatever_was_drawn_before():
    params = SimParams(p_invalid=0.0)
    a, b = World(9, params), World(9, params)
    late = a.child(a.child(a.root(), 2), 1)
    b.child(b.root(), 0)
    again = b.child(b.child(b.root(), 2), 1)
    assert (late.path, late.latent) == (again.path, again.latent) == ((2, 1), again.latent)
    assert np.array_equal(late.u, again.u)
    assert a.child(a.root(), 1).latent != a.child(a.root(), 10).latent


def test_clade_quality_is_the_mean_true_pass_rate_over_valid_clade_members():
    parent = np.array([-1, 0, 0, 1, 1])
    p = np.array([0.2, 0.4, 0.6, np.nan, 0.8])
    valid = np.array([True, True, True, False, True])
    got = clade_quality(parent, p, valid)
    assert got[:3] == pytest.approx([(0.2 + 0.4 + 0.6 + 0.8) / 4, (0.4 + 0.8) / 2, 0.6])
    assert np.isnan(got[3]) and got[4] == pytest.approx(0.8)


def test_selection_signal_is_clade_rate_for_hgm_and_own_rate_otherwise():
    own_p, own_f, cl_p, cl_f = (np.array([x]) for x in (1, 1, 6, 2))
    assert selection_signal("hgm", own_p, own_f, cl_p, cl_f)[0] == pytest.approx(7 / 10)
    assert selection_signal("greedy", own_p, own_f, cl_p, cl_f)[0] == pytest.approx(2 / 4)


def test_the_clade_ablation_is_judged_on_its_own_signal():
    clade = simulate_run("hgm", 1, SimParams(budget=80))
    own = simulate_run("hgm?clade=0", 1, SimParams(budget=80))
    assert np.allclose(clade.signal, (clade.clade_pass + 1) / (clade.clade_pass + clade.clade_fail + 2))
    assert np.allclose(own.signal, (own.own_pass + 1) / (own.own_pass + own.own_fail + 2))


# -- one run -----------------------------------------------------------------------------


def test_same_seed_gives_identical_trees():
    params = SimParams(budget=200)
    assert _tree(simulate_run(TinyPolicy(), 4, params)) == _tree(
        simulate_run(TinyPolicy(), 4, params)
    )
    assert _tree(simulate_run("hgm", 4, params)) == _tree(simulate_run("hgm", 4, params))


def test_different_seeds_give_different_trees():
    params = SimParams(budget=200)
    assert _tree(simulate_run("hgm", 1, params)) != _tree(simulate_run("hgm", 2, params))


def test_run_spends_its_budget_with_expansions_at_expand_cost():
    params = SimParams(budget=150, expand_cost=4)
    res = simulate_run(TinyPolicy(), 0, params)
    evals = int((res.own_pass + res.own_fail).sum())
    assert res.spent == (res.n_nodes - 1) * 4 + evals
    assert params.budget <= res.spent < params.budget + 4
    assert res.stop_reason == "budget spent"


def test_invalid_nodes_are_never_evaluated_and_have_no_latent_values():
    res = simulate_run(TinyPolicy(), 0, SimParams(budget=300, p_invalid=0.5))
    bad = ~res.valid
    assert bad.any()
    assert (res.own_pass[bad] + res.own_fail[bad] == 0).all()
    assert np.isnan(res.p[bad]).all() and np.isnan(res.q[bad]).all() and np.isnan(res.s[bad]).all()


def test_final_quality_is_the_true_pass_rate_of_the_final_node():
    res = simulate_run("hgm", 0, SimParams(budget=200))
    assert res.final_p == res.p[res.final_node]
    assert res.final_lower is not None and res.final_lower <= res.final_upper


def test_a_waiting_policy_is_an_error_in_a_sequential_run():
    class Waits:
        name = "waits"

        def decide(self, snap, rng):
            return Wait()

    with pytest.raises(RuntimeError, match="sequential"):
        simulate_run(Waits(), 0, SimParams(budget=10))


# -- runs on disk ------------------------------------------------------------------------


def _archived(path: Path) -> dict:
    """What must be identical between two archived runs: nodes and evaluations, in order."""
    from hgm.archive.run import Run

    with Run.open(path, readonly=True) as run:
        nodes = [(n.id, n.parent, n.commit, n.status.value, n.meta) for n in run.nodes()]
        evals = [(e.node, e.task_index, e.outcome.value) for e in run.evaluations()]
    return {"nodes": nodes, "evaluations": evals}


def _check_clean(path: Path) -> None:
    from hgm.archive import check_run

    assert check_run(path) == []


def test_written_run_matches_the_in_memory_run_and_checks_clean(tmp_path):
    params = SimParams(budget=120)
    on_disk = simulate_run("hgm", 3, params, out=tmp_path / "run")
    assert _tree(on_disk) == _tree(simulate_run("hgm", 3, params))
    archived = _archived(tmp_path / "run")
    assert len(archived["nodes"]) == on_disk.n_nodes
    assert archived["nodes"][1][4]["p"] == on_disk.p[1]
    _check_clean(tmp_path / "run")


def test_reopening_a_finished_run_changes_nothing(tmp_path):
    params = SimParams(budget=60)
    first = simulate_run("hgm", 2, params, out=tmp_path / "run")
    before = _archived(tmp_path / "run")
    again = simulate_run("hgm", 2, params, out=tmp_path / "run")
    assert _tree(again) == _tree(first)
    assert _archived(tmp_path / "run") == before


def test_a_folder_holding_another_simulation_is_refused(tmp_path):
    simulate_run("hgm", 2, SimParams(budget=20), out=tmp_path / "run")
    with pytest.raises(ValueError, match="different run"):
        simulate_run("hgm", 3, SimParams(budget=20), out=tmp_path / "run")


def test_a_run_whose_creation_was_killed_is_made_again(tmp_path):
    import yaml

    from hgm.sim.record import _config

    params = SimParams(budget=20)
    out = tmp_path / "run"
    out.mkdir()  # what a kill during creation leaves: the config and no database yet
    (out / "config.yaml").write_text(yaml.safe_dump(_config("hgm", 5, params)))
    res = simulate_run("hgm", 5, params, out=out)
    assert _tree(res) == _tree(simulate_run("hgm", 5, params))
    _check_clean(out)


_CHILD = """
import sys
from pathlib import Path
from hgm.sim import SimParams, simulate_run
simulate_run(sys.argv[3], 11, SimParams(budget=int(sys.argv[2])), out=Path(sys.argv[1]))
"""


def _count_nodes(path: Path) -> int:
    refs = path / "agents.git" / "refs" / "nodes"
    return len(list(refs.iterdir())) if refs.is_dir() else 0


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["hgm", "hgm?preset=paper"])  # the preset: random tasks, a free root
def test_run_killed_at_a_random_moment_resumes_to_the_uninterrupted_tree(tmp_path, spec):
    budget = 600
    params = SimParams(budget=budget)
    whole = tmp_path / "whole"
    simulate_run(spec, 11, params, out=whole)
    killed = tmp_path / "killed"
    # A killed process cannot remove its scratch folder; keep it inside tmp_path.
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path / "tmp")}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(killed), str(budget), spec], env=env)
    try:
        target = random.Random().randint(3, 20)
        deadline = time.monotonic() + 120
        while _count_nodes(killed) < target and child.poll() is None:
            assert time.monotonic() < deadline, "the simulated run made no progress"
            time.sleep(0.002)
        time.sleep(random.Random().uniform(0, 0.05))
        assert child.poll() is None, "the run finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    partial = _archived(killed)
    assert 0 < len(partial["nodes"]) < len(_archived(whole)["nodes"])
    resumed = simulate_run(spec, 11, params, out=killed)
    assert _archived(killed) == _archived(whole)
    assert _tree(resumed) == _tree(simulate_run(spec, 11, params))
    _check_clean(killed)
    _check_clean(whole)


# -- comparing policies ------------------------------------------------------------------

_ENTRY_KEYS = {
    "final_quality_mean", "final_quality_ci95", "tree_best_mean", "tree_best_ci95",
    "selection_regret_mean", "selection_regret_ci95", "nodes_mean", "signal_rank_corr",
}  # fmt: skip


def test_compare_returns_exactly_the_contract_keys_and_shapes():
    result = compare(["hgm", "greedy"], seeds=3, budget=60, mismatch=0.7)
    assert set(result) == {"policies", "params"}
    assert list(result["policies"]) == ["hgm", "greedy"]
    assert set(result["policies"]["hgm"]) == _ENTRY_KEYS
    assert set(result["policies"]["greedy"]) == _ENTRY_KEYS | {"paired_vs_first"}
    paired = result["policies"]["greedy"]["paired_vs_first"]
    assert paired["policy"] == "hgm" and paired["ci95"][0] <= paired["mean"] <= paired["ci95"][1]
    for key in ("tree_best", "selection_regret"):
        assert paired[key]["ci95"][0] <= paired[key]["mean"] <= paired[key]["ci95"][1]
    for entry in result["policies"].values():
        for key in ("final_quality", "tree_best", "selection_regret"):
            lo, hi = entry[f"{key}_ci95"]
            assert lo <= entry[f"{key}_mean"] <= hi
        regret = entry["tree_best_mean"] - entry["final_quality_mean"]
        assert entry["selection_regret_mean"] == pytest.approx(regret)
        assert entry["selection_regret_mean"] >= 0
        assert isinstance(entry["nodes_mean"], float)
        assert entry["signal_rank_corr"] is None or -1 <= entry["signal_rank_corr"] <= 1
    assert result["params"]["mismatch"] == 0.7 and result["params"]["budget"] == 60
    assert result["params"]["seed_start"] == 0
    assert json.loads(json.dumps(result)) == result


def test_tree_best_is_the_best_true_pass_rate_of_any_valid_node():
    res = simulate_run("random", 3, SimParams(budget=60))
    assert res.tree_best_p == np.nanmax(res.p) and res.tree_best_p >= res.final_p


def test_compare_seed_start_runs_the_seeds_from_there():
    params = SimParams(budget=40, mismatch=0.5)
    result = compare(["greedy"], seeds=2, budget=40, mismatch=0.5, seed_start=7)
    finals = [simulate_run("greedy", s, params).final_p for s in (7, 8)]
    assert result["policies"]["greedy"]["final_quality_mean"] == pytest.approx(np.mean(finals))
    assert result["params"]["seed_start"] == 7
    default = compare(["greedy"], seeds=2, budget=40, mismatch=0.5)["policies"]["greedy"]
    first = [simulate_run("greedy", s, params).final_p for s in (0, 1)]
    assert default["final_quality_mean"] == pytest.approx(np.mean(first))


def test_paired_difference_is_taken_seed_by_seed():
    # Per seed the second policy is ahead by exactly 0.1 or 0.2: a tight paired interval,
    # though the worlds themselves differ widely.
    reference = np.array([0.1, 0.9, 0.3, 0.7])
    other = reference + np.array([0.1, 0.2, 0.1, 0.2])
    d = paired_difference(reference, other, "ref")
    assert d["policy"] == "ref" and d["mean"] == pytest.approx(0.15)
    half = 1.96 * np.std([0.1, 0.2, 0.1, 0.2], ddof=1) / 2
    assert d["ci95"] == pytest.approx([0.15 - half, 0.15 + half])


def test_compare_with_a_list_of_mismatch_values_gives_one_report_per_value():
    calls = []
    result = compare(
        ["random"],
        seeds=2,
        budget=30,
        mismatch=[0.0, 1.0],
        progress=lambda d, t: calls.append((d, t)),
    )
    assert [r["params"]["mismatch"] for r in result] == [0.0, 1.0]
    assert all(set(r["policies"]["random"]) == _ENTRY_KEYS for r in result)
    assert calls[-1] == (4, 4)


def test_compare_with_out_writes_one_run_per_policy_and_seed(tmp_path):
    compare(["hgm", "hgm?alpha=0.5"], seeds=2, budget=20, mismatch=0.7, out=tmp_path)
    made = sorted(p.name for p in (tmp_path / "m0.7").iterdir())
    assert made == ["hgm-seed0", "hgm-seed1", "hgm_alpha_0.5-seed0", "hgm_alpha_0.5-seed1"]


# -- rendering ---------------------------------------------------------------------------


def _text(renderable) -> str:
    console = Console(width=120, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_report_shows_a_table_per_mismatch_value():
    result = compare(["hgm", "random"], seeds=2, budget=30, mismatch=[0.0, 1.0])
    text = _text(render_report(result))
    assert "mismatch 0 " in text and "mismatch 1 " in text and text.count("random") == 2
    assert "tree best" in text and "regret" in text and "seeds 0-1" in text


def test_tree_marks_the_final_agent():
    res = simulate_run("hgm", 0, SimParams(budget=80))
    text = _text(render_tree(res))
    assert text.count("★ final") == 1
    assert f"{res.final_node}  " in text.split("★ final")[0].splitlines()[-1]


def test_demo_renders_a_run():
    assert "final agent: node" in _text(demo(seed=0))


@pytest.mark.slow
def test_hgm_finds_better_final_agents_than_greedy_at_full_mismatch():
    # Paired over the same 20 worlds; at this budget the mean gap to greedy (tuned default,
    # 12 evaluations per node) is about 0.30 and its 95% lower bound about 0.15 (over 40
    # seeds: 0.33, lower bound 0.23), so the claim holds with a margin, not by luck of seeds.
    params = SimParams(budget=1000, mismatch=1.0)
    gap = np.array(
        [
            simulate_run("hgm", s, params).final_p - simulate_run("greedy", s, params).final_p
            for s in range(20)
        ]
    )
    assert gap.mean() - 1.96 * gap.std(ddof=1) / math.sqrt(len(gap)) > 0
