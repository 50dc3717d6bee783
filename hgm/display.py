"""The live view of a run in the terminal (a plain log line when output is not a terminal)."""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from hgm.loop import Progress
from hgm.search.final import final_agent


def _summary(p: Progress, min_evals: int) -> dict:
    snap = p.stats.snapshot()
    choice = final_agent(snap, min_evals=min_evals)
    return {
        "nodes": snap.n_nodes,
        "valid": int(snap.valid.sum()),
        "pending": snap.pending_expansions,
        "passes": int(snap.own_pass.sum()),
        "evals": snap.evals_done,
        "errors": p.errors,
        "best": choice,
        "spent": p.spent_usd,
        "busy": p.busy,
        "workers": p.workers,
        "elapsed": time.monotonic() - p.started,
        "min_evals": min_evals,
    }


def _table(s: dict, p: Progress) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_row("nodes", f"{s['nodes']} ({s['valid']} valid, {s['pending']} being made)")
    rate = f"{100 * s['passes'] / s['evals']:.0f}%" if s["evals"] else "—"
    t.add_row("evaluations", f"{s['evals']} done, {rate} passed, {s['errors']} infrastructure errors")
    b = s["best"]
    if b is not None and not b.fallback:
        t.add_row("best", f"node {b.node}: {b.passes}/{b.evals}, belief {100 * b.pass_rate:.0f}% "
                          f"[{100 * b.lower:.0f}%, {100 * b.upper:.0f}%]")
    elif b is not None and b.evals:
        # Not called best until it has the evaluations the best-belief rule asks for.
        t.add_row("best", f"none yet: node {b.node} has {b.evals} of the {s['min_evals']} evaluations needed")
    t.add_row("spent", f"${s['spent']:.4f}")
    t.add_row("workers", f"{s['busy']}/{s['workers']} busy · {s['elapsed'] / 60:.1f} min")
    if p.machines:
        t.add_row("machines", Text(p.machines))
    # Task ids, reasons and stop messages come from the run: Text, so brackets are never markup.
    if p.last:
        t.add_row("last", Text(p.last))
    if p.waiting:
        t.add_row("waiting", Text(p.waiting))
    if p.stopping:
        t.add_row("stopping", Text(p.stopping))
    return t


class LiveDisplay:
    """Call with each Progress; use as a context manager around the loop."""

    def __init__(self, console: Console, min_evals: int = 5, log_every_s: float = 10.0):
        self.console, self.min_evals, self.log_every_s = console, min_evals, log_every_s
        self._live: Live | None = None
        self._last_log = 0.0
        self._waiting: str | None = None

    def __enter__(self) -> LiveDisplay:
        if self.console.is_terminal:
            self._live = Live(console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def __call__(self, p: Progress) -> None:
        s = _summary(p, self.min_evals)
        if self._live is not None:
            self._live.update(_table(s, p))
            return
        now = time.monotonic()
        waiting = p.waiting.split(";")[0] if p.waiting else None  # the reason, not the clock
        if waiting and waiting != self._waiting:
            self.console.print(f"waiting: {p.waiting}", highlight=False, markup=False)
        self._waiting = waiting
        if now - self._last_log >= self.log_every_s or p.stopping:
            self._last_log = now
            self.console.print(
                f"nodes {s['nodes']} · evals {s['evals']} ({s['passes']} pass, {s['errors']} error) · "
                f"${s['spent']:.4f} · {s['busy']}/{s['workers']} busy · {p.last}",
                highlight=False, markup=False,
            )
            if p.machines:
                self.console.print(f"machines: {p.machines}", highlight=False, markup=False)
