"""End-to-end throughput: a real ``hgm run`` with the scripted demo model on the builtin benchmark.

For each sandbox backend (``--sandboxes``, default local and docker) and worker count
(``--workers``, default 1, 2 and 4), ``hgm run --model scripted:demo --benchmark builtin
--max-evals N`` runs in a fresh run folder, as a child process that reports its own resource
usage when it ends: the driver's CPU (``getrusage(RUSAGE_SELF)``: the loop, the gateway, the
worker threads copying files and talking to Docker) apart from its children's
(``RUSAGE_CHILDREN``: the local sandbox's processes; a docker container's processes belong to
the engine, not the driver, and are not counted). The run is the product's own: expansions
happen as the HGM policy asks for them, and their time counts.

Where the time goes comes from the run's archive, not from guesses: every ``evaluation``
event carries the ``timings`` the evaluation measured (hgm.jobs.evaluation.EvalResult), the
``expansions`` table the start and end of each expansion, and the ``stopped`` event the
driver's ``recording_s`` (archive writes: transactions, commits, artifacts). The window, and
the driver's CPU, are those of the search itself: the child process reads its clocks when
``hgm.loop.run_search`` starts and ends (process start-up, the embedding model's load and
preflight are in ``process_wall_s`` only). Worker shares are
seconds summed over jobs divided by workers x window: ``agent`` (the agent's command),
``hidden_tests`` (the test command), ``sandbox_start`` (waiting for a container, or making
the cgroup, both runs), ``copy`` (workspace copies, hidden-test injection, mounts copied in
and collected out, both runs), ``other_eval`` (the rest of an evaluation: verdict, scratch
folders), ``expansion`` (whole expansion jobs) and ``idle`` (what is left). ``recording``
is the driver's archive writes over the window (the driver thread, not a worker).

JSON keys (``--json``): ``model``, ``benchmark``, ``evals`` (``--max-evals`` of each run),
``runs`` (one object per sandbox and worker count), and in each run: ``runs.sandbox``,
``runs.workers``, ``runs.evaluations``, ``runs.expansions``, ``runs.window_s``,
``runs.process_wall_s``, ``runs.evals_per_hour``, ``runs.driver_cpu_s``,
``runs.children_cpu_s``, ``runs.driver_cpu_per_eval_s``, ``runs.children_cpu_per_eval_s``,
``runs.eval_ms_median`` (an evaluation's own total), ``runs.shares`` (with
``runs.shares.agent``, ``runs.shares.hidden_tests``, ``runs.shares.sandbox_start``,
``runs.shares.copy``, ``runs.shares.other_eval``, ``runs.shares.expansion``,
``runs.shares.idle`` and ``runs.shares.recording``).

    python benchmarks/throughput.py [--evals 20] [--sandboxes local,docker] [--workers 1,2,4] [--json]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL, BENCHMARK = "scripted:demo", "builtin"

# Runs the hgm CLI in this child process and writes, as JSON, the CPU seconds (the driver's
# own, its children's) and wall seconds spent inside hgm.loop.run_search: the search itself,
# without start-up (imports, the embedding model, preflight). The wrapper only reads clocks.
_DRIVER = """
import json, resource, sys, time
import hgm.loop
from hgm.cli import app

def cpu():
    return [sum(getattr(resource.getrusage(w), f) for f in ("ru_utime", "ru_stime"))
            for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]

search, inner = {}, hgm.loop.run_search
def timed(*args, **kwargs):
    before, start = cpu(), time.perf_counter()
    try:
        return inner(*args, **kwargs)
    finally:
        after = cpu()
        search.update(self=after[0] - before[0], children=after[1] - before[1],
                      wall=time.perf_counter() - start)
        # Written here: hgm run may leave with os._exit, skipping anything after app().
        with open(sys.argv[1], "w") as f:
            json.dump(search, f)
hgm.loop.run_search = timed  # hgm.runner imports it when the search starts
app(sys.argv[2:], prog_name="hgm")
"""

# Worker phases of an evaluation's timings, by the share they count towards.
_PHASES = {
    "agent": ("agent.command",),
    "hidden_tests": ("tests.command",),
    "sandbox_start": ("agent.start", "tests.start"),
    "copy": ("prepare", "agent.copy_in", "agent.copy_out", "tests.copy_in", "tests.copy_out"),
}


def run_once(sandbox: str, workers: int, evals: int, scratch: Path) -> dict:
    """One ``hgm run``; its figures (see the module docstring)."""
    scratch.mkdir()
    out, usage = scratch / "run", scratch / "usage.json"
    argv = [sys.executable, "-c", _DRIVER, str(usage), "run", "--model", MODEL, "--benchmark", BENCHMARK,
            "--sandbox", sandbox, "--workers", str(workers), "--max-evals", str(evals), "--out", str(out)]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise SystemExit(f"hgm run --sandbox {sandbox} --workers {workers} exited {done.returncode}: "
                         + " | ".join(tail))  # fmt: skip
    search = json.loads(usage.read_text())
    return {"sandbox": sandbox, "workers": workers, **_from_archive(out / "hgm.db", workers, search["wall"]),
            "process_wall_s": round(wall, 3), "driver_cpu_s": round(search["self"], 3),
            "children_cpu_s": round(search["children"], 3)}  # fmt: skip


def _from_archive(db: Path, workers: int, window: float) -> dict:
    """Counts and time shares over the search's ``window`` seconds, read from the run's hgm.db."""
    conn = sqlite3.connect(db)
    try:
        events = [(kind, json.loads(data), at) for kind, data, at in
                  conn.execute("SELECT kind, data, created_at FROM events ORDER BY id")]  # fmt: skip
        expansions = conn.execute(
            "SELECT finished_at - started_at FROM expansions WHERE started_at IS NOT NULL").fetchall()
    finally:
        conn.close()
    stopped = next(data for kind, data, _ in reversed(events) if kind == "stopped")
    timings = [data.get("timings") or {} for kind, data, _ in events if kind == "evaluation"]
    capacity = workers * window
    totals = {name: sum(t.get(p, 0.0) for t in timings for p in phases) for name, phases in _PHASES.items()}
    totals["other_eval"] = sum(t.get("total", 0.0) for t in timings) - sum(totals.values())
    totals["expansion"] = sum(max(0.0, d) for (d,) in expansions)
    shares = {name: round(seconds / capacity, 4) for name, seconds in totals.items()}
    shares["idle"] = round(max(0.0, 1 - sum(shares.values())), 4)
    shares["recording"] = round(stopped.get("recording_s", 0.0) / window, 4)
    n = len(timings)
    return {
        "evaluations": n,
        "expansions": len(expansions),
        "window_s": round(window, 3),
        "evals_per_hour": round(3600 * n / window, 1),
        "eval_ms_median": round(1000 * statistics.median(t.get("total", 0.0) for t in timings), 1) if n else None,
        "shares": shares,
    }


def measure(evals: int, sandboxes: list[str], workers: list[int]) -> dict:
    runs = []
    with tempfile.TemporaryDirectory(prefix="hgm-bench-throughput-") as tmp:
        for sandbox in sandboxes:
            for w in workers:
                r = run_once(sandbox, w, evals, Path(tmp) / str(len(runs)))
                n = max(r["evaluations"], 1)
                r["driver_cpu_per_eval_s"] = round(r["driver_cpu_s"] / n, 4)
                r["children_cpu_per_eval_s"] = round(r["children_cpu_s"] / n, 4)
                runs.append(r)
    return {"model": MODEL, "benchmark": BENCHMARK, "evals": evals, "runs": runs}


def _table(result: dict) -> str:
    head = (f"{'sandbox':>8} {'workers':>7} {'evals/h':>8} {'eval ms':>8} {'drv cpu/ev':>10} "
            f"{'agent':>6} {'tests':>6} {'start':>6} {'copy':>6} {'expand':>6} {'idle':>6} {'record':>6}")  # fmt: skip
    lines = [head]
    for r in result["runs"]:
        s = r["shares"]
        cells = [s[k] for k in ("agent", "hidden_tests", "sandbox_start", "copy", "expansion", "idle", "recording")]
        lines.append(f"{r['sandbox']:>8} {r['workers']:>7} {r['evals_per_hour']:>8.0f} {r['eval_ms_median'] or 0:>8.0f} "
                     f"{r['driver_cpu_per_eval_s']:>10.3f} " + " ".join(f"{100 * c:>5.1f}%" for c in cells))  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=20, help="--max-evals of each hgm run")
    parser.add_argument("--sandboxes", default="local,docker", help="sandbox specs, comma-separated")
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = measure(args.evals, args.sandboxes.split(","), [int(w) for w in args.workers.split(",")])
    print(json.dumps(result) if args.json else _table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
