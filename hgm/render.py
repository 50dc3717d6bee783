"""Rich renderings of the views in hgm.views, for the terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console, Group
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from hgm.views import TreeRow


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def status(data: dict) -> Panel:
    ev = data["evaluations"]
    t = Table.grid(padding=(0, 2))
    t.add_row("nodes", f"{data['nodes']} ({data['valid_nodes']} valid)")
    t.add_row("evaluations", f"{ev['pass']} pass · {ev['fail']} fail · {ev['error']} error")
    ex = data.get("expansions") or {}
    if ex:
        t.add_row("expansions", " · ".join(f"{v} {k}" for k, v in ex.items()))
    t.add_row("LLM calls", str(data.get("llm_calls", 0)))
    t.add_row("spent", f"${data['cost_usd']:.4f}")
    b = data["best"]
    if b:
        lo, hi = b["interval95"]
        note = " (fallback: too few evaluations)" if b.get("fallback") else ""
        t.add_row(
            "best",
            f"node {b['node']}: {b['passes']}/{b['evals']} passed, "
            f"belief {_pct(b['pass_rate'])} [{_pct(lo)}, {_pct(hi)}]{note}",
        )
    else:
        t.add_row("best", "—")
    return Panel(t, title=f"hgm · {data['run']}", expand=False)


def _label(r: TreeRow) -> Text:
    text = Text(f"{r.node}", style="bold")
    if r.status != "valid":
        text.append(f" ✗ {r.status}", style="red")
    else:
        text.append(f"  {r.passes}/{r.evals}")
        if r.cmp is not None:
            text.append(f"  cmp {_pct(r.cmp)} [{_pct(r.cmp_lower)}, {_pct(r.cmp_upper)}]", style="cyan")
    if r.best:
        text.append("  ★ best", style="bold green")
    if r.proposal and r.kind != "seed":
        first = r.proposal.strip().splitlines()[0] if r.proposal.strip() else ""
        snippet = first if len(first) <= 40 else first[:40] + "…"
        text.append(f"  {snippet}", style="dim")
    return text


def tree(rows: list[TreeRow]) -> Tree | Text:
    if not rows:
        return Text("(empty run)")
    by_id: dict[int, Tree] = {}
    root: Tree | None = None
    for r in rows:  # depth-first order: parents come before children
        if r.parent is None or r.parent not in by_id:
            root = Tree(_label(r)) if root is None else root
            by_id[r.node] = root if r.parent is None else root.add(_label(r))
        else:
            by_id[r.node] = by_id[r.parent].add(_label(r))
    return root


def node(data: dict) -> Group:
    head = Table.grid(padding=(0, 2))
    head.add_row("node", f"{data['node']} ({data['kind']}, {data['status']})")
    head.add_row("parent", str(data["parent"]))
    head.add_row("commit", data["commit"])
    if data["reason"]:
        head.add_row("reason", data["reason"])
    own = data["own"]
    head.add_row("own results", f"{own['passes']}/{own['evals']} passed")
    c = data["cmp"]
    if c["rate"] is not None:
        lo, hi = c["interval95"]
        head.add_row("CMP", f"{_pct(c['rate'])} [{_pct(lo)}, {_pct(hi)}]")
    head.add_row("children", ", ".join(map(str, data["children"])) or "—")
    head.add_row("LLM", f"{data['llm_calls']['count']} calls, ${data['llm_calls']['cost_usd']:.4f}")
    evals = Table("task", "outcome", "seconds", "reason", title="evaluations", expand=False)
    style = {"pass": "green", "fail": "red", "error": "yellow"}
    for e in data["evaluations"]:
        evals.add_row(
            e["task"], Text(e["outcome"], style=style.get(e["outcome"], "")),
            f"{e['duration_s']:.1f}", e["reason"] or "",
        )
    parts = [head]
    if data["proposal"]:
        parts.append(Panel(data["proposal"], title="proposal", expand=False))
    parts.append(evals)
    return Group(*parts)


def best(data: dict) -> Text:
    note = " (fallback: no node has enough evaluations)" if data.get("fallback") else ""
    return Text.assemble(
        ("best agent: ", "bold"),
        (f"node {data['node']}", "bold green"),
        f"  {data['passes']}/{data['evals']} passed, belief {_pct(data['pass_rate'])} "
        f"[{_pct(data['lower'])}, {_pct(data['upper'])}]{note}\n",
        f"  commit {data['commit']}\n",
        f"  inspect: hgm show {data['run']} {data['node']} · hgm diff {data['run']} {data['node']} --against root",
    )


@contextmanager
def progress(
    console: Console, enabled: bool = True, label: str = "simulating"
) -> Iterator[Callable[[int, int | None], None] | None]:
    """A progress bar as a ``callback(done, total)``; ``None`` when disabled."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def benchmarks(data: list[dict]) -> Group:
    parts = []
    for b in data:
        t = Table.grid(padding=(0, 2))
        t.add_row(Text(b["spec"], style="bold"), b.get("description", ""))
        for key in ("params",):
            if b.get(key):
                t.add_row("", f"parameters: {', '.join(map(str, b[key]))}")
        parts.append(t)
        tasks = b.get("tasks")
        if tasks:
            table = Table("task", "tier", "language", expand=False, box=None, padding=(0, 2))
            for task in tasks:
                table.add_row(task["id"], task.get("tier") or "", task.get("language") or "")
            parts.append(table)
    return Group(*parts)


def bench_report(data: dict) -> Text:
    ok = data["ok"] == data["tasks"] and not data["problems"]
    text = Text(f"{data['ok']}/{data['tasks']} tasks ok", style="bold green" if ok else "bold red")
    for p in data["problems"]:
        text.append(f"\n✗ {p['task']}: {p['problem']}", style="red")
    return text


def checks(items) -> Table:
    table = Table.grid(padding=(0, 2))
    for c in items:
        mark = Text("✓", style="green") if c.ok else Text("–" if c.optional else "✗", style="yellow" if c.optional else "red")
        detail = Text(c.detail)
        if not c.ok and c.fix:
            detail.append(f"\n{c.fix}", style="dim")
        table.add_row(mark, Text(c.name, style="bold"), detail)
    return table
