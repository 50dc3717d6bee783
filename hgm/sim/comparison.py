"""Compare policies on the landscape over many seeds: the numbers behind ``hgm simulate``."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from hgm.sim.landscape import SimParams
from hgm.sim.runner import FINAL_LEVEL, FINAL_MIN_EVALS, SimResult, simulate_run

Progress = Callable[[int, int], None]


def run_dir(out: Path, mismatch: float, policy: str, seed: int) -> Path:
    """Where ``compare(..., out=out)`` writes one run: ``out/m<mismatch>/<policy>-seed<k>``.

    Characters of a policy spec that do not belong in a folder name (``?``, ``&``, ``=``)
    become ``_``: ``hgm?alpha=0.6`` -> ``hgm_alpha_0.6``.
    """
    safe = re.sub(r"[^A-Za-z0-9.-]+", "_", policy)
    return Path(out) / f"m{mismatch:g}" / f"{safe}-seed{seed}"


def compare(
    policies: list[str],
    seeds: int,
    budget: int,
    mismatch: float | list[float],
    params: SimParams | None = None,
    out: Path | None = None,
    progress: Progress | None = None,
    seed_start: int = 0,
) -> dict | list[dict]:
    """Run every policy on seeds ``seed_start .. seed_start+seeds-1`` and summarise, as
    JSON-ready data.

    Returns ``{"policies": {spec: {...}}, "params": {...}}``; with a list of mismatch
    values, a list of such objects, one per value. ``params`` supplies the other landscape
    parameters (``budget`` and ``mismatch`` given here override its own). Per policy
    (:func:`summarise`): ``final_quality`` is the TRUE pass rate of the agent the shared
    final-agent rule picks (search and selection together), ``tree_best`` the best true
    pass rate of any valid node in the tree (search alone), ``selection_regret`` their
    difference (what the final-agent rule left on the table); each as ``_mean`` and
    ``_ci95`` (mean +- 1.96 standard errors over seeds). ``signal_rank_corr`` is the mean
    over seeds of each run's rank correlation (null when no seed had one). Every policy
    after the first also has ``paired_vs_first``: its difference in final quality from the
    first policy, seed by seed (:func:`paired_difference`), with the same for
    ``tree_best`` and ``selection_regret`` inside it. ``progress(done, total)`` is called
    after every run.
    """
    values = mismatch if isinstance(mismatch, list) else [mismatch]
    base = replace(params or SimParams(), budget=budget)
    total, done = len(values) * len(policies) * seeds, 0
    reports = []
    for m in values:
        p = replace(base, mismatch=float(m))
        summary, finals = {}, {}
        for spec in policies:
            runs = []
            for seed in range(seed_start, seed_start + seeds):
                dest = None if out is None else run_dir(out, p.mismatch, spec, seed)
                runs.append(simulate_run(spec, seed, p, dest))
                done += 1
                if progress is not None:
                    progress(done, total)
            summary[spec] = summarise(runs)
            finals[spec] = _per_seed(runs)
        reference = finals[policies[0]]
        for spec in policies[1:]:
            ours = finals[spec]
            paired = paired_difference(reference["final"], ours["final"], policies[0])
            for key in ("tree_best", "selection_regret"):
                diff = paired_difference(reference[key], ours[key], policies[0])
                paired[key] = {"mean": diff["mean"], "ci95": diff["ci95"]}
            summary[spec]["paired_vs_first"] = paired
        reports.append({"policies": summary, "params": _params_json(p, seeds, seed_start)})
    return reports if isinstance(mismatch, list) else reports[0]


def _per_seed(runs: list[SimResult]) -> dict[str, np.ndarray]:
    final = np.array([r.final_p for r in runs], dtype=float)
    best = np.array([r.tree_best_p for r in runs], dtype=float)
    return {"final": final, "tree_best": best, "selection_regret": best - final}


def _mean_ci(x: np.ndarray) -> tuple[float, list[float]]:
    mean = float(x.mean())
    half = 1.96 * float(x.std(ddof=1)) / math.sqrt(len(x)) if len(x) > 1 else 0.0
    return mean, [mean - half, mean + half]


def summarise(runs: list[SimResult]) -> dict:
    """The contract's per-policy numbers for a list of runs (one per seed)."""
    per_seed = _per_seed(runs)
    out = {}
    for key, name in (("final", "final_quality"), ("tree_best", "tree_best"),
                      ("selection_regret", "selection_regret")):  # fmt: skip
        out[f"{name}_mean"], out[f"{name}_ci95"] = _mean_ci(per_seed[key])
    corr = np.array([r.signal_rank_corr for r in runs], dtype=float)
    corr = corr[~np.isnan(corr)]
    return {
        **out,
        "nodes_mean": float(np.mean([r.n_nodes for r in runs])),
        "signal_rank_corr": float(corr.mean()) if len(corr) else None,
    }


def paired_difference(reference: np.ndarray, other: np.ndarray, name: str) -> dict:
    """Mean and 95% interval of ``other - reference``, seed by seed.

    Every policy meets the same world on a given seed (common random numbers), so the
    difference of two policies is best judged seed by seed: much of the spread of the
    per-policy intervals is the spread between worlds, which pairing removes.
    """
    d = np.asarray(other, dtype=float) - np.asarray(reference, dtype=float)
    mean = float(d.mean())
    half = 1.96 * float(d.std(ddof=1)) / math.sqrt(len(d)) if len(d) > 1 else 0.0
    return {"policy": name, "mean": mean, "ci95": [mean - half, mean + half]}


def _params_json(params: SimParams, seeds: int, seed_start: int) -> dict:
    return {
        **params.to_dict(),
        "seeds": seeds,
        "seed_start": seed_start,
        "final_agent": {"min_evals": FINAL_MIN_EVALS, "level": FINAL_LEVEL},
    }
