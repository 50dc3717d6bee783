"""Sandbox benchmark: start-to-exit time of a trivial run, per backend.

Each backend runs the same trivial command (``true``) 20 times, one after another, with a
small writable workspace mounted and collected (as every agent run and hidden-test run has);
``bare`` is the same command as a plain subprocess, for reference. The figure per backend is
the median wall time of ``Sandbox.run`` (create, copy in, run, copy out, clean up); the
overhead is that median minus the bare median. One warm-up run per backend is not counted
(the first docker run may build the image).

JSON keys (``--json``), one object per backend named by its spec (a backend this host lacks is
left out, with a note on stderr): ``bare.median_ms``, ``local.median_ms``,
``local.overhead_ms``, ``docker.median_ms``, ``docker.overhead_ms``.

    python benchmarks/sandbox.py [--runs 20] [--backends local,docker] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hgm.sandbox import Mount, RunSpec, SandboxError, get_sandbox

COMMAND = "true"


def bare(runs: int) -> list[float]:
    """Milliseconds of ``bash -c true`` as a plain subprocess."""
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(["bash", "-c", COMMAND], check=True)
        times.append((time.perf_counter() - start) * 1000)
    return times[1:]


def sandboxed(spec: str, runs: int, scratch: Path) -> list[float]:
    """Milliseconds of ``Sandbox.run`` of the trivial command in backend ``spec``."""
    workspace = scratch / "workspace"
    workspace.mkdir(exist_ok=True)
    (workspace / "main.py").write_text("print('hello')\n")
    box = get_sandbox(spec)
    times = []
    try:
        for i in range(runs + 1):
            run = RunSpec(COMMAND, mounts=(Mount(workspace, "/work", writable=True),))
            start = time.perf_counter()
            result = box.run(run, scratch / f"{spec}-{i}")
            times.append((time.perf_counter() - start) * 1000)
            if result.error or result.exit_code != 0:
                raise SystemExit(f"{spec}: the trivial run failed: {result}")
    finally:
        box.close()
    return times[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backends", default="local,docker")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    report: dict[str, dict[str, float]] = {}
    base = statistics.median(bare(args.runs))
    report["bare"] = {"median_ms": round(base, 1)}
    with tempfile.TemporaryDirectory(prefix="hgm-bench-sandbox-") as tmp:
        for spec in args.backends.split(","):
            try:
                median = statistics.median(sandboxed(spec, args.runs, Path(tmp)))
            except SandboxError as exc:
                print(f"{spec}: not available here: {exc}", file=sys.stderr)
                continue
            report[spec] = {"median_ms": round(median, 1), "overhead_ms": round(median - base, 1)}
    if args.json:
        print(json.dumps(report))
    else:
        for name, figures in report.items():
            extra = f"  (+{figures['overhead_ms']:.1f} ms)" if "overhead_ms" in figures else ""
            print(f"{name:>8}: median {figures['median_ms']:.1f} ms{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
