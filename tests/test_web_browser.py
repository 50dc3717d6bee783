"""The web page in real headless Chromium (Debian's, driven by Playwright) against a real
`hgm serve` process, on runs made by `hgm run --model scripted:demo`.

Needs `chromium` on PATH and the playwright package (`make setup` installs both; the browser
is never downloaded).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from web_runs import HOSTILE, HOSTILE_TASK, SCRIPT, make_hostile_run

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (make setup does)")
CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium on PATH (make setup installs it)"),
]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
DEMO = ["--model", "scripted:demo", "--benchmark", "builtin", "--sandbox", "local"]


def _hgm(*args: object, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "hgm.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=120, env=ENV, **kw)
    assert done.returncode == 0, done.stderr
    return done


def _node_count(run: Path) -> int:
    return len(json.loads(_hgm("tree", run, "--json").stdout))


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("web")
    # One worker: the seed's first evaluations, then its child, which is evaluated too.
    _hgm("run", *DEMO, "--max-evals", 14, "--workers", 1, "--out", root / "a")
    _hgm("run", *DEMO, "--max-evals", 4, "--out", root / "b")  # the seed only, resumed below
    make_hostile_run(root / "hostile", root / "seed")
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(root):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "hgm.cli", "serve", root, "--port", str(port)],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "api/runs", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"hgm serve did not start: {proc.stderr.read()}")
            time.sleep(0.1)
    yield url
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watched:
    """A page with its dialogs (alert, confirm) and console errors recorded."""

    def __init__(self, browser):
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def clean(self) -> None:
        assert self.dialogs == [] and self.errors == []


@pytest.fixture
def watched(browser):
    w = Watched(browser)
    yield w
    w.page.close()


# Waits go through locators: the page's Content-Security-Policy forbids the string
# evaluation that wait_for_function would need.
NODES = "svg.tree [data-node]"


def _wait_for_nodes(page, at_least: int, timeout: float = 30_000) -> None:
    page.locator(NODES).nth(at_least - 1).wait_for(state="attached", timeout=timeout)


def _open_tree(w: Watched, url: str, run: str, expect: int) -> None:
    w.page.goto(f"{url}#/tree?run={run}")
    _wait_for_nodes(w.page, expect)


def test_the_tree_shows_every_node(watched, server, root):
    n = _node_count(root / "a")
    _open_tree(watched, server, "a", n)
    ids = watched.page.eval_on_selector_all(NODES, "els => els.map(e => +e.dataset.node)")
    assert sorted(ids) == list(range(n)) and n == 2
    assert watched.page.locator("svg.tree .node.best").count() == 1
    watched.clean()


def test_clicking_a_node_shows_its_diff_results_and_a_trajectory(watched, server, root):
    results = json.loads(_hgm("show", root / "a", 1, "--json").stdout)["evaluations"]
    assert results, "the fixture's child node should have been evaluated"
    _open_tree(watched, server, "a", 2)
    page = watched.page
    page.click('svg.tree [data-node="1"]')
    page.wait_for_selector("#panel h2[data-node='1']")
    page.wait_for_selector("#panel .diff .d-add")
    added = [line for line in _hgm("diff", root / "a", 1).stdout.splitlines() if line.startswith("+ ") or
             (line.startswith("+") and not line.startswith("+++"))]
    assert added and added[0] in page.inner_text("#panel .diff")
    assert page.locator("#panel table.results tbody tr").count() == len(results)
    page.wait_for_selector("#panel ol.trajectory li")
    assert page.locator("#panel ol.trajectory li").count() > 1
    page.click("#panel button:text('against root')")
    sync_api.expect(page.locator("#panel .diff-box")).to_contain_text("against node 0")
    watched.clean()


def test_the_compare_page_shows_two_runs(watched, server):
    page = watched.page
    page.goto(server + "#/")
    page.check("tr[data-run='a'] input[type=checkbox]")
    page.check("tr[data-run='b'] input[type=checkbox]")
    page.click("button:text('compare selected')")
    page.wait_for_selector("table.compare tbody tr")
    assert page.eval_on_selector_all("table.compare tbody tr", "rs => rs.map(r => r.dataset.run)") == ["a", "b"]
    first_plot = page.locator("figure.plot-box").first
    assert first_plot.locator("path.line").count() == 2
    assert page.locator("table.matrix thead th").count() == 3
    watched.clean()


def test_hostile_run_text_shows_as_text_and_runs_nothing(watched, server):
    page = watched.page
    page.goto(server + "#/")
    page.wait_for_selector("tr[data-run='hostile']")
    assert SCRIPT in page.inner_text("tr[data-run='hostile']")
    _open_tree(watched, server, "hostile", 3)
    page.hover('svg.tree [data-node="1"]')
    assert "proposal " + SCRIPT in page.inner_text("#tooltip")
    page.click('svg.tree [data-node="1"]')
    page.wait_for_selector("#panel ol.trajectory li")
    page.click("#panel table.results tbody tr >> nth=0")
    page.wait_for_selector("#panel .evaluation h4")
    page.wait_for_selector("#panel ol.trajectory li")
    text = page.inner_text("#panel")
    for shown in ("proposal " + HOSTILE, HOSTILE_TASK, "test log " + HOSTILE, "failed " + HOSTILE,
                  "skill description " + HOSTILE):
        assert shown in text
    page.click('svg.tree [data-node="2"]')
    page.wait_for_selector("#panel h2[data-node='2']")
    assert "self-check failed: " + HOSTILE in page.inner_text("#panel")
    page.click("#nav a:text('Skills')")
    page.wait_for_selector("table.skills tbody tr")
    description = "skill description " + HOSTILE  # the table shows its start, the cell's title all of it
    assert description[:140] in page.inner_text("table.skills")
    assert page.locator("table.skills tbody td[title]").first.get_attribute("title") == description
    page.goto(server + "#/compare?run=hostile&run=a")
    page.wait_for_selector("table.matrix tbody tr")
    assert HOSTILE_TASK in page.inner_text("table.matrix") and SCRIPT in page.inner_text("table.compare")
    _assert_nothing_ran(watched)


def _assert_nothing_ran(w: Watched) -> None:
    page = w.page
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#main img, #main script, #panel a[href^='javascript'], #main iframe").count() == 0
    w.clean()


def test_a_run_in_progress_gains_nodes_without_a_reload(watched, server, root):
    assert _node_count(root / "b") == 1
    _open_tree(watched, server, "b", 1)
    page = watched.page
    page.click('svg.tree [data-node="0"]')
    page.wait_for_selector("#panel h2[data-node='0']")
    assert "Children (0)" in page.inner_text("#panel")
    page.evaluate("window.__same_page = true")
    resumed = subprocess.Popen([sys.executable, "-m", "hgm.cli", "run", "--resume", root / "b", "--max-evals", "14"],
                               env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_nodes(page, 2, timeout=90_000)
    finally:
        assert resumed.wait(timeout=120) == 0, resumed.stderr.read()
    assert page.evaluate("window.__same_page") is True
    sync_api.expect(page.locator("#panel")).to_contain_text("Children (", timeout=30_000)
    sync_api.expect(page.locator("#panel")).not_to_contain_text("Children (0)", timeout=30_000)  # the open panel follows
    sync_api.expect(page.locator(NODES)).to_have_count(_node_count(root / "b"))
    watched.clean()


def test_the_exported_page_opens_from_disk_and_shows_the_tree(watched, root, tmp_path):
    _hgm("export-html", root / "hostile", tmp_path / "page")
    page = watched.page
    page.goto((tmp_path / "page" / "index.html").as_uri())
    sync_api.expect(page.locator(NODES)).to_have_count(3)
    page.click('svg.tree [data-node="1"]')
    page.wait_for_selector("#panel ol.trajectory li")
    page.wait_for_selector("#panel .diff .d-add")
    assert "proposal " + HOSTILE in page.inner_text("#panel")
    # No Content-Security-Policy guards a page opened from disk: escaping alone keeps it safe.
    _assert_nothing_ran(watched)


def test_the_skills_tab_lists_the_index_and_shows_a_skill_md_and_its_code(watched, server):
    listed = json.loads(urllib.request.urlopen(server + "api/skills?run=a", timeout=30).read())["skills"]
    assert listed, "the demo run's seed carries the starter skills"
    page = watched.page
    page.goto(server + "#/skills?run=a")
    page.wait_for_selector("table.skills tbody tr")
    assert page.locator("table.skills tbody tr").count() == len(listed)
    page.click("table.skills tbody tr >> nth=0")
    page.wait_for_selector("#skill-panel h2")
    files = page.eval_on_selector_all("#skill-panel details summary", "els => els.map(e => e.textContent)")
    assert files[0] == "SKILL.md" and any(f.endswith(".py") for f in files)
    assert "name: " + listed[0]["name"] in page.inner_text("#skill-panel details >> nth=0")
    watched.clean()
