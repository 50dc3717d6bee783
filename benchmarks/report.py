"""`make bench`: every benchmark at its documented size, one report; and two reports compared.

``run`` runs each script of ``SCRIPTS`` with the arguments BENCHMARKS.md documents (``--tiny``:
the smoke test's tiny sizes instead) and ``--json``, and writes one report: every script's
figures, the machine (cores, memory, load average before and after), the git commit (and
whether the tree had uncommitted changes) and the date. It prints the figures as a table.
``compare`` prints, for every figure two reports share, both values and their ratio (B / A).

    python benchmarks/report.py run [--out bench-report.json] [--tiny] [--only loop.py,...]
    python benchmarks/report.py compare A.json B.json

Every ``benchmarks/*.py`` but this file needs an entry in ``SCRIPTS``, and its docstring a
paragraph starting ``JSON keys`` that names each key of its ``--json`` output in double
backticks (dotted for nested objects; a key under a list holds for every item of the list),
or starting ``Output (``--json``)`` with a JSON example whose quoted keys are the top-level
ones: tests/test_benchmarks_smoke.py checks both.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass(frozen=True)
class Script:
    """How one benchmark script runs: at its documented size(s), and tiny (the smoke test)."""

    documented: dict[str, tuple[str, ...]]
    """Report entry name -> arguments (BENCHMARKS.md shows the same commands)."""
    tiny: tuple[str, ...]
    docker: bool = False
    """Needs a Docker engine (CI has one)."""


SCRIPTS: dict[str, Script] = {
    "loop.py": Script({"loop": (), "loop_ray": ("--executor", "ray", "--jobs", "40")}, ("--evals", "3", "--jobs", "12")),
    "models.py": Script({"models": ()}, ("--calls", "2", "--new-tokens", "4")),
    "sandbox.py": Script({"sandbox": ()}, ("--runs", "2"), docker=True),
    "scheduler.py": Script(
        {"scheduler-10k": ("--nodes", "10000"), "scheduler-100k": ("--nodes", "100000")}, ("--nodes", "300")
    ),
    "skills.py": Script({"skills": ()}, ("--skills", "300", "--lineage", "20", "--queries", "5", "--embed-texts", "5")),
    "throughput.py": Script({"throughput": ()}, ("--evals", "2", "--workers", "2"), docker=True),
    # 10,000 nodes take over 10 minutes to simulate on the 2-core machine: make bench stays under 15.
    "web.py": Script({"web": ("--nodes", "1000")}, ("--nodes", "30")),
}
TOOLS = ("report.py",)
"""Files of benchmarks/ that are not benchmarks."""


def documented_keys(script: Path) -> list[str]:
    """The keys the script's docstring documents for its ``--json`` output."""
    doc = ast.get_docstring(ast.parse(script.read_text())) or ""
    for paragraph in doc.split("\n\n"):
        text = paragraph.lstrip()
        if text.startswith("JSON keys"):
            return re.findall(r"``([A-Za-z0-9_.]+)``", text.replace("``--json``", ""))
        if text.startswith("Output (``--json``)"):
            return re.findall(r'"([A-Za-z0-9_]+)":', text)
    return []


def missing_keys(data: object, keys: list[str]) -> list[str]:
    """The dotted ``keys`` that ``data`` lacks (under a list, every item must have the rest)."""

    def has(node: object, parts: list[str]) -> bool:
        if not parts:
            return True
        if isinstance(node, list):
            return bool(node) and all(has(item, parts) for item in node)
        return isinstance(node, dict) and parts[0] in node and has(node[parts[0]], parts[1:])

    return [key for key in keys if not has(data, key.split("."))]


def run_script(name: str, args: tuple[str, ...], timeout_s: float | None = None) -> tuple[dict, float]:
    """Run ``benchmarks/NAME ARGS --json``; its JSON output and wall seconds. Raises
    RuntimeError with the script's last lines when it fails."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / name), *args, "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout_s)  # fmt: skip
    wall = time.perf_counter() - start
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise RuntimeError(f"benchmarks/{name} {' '.join(args)} exited {done.returncode}: {tail}")
    return json.loads(done.stdout), wall


def machine() -> dict:
    """Cores, memory and the load average now."""
    pages, page = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return {"cores": os.cpu_count(), "memory_gb": round(pages * page / 2**30, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip


def git_commit() -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD") or None, "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def build_report(only: list[str] | None, tiny: bool) -> dict:
    before = machine()
    started = time.perf_counter()
    figures: dict[str, dict] = {}
    for script, entry in SCRIPTS.items():
        if only and script not in only:
            continue
        runs = {"tiny": entry.tiny} if tiny else entry.documented
        for name, args in runs.items():
            label = f"{Path(script).stem}-tiny" if tiny else name
            print(f"running benchmarks/{script} {' '.join(args)}", file=sys.stderr, flush=True)
            data, wall = run_script(script, args)
            figures[label] = {"script": script, "args": list(args), "wall_s": round(wall, 2), "figures": data}
    after = machine()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        **git_commit(),
        "machine": {"cores": before["cores"], "memory_gb": before["memory_gb"],
                    "load_before": before["load_average"], "load_after": after["load_average"]},  # fmt: skip
        "total_wall_s": round(time.perf_counter() - started, 1),
        "benchmarks": figures,
    }


def flatten(node: object, prefix: str = "") -> dict[str, float]:
    """Numeric leaves by dotted path; a list item is named by its first two values when the
    first is a string (``runs[docker/4]``), else by its index."""
    out: dict[str, float] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            label = str(i)
            if isinstance(item, dict) and item and isinstance(next(iter(item.values())), str):
                label = "/".join(str(v) for v in list(item.values())[:2])
            out.update(flatten(item, f"{prefix}[{label}]"))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        out[prefix] = float(node)
    return out


def report_figures(report: dict) -> dict[str, float]:
    return {f"{name}.{key}": value for name, entry in report["benchmarks"].items()
            for key, value in flatten(entry["figures"]).items()}  # fmt: skip


def table(report: dict) -> str:
    m = report["machine"]
    lines = [f"commit {report['commit']}{' (dirty)' if report['dirty'] else ''}  {report['date']}",
             f"{m['cores']} cores, {m['memory_gb']} GB, load {m['load_before']} -> {m['load_after']},"
             f" {report['total_wall_s']} s in all"]  # fmt: skip
    for key, value in report_figures(report).items():
        lines.append(f"  {key:<72} {value:>14.4g}")
    return "\n".join(lines)


def compare(a: dict, b: dict) -> str:
    """Both values and B / A for every figure the two reports share."""
    fa, fb = report_figures(a), report_figures(b)
    lines = [f"A: {a.get('commit')} {a.get('date')} (load {a['machine']['load_before']})",
             f"B: {b.get('commit')} {b.get('date')} (load {b['machine']['load_before']})",
             f"  {'figure':<64} {'A':>12} {'B':>12} {'B/A':>8}"]  # fmt: skip
    for key in sorted(fa.keys() & fb.keys()):
        ratio = f"{fb[key] / fa[key]:.3f}" if fa[key] else "-"
        lines.append(f"  {key:<64} {fa[key]:>12.4g} {fb[key]:>12.4g} {ratio:>8}")
    only = sorted(fa.keys() ^ fb.keys())
    if only:
        lines.append(f"  ({len(only)} figures are in one report only, e.g. {only[0]})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run every benchmark and write one report")
    run.add_argument("--out", type=Path, default=ROOT / "bench-report.json")
    run.add_argument("--tiny", action="store_true", help="the smoke test's tiny sizes")
    run.add_argument("--only", help="scripts to run, comma-separated (default: all)")
    cmp = sub.add_parser("compare", help="print the ratios between two reports")
    cmp.add_argument("a", type=Path)
    cmp.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    if args.command == "compare":
        print(compare(json.loads(args.a.read_text()), json.loads(args.b.read_text())))
        return 0
    try:
        report = build_report(args.only.split(",") if args.only else None, args.tiny)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(table(report))
    print(f"report written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
