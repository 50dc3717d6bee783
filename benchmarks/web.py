"""Web page benchmark: the tree API and the tree view's first paint on a big simulated run.

A run of about ``--nodes`` nodes is simulated (``hgm simulate --out``, policy
``hgm?alpha=2``, which expands nearly every time, so the budget sets the tree's size), then:

* ``tree_json_ms``: the median, over 5 fresh app instances, of one ``GET /api/tree`` answered
  cold (the run opened, its counts aggregated in SQL, the JSON made), in process
  (Starlette's test client, so no network time is counted);
* ``first_paint_ms``: a real ``hgm serve`` process and headless Chromium (Debian's, through
  Playwright): the time from navigation start to the first frame painted after the tree view
  rendered, on a cold server (the page's own scripts, the summary and tree API calls, the
  layout and the SVG). Null, with a note on stderr, when chromium or playwright is missing.

Output (``--json``): ``{"nodes": N, "tree_json_ms": float, "first_paint_ms": float | null}``,
N being the simulated run's actual node count. Targets at 10,000 nodes: tree API <= 200 ms,
first paint <= 1,500 ms.

    python benchmarks/web.py [--nodes 10000] [--keep DIR] [--json]

``--keep DIR`` keeps the simulated run in DIR and reuses it next time (10,000 nodes take
minutes to simulate).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from starlette.testclient import TestClient

from hgm.web import create_app
from hgm.web.catalog import find_runs

EVAL_UNITS_PER_NODE = 7.5  # hgm?alpha=2 on the default landscape: screening + expansion cost
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def simulated_run(nodes: int, where: Path) -> Path:
    """A simulated run of about ``nodes`` nodes under ``where`` (made unless already there)."""
    found = find_runs(where) if where.exists() else []
    if not found:
        budget = max(10, int(nodes * EVAL_UNITS_PER_NODE))
        subprocess.run([sys.executable, "-m", "hgm.cli", "simulate", "--policies", "hgm?alpha=2", "--seeds", "1",
                        "--budget", str(budget), "--out", str(where), "--json"],
                       check=True, stdout=subprocess.DEVNULL)
        found = find_runs(where)
    return found[0].path


def tree_json_ms(run: Path, repeats: int = 5) -> tuple[int, float]:
    times, count = [], 0
    for _ in range(repeats):
        client = TestClient(create_app(run))
        start = time.perf_counter()
        response = client.get("/api/tree", params={"run": run.name})
        times.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        count = len(response.json()["id"])
    return count, statistics.median(times)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_paint_ms(run: Path) -> float | None:
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium = None
    if chromium is None:
        print("first paint not measured: needs chromium on PATH and playwright (make setup)", file=sys.stderr)
        return None
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "hgm.cli", "serve", str(run), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "static/util.js", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{url}#/tree?run={run.name}")
            painted = page.locator("body[data-tree-paint-ms]")
            painted.wait_for(state="attached", timeout=60_000)
            value = float(painted.get_attribute("data-tree-paint-ms"))
            browser.close()
        return value
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000, help="about how many nodes the simulated run has")
    parser.add_argument("--keep", type=Path, help="keep the simulated run in this folder and reuse it")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    scratch = None if args.keep else Path(tempfile.mkdtemp(prefix="hgm-bench-web-"))
    try:
        run = simulated_run(args.nodes, args.keep or scratch / "sim")
        nodes, api_ms = tree_json_ms(run)
        paint = first_paint_ms(run)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    result = {"nodes": nodes, "tree_json_ms": round(api_ms, 1),
              "first_paint_ms": None if paint is None else round(paint, 1)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{nodes:,} nodes: tree API {api_ms:.0f} ms (target <= 200 at 10,000), "
              f"first paint {'not measured' if paint is None else f'{paint:.0f} ms'} (target <= 1,500 at 10,000)")


if __name__ == "__main__":
    main()
