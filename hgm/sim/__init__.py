"""Policy simulator: a synthetic self-improvement landscape for studying search policies.

No LLM and no sandbox: every node carries a true pass rate and a latent potential (see
:mod:`hgm.sim.landscape` and docs/simulator.md), expansions and evaluations are random
draws, and the real policies of :mod:`hgm.search` search it under the same budget.

``simulate_run`` runs one policy on one seed (optionally written as a resumable run in the
archive format), ``compare`` runs many and summarises them, ``render_report`` /
``render_tree`` / ``demo`` render results for the terminal.
"""

from hgm.sim.comparison import compare, run_dir
from hgm.sim.landscape import Latent, SimParams
from hgm.sim.report import demo, render_report, render_tree
from hgm.sim.runner import SimResult, simulate_run

__all__ = [
    "Latent",
    "SimParams",
    "SimResult",
    "compare",
    "demo",
    "render_report",
    "render_tree",
    "run_dir",
    "simulate_run",
]
