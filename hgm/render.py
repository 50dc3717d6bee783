"""Rich renderings of the views in hgm.views, for the terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict

from rich.console import Console, Group
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from hgm.logs import CallSummary, EvalLog, NodeLogs, clean
from hgm.views import TreeRow

# Width of a console whose output is not a terminal: wide enough that a pipe or a file gets
# each line whole (grep-able) instead of wrapped at rich's default of 80 columns.
PIPE_WIDTH = 100_000

CMP_LEGEND = (
    "own passed/evaluated · cmp: clade pass rate (the node and its descendants pooled), "
    "posterior mean [95% credible interval] · ★ best: the final agent (hgm best)"
)


def view_console(stderr: bool = False) -> Console:
    """A console for views: as wide as the terminal, or unbounded when output is piped."""
    console = Console(stderr=stderr)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, width=PIPE_WIDTH)


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
    if data.get("model"):
        t.add_row("model", Text(str(data["model"])))
    t.add_row("spent", f"${data['cost_usd']:.4f}")
    if data.get("pricing"):
        t.add_row("pricing", Text(data["pricing"]))
    t.add_row("best", _status_best(data))
    for i, session in enumerate(data.get("sessions") or []):
        t.add_row("sessions" if i == 0 else "", _session_line(session))
    return Panel(t, title=Text(f"hgm · {data['run']}"), expand=False)


def _session_line(s: dict) -> Text:
    """One `hgm run` session: when, how it was started, what it changed, how it ended."""
    from datetime import datetime

    when = datetime.fromtimestamp(s["started_at"]).strftime("%Y-%m-%d %H:%M")
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in (s.get("overrides") or {}).items())
    changed = ", ".join(f"{k} {old} → {new}" for k, (old, new) in (s.get("changed") or {}).items())
    ended = f"{s['stop_kind']}: {s['stop_reason']}" if s.get("stop_kind") else "running, or killed"
    parts = [f"{when} {s['kind']}", flags, f"changed {changed}" if changed else "", ended]
    return Text(" · ".join(p for p in parts if p))


def _status_best(data: dict) -> Text:
    b, candidate = data.get("best"), data.get("best_candidate")
    if b:
        lo, hi = b["interval95"]
        return Text(
            f"node {b['node']}: {b['passes']}/{b['evals']} passed, "
            f"belief {_pct(b['pass_rate'])} [{_pct(lo)}, {_pct(hi)}]"
        )
    need = data.get("final_min_evals")
    if candidate and candidate["evals"]:
        return Text(
            f"none yet: it needs {need} evaluations; the leading candidate, node "
            f"{candidate['node']}, has {candidate['evals']} ({candidate['passes']} passed)"
        )
    return Text("none yet: no valid node has been evaluated")


def _label(r: TreeRow) -> Text:
    text = Text(f"{r.node}", style="bold")
    if r.status != "valid":
        text.append(f" ✗ {r.status}", style="red")
    else:
        text.append(f"  {r.passes}/{r.evals}")
        if r.cmp is not None:
            text.append(f"  cmp {_pct(r.cmp)} [{_pct(r.cmp_lower)}, {_pct(r.cmp_upper)}]", style="cyan")
            text.append(f" of {r.clade_evals}", style="cyan")
    if r.best:
        text.append("  ★ best", style="bold green")
    if r.proposal and r.kind != "seed":
        first = r.proposal.strip().splitlines()[0] if r.proposal.strip() else ""
        snippet = first if len(first) <= 40 else first[:40] + "…"
        text.append(f"  {clean(snippet)}", style="dim")
    return text


def tree(rows: list[TreeRow]) -> Group | Text:
    """The tree under a one-line legend of what each label shows."""
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
    return Group(Text(CMP_LEGEND, style="dim"), root)


OUTCOME_STYLE = {"pass": "green", "fail": "red", "error": "yellow"}


def _grid(rows: list[tuple[str, str]]) -> Table:
    """A two-column grid; values are plain Text, so run data is never read as rich markup."""
    table = Table.grid(padding=(0, 2))
    for key, value in rows:
        table.add_row(Text(key), Text(clean(value)))
    return table


def node(data: dict) -> Group:
    rows = [
        ("node", f"{data['node']} ({data['kind']}, {data['status']})"),
        ("parent", str(data["parent"])),
        ("commit", data["commit"]),
    ]
    if data["reason"]:
        rows.append(("reason", data["reason"]))
    own = data["own"]
    rows.append(("own results", f"{own['passes']}/{own['evals']} passed"))
    c = data["cmp"]
    if c["rate"] is not None:
        lo, hi = c["interval95"]
        rows.append(("CMP", f"{_pct(c['rate'])} [{_pct(lo)}, {_pct(hi)}]  (posterior mean [95% credible "
                            f"interval]; the clade passed {c['passes']} of {c['evals']})"))
    rows.append(("children", ", ".join(map(str, data["children"])) or "—"))
    calls = data["llm_calls"]
    priced = f" ({calls['pricing']})" if calls.get("pricing") else ""
    rows.append(("LLM", f"{calls['count']} calls, ${calls['cost_usd']:.4f}{priced}"))
    parts = [_grid(rows)]
    if data["proposal"]:
        parts.append(Panel(Text(clean(data["proposal"])), title="proposal", expand=False))
    parts.append(evaluations(data["evaluations"]))
    return Group(*parts)


def evaluations(items: list[dict]) -> Table:
    """A node's evaluations: task, outcome, seconds, reason (all run data as plain Text)."""
    table = Table("id", "task", "outcome", "seconds", "reason", title="evaluations", expand=False)
    for e in items:
        table.add_row(
            Text(str(e["id"])), Text(clean(e["task"])),
            Text(e["outcome"], style=OUTCOME_STYLE.get(e["outcome"], "")),
            Text(f"{e['duration_s']:.1f}"), Text(clean(e["reason"] or "")),
        )
    return table


def best(data: dict) -> Text:
    """The final agent; a fallback choice (too few evaluations) is not called best."""
    if data.get("fallback"):
        return Text(
            f"no best agent yet: no node has the evaluations the best-belief rule needs; the "
            f"leading candidate, node {data['node']}, has {data['evals']} ({data['passes']} passed)"
        )
    return Text.assemble(
        ("best agent: ", "bold"),
        (f"node {data['node']}", "bold green"),
        f"  {data['passes']}/{data['evals']} passed, belief {_pct(data['pass_rate'])} "
        f"[{_pct(data['lower'])}, {_pct(data['upper'])}]\n",
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
    unchecked = data.get("unchecked", [])
    ok = not data["problems"] and data["ok"] + len(unchecked) == data["tasks"]
    text = Text(f"{data['ok']}/{data['tasks']} tasks ok", style="bold green" if ok else "bold red")
    if unchecked:
        text.append(f", {len(unchecked)} unchecked (no reference solution): {', '.join(unchecked)}",
                    style="yellow")
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


_ROLE_STYLE = {"system": "dim", "user": "bold blue", "assistant": "bold magenta", "call": "bold cyan",
               "tool": "bold green", "raw": "bold yellow", "stdout": "bold", "stderr": "bold red"}


def logs(data: NodeLogs, task_given: bool = False) -> Group:
    """`hgm logs`: the node's evaluations, then one evaluation in full, then its LLM calls."""
    parts: list = [Text(f"node {data.node} · {len(data.evaluations)} evaluations", style="bold")]
    if data.evaluations:
        parts.append(evaluations([asdict(e) | {"outcome": str(e.outcome)} for e in data.evaluations]))
    if data.shown is not None:
        parts.extend(_eval_log(data.shown, task_given))
    if data.calls is not None:
        parts.append(_calls(data.calls, data.calls_left_out))
    return Group(*parts)


def _eval_log(log: EvalLog, task_given: bool) -> list:
    e = log.evaluation
    which = "" if task_given else "  (the latest; choose another with --task)"
    title = Text.assemble(
        (f"evaluation {e.id}", "bold"), f" · task {clean(e.task)} · ",
        (str(e.outcome), OUTCOME_STYLE.get(str(e.outcome), "")), f" · {e.duration_s:.1f} s", (which, "dim"),
    )
    parts: list = [Text(""), title]
    if e.reason:
        parts.append(Text(f"reason: {clean(e.reason)}"))
    if log.header:
        parts.append(_grid(log.header))
    parts.append(Text("trajectory", style="bold underline"))
    for entry in log.entries:
        parts.append(Text(f"── {entry.title}", style=_ROLE_STYLE.get(entry.role, "bold")))
        if entry.text:
            parts.append(_indented(entry.text))
    if log.test_log is not None:
        parts.extend([Text("test log", style="bold underline"), _indented(log.test_log)])
    parts.extend(Text(f"note: {n}", style="yellow") for n in log.notes)
    return parts


def _indented(text: str) -> Text:
    # Indented by hand: rich's Padding would pad every line to the (unbounded, when piped) width.
    return Text("\n".join("   " + line for line in text.splitlines()))


def _calls(calls: list[CallSummary], left_out: int) -> Group:
    table = Table("id", "scope", "model", "tokens in/out", "cost", "seconds", "error",
                  title="LLM calls of this node (its evaluations, and the expansions it parented)", expand=False)
    for c in calls:
        table.add_row(
            Text(str(c.id)), Text(c.scope), Text(c.model), Text(f"{c.prompt_tokens}/{c.completion_tokens}"),
            Text(f"${c.cost_usd:.4f}"), Text(f"{c.latency_s:.1f}"), Text(c.error or "", style="red"),
        )
    lines = [Text(f"{left_out} earlier calls not shown (see --json)", style="yellow")] if left_out else []
    for c in calls:
        lines.append(Text.assemble((f"call {c.id} ", "bold"), ("request: ", "dim"), c.request))
        lines.append(Text.assemble(" " * len(f"call {c.id} "), ("response: ", "dim"), c.response))
    return Group(table, *lines)
