"""Terminal renderings of simulator results (rich renderables; printing is the caller's)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from hgm.sim.landscape import SimParams
from hgm.sim.runner import SimResult, simulate_run

DEMO_BUDGET = 120
"""Budget of the ``hgm simulate --demo`` run: small enough that the tree fits a screen."""


def render_report(result: dict | list[dict]) -> Group:
    """One table per mismatch value from :func:`hgm.sim.compare`'s result."""
    reports = result if isinstance(result, list) else [result]
    return Group(*[_table(r) for r in reports])


def _table(report: dict) -> Table:
    prm = report["params"]
    start = prm.get("seed_start", 0)
    title = (
        f"mismatch {prm['mismatch']:g} · budget {prm['budget']} · seeds {start}-"
        f"{start + prm['seeds'] - 1} · expand cost {prm['expand_cost']}"
    )
    caption = (
        "final = true pass rate of the final agent · tree best = best true pass rate in the "
        "tree · regret = tree best - final · paired: this policy minus the first, seed by seed"
    )
    table = Table(title=title, caption=caption)
    table.add_column("policy", style="bold")
    table.add_column("final quality [95%]", justify="right")
    table.add_column("tree best [95%]", justify="right")
    table.add_column("regret", justify="right")
    table.add_column("nodes", justify="right")
    table.add_column("signal corr", justify="right")
    rows = report["policies"]
    first = next(iter(rows), "")
    table.add_column(f"final vs {first}", justify="right")
    table.add_column(f"tree best vs {first}", justify="right")
    best = max(rows, key=lambda k: rows[k]["final_quality_mean"]) if rows else None
    for name, r in rows.items():
        corr = r["signal_rank_corr"]
        paired = r.get("paired_vs_first")
        table.add_row(
            Text(name, style="green" if name == best else ""),
            _with_ci(r, "final_quality"),
            _with_ci(r, "tree_best"),
            f"{r['selection_regret_mean']:.3f}",
            f"{r['nodes_mean']:.1f}",
            "—" if corr is None else f"{corr:+.2f}",
            _paired(paired),
            _paired(paired and paired["tree_best"]),
        )
    return table


def _with_ci(row: dict, key: str) -> str:
    lo, hi = row[f"{key}_ci95"]
    return f"{row[f'{key}_mean']:.3f} [{lo:.3f}, {hi:.3f}]"


def _paired(diff: dict | None) -> str:
    if diff is None:
        return "—"
    lo, hi = diff["ci95"]
    return f"{diff['mean']:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def _label(res: SimResult, i: int) -> Text:
    text = Text(f"{i}", style="bold")
    if not res.valid[i]:
        return text.append("  ✗ invalid", style="red")
    passes, evals = int(res.own_pass[i]), int(res.own_pass[i] + res.own_fail[i])
    text.append(f"  {passes}/{evals}")
    text.append(f"  p {res.p[i]:.2f} q {res.q[i]:+.2f}", style="dim")
    clade = int(res.clade_pass[i] + res.clade_fail[i])
    if clade > evals:
        text.append(f"  clade {int(res.clade_pass[i])}/{clade}", style="cyan")
    if i == res.final_node:
        text.append("  ★ final", style="bold green")
    return text


def render_tree(result: SimResult) -> Tree:
    """A run as an indented tree: own passes/evaluations, true p and q, clade results.

    The final agent is marked with a star.
    """
    nodes = [Tree(_label(result, 0))]
    for i in range(1, result.n_nodes):  # parents always precede their children
        nodes.append(nodes[int(result.parent[i])].add(_label(result, i)))
    return nodes[0]


def demo(seed: int = 0, budget: int = DEMO_BUDGET, mismatch: float = 0.7) -> Group:
    """One small HGM run on the default landscape, as a tree with a one-line summary."""
    params = SimParams(budget=budget, mismatch=mismatch)
    res = simulate_run("hgm", seed, params)
    lo = "?" if res.final_lower is None else f"{res.final_lower:.2f}"
    hi = "?" if res.final_upper is None else f"{res.final_upper:.2f}"
    head = Text.assemble(
        ("HGM on the synthetic landscape", "bold"),
        f" · mismatch {mismatch:g} · budget {budget} · seed {seed}\n",
        ("a/b: own passes/evals · p: true pass rate · q: potential (mean gain of a child, ", "dim"),
        ("logits) · clade a/b", "dim"),
    )
    tail = Text.assemble(
        ("final agent: ", "bold"),
        (f"node {res.final_node}", "bold green"),
        f", true pass rate {res.final_p:.2f} (believed [{lo}, {hi}])\n",
        f"seed agent {res.p[0]:.2f} · {res.n_nodes} nodes · {res.stop_reason}\n",
        ("compare policies: hgm simulate --seeds 40 --mismatch 0,0.7,1", "dim"),
    )
    return Group(head, render_tree(res), tail)
