"""The web page's server and export without a browser: the JSON API on real runs (a simulated
one and a hostile one), 404 for unknown ids and traversal, read-only, live versions."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from web_runs import HOSTILE, HOSTILE_TASK, make_hostile_run

from hgm.archive import Run
from hgm.sim import SimParams, simulate_run
from hgm.types import Outcome
from hgm.views import tree_rows
from hgm.web import create_app
from hgm.web.catalog import find_runs
from hgm.web.export import export_html


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("web")
    simulate_run("hgm", seed=3, params=SimParams(budget=120), out=root / "sims" / "sim")
    make_hostile_run(root / "hostile", root / "seed")
    return root


@pytest.fixture(scope="module")
def client(root) -> TestClient:
    return TestClient(create_app(root))


def test_runs_lists_every_run_under_the_folder_by_relative_id(client):
    runs = client.get("/api/runs").json()["runs"]
    assert sorted(r["id"] for r in runs) == ["hostile", "sims/sim"]
    sim = next(r for r in runs if r["id"] == "sims/sim")
    assert sim["state"] == "simulated" and sim["nodes"] > 3 and sim["evaluations"] > 0
    assert sim["best"]["interval95"][0] <= sim["best"]["pass_rate"] <= sim["best"]["interval95"][1]


def test_a_run_folder_itself_is_served_under_its_name(root):
    assert [e.id for e in find_runs(root / "sims" / "sim")] == ["sim"]


def test_tree_has_every_node_with_the_counts_hgm_tree_shows(client, root):
    tree = client.get("/api/tree", params={"run": "sims/sim"}).json()
    with Run.open(root / "sims" / "sim", readonly=True) as run:
        rows = tree_rows(run)
    assert sorted(tree["id"]) == sorted(r.node for r in rows)
    for r in rows:
        assert (tree["passes"][r.node], tree["evals"][r.node]) == (r.passes, r.evals)
        assert tree["clade_evals"][r.node] == r.clade_evals
        assert tree["cmp"][r.node] == (-1 if r.cmp is None else pytest.approx(r.cmp, abs=1e-4))
    assert tree["best"] == next(r.node for r in rows if r.best)


def test_node_panel_has_results_calls_children_and_intervals(client):
    node = client.get("/api/node", params={"run": "hostile", "node": 1}).json()
    assert node["proposal"] == "proposal " + HOSTILE
    assert {e["task"] for e in node["evaluations"]} == {HOSTILE_TASK, "plain-task"}
    assert node["llm_calls_total"]["count"] == 1 and node["llm_calls_total"]["prompt_tokens"] == 10
    assert [f["problem_statement"] for f in node["failed_expansions"]] == ["failed " + HOSTILE]
    assert [sk["description"] for sk in node["skills"]] == ["skill description " + HOSTILE]
    lo, hi = node["own"]["interval95"]
    assert lo <= node["own"]["mean"] <= hi and node["own"]["evals"] == 2
    root = client.get("/api/node", params={"run": "hostile", "node": 0}).json()
    assert [c["id"] for c in root["children"]] == [1, 2] and root["children"][1]["status"] == "invalid"


def test_diff_comes_from_git_against_parent_root_or_any_node(client):
    diff = client.get("/api/diff", params={"run": "hostile", "node": 1, "against": "root"}).json()
    assert diff["against"] == 0 and "+print('child:" in diff["diff"]
    assert client.get("/api/diff", params={"run": "hostile", "node": 1, "against": "2"}).json()["against"] == 2
    assert client.get("/api/diff", params={"run": "hostile", "node": 1, "against": "x"}).status_code == 404


def test_evaluation_shows_the_trajectory_entries_and_test_log_as_text(client):
    node = client.get("/api/node", params={"run": "hostile", "node": 1}).json()
    first = node["evaluations"][0]["id"]
    ev = client.get("/api/evaluation", params={"run": "hostile", "id": first}).json()
    assert [e["role"] for e in ev["entries"]] == ["system", "assistant", "call", "tool"]
    assert ev["test_log"] == "test log " + HOSTILE
    raw = client.get("/api/artifact", params={"run": "hostile", "evaluation": first, "which": "test_log"})
    assert raw.text == "test log " + HOSTILE
    assert raw.headers["content-type"].startswith("text/plain") and raw.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("url", [
    "/api/tree?run=nope", "/api/tree?run=../hostile", "/api/tree?run=/etc", "/api/tree?run=hostile/../sims/sim",
    "/api/node?run=hostile&node=99", "/api/node?run=hostile&node=-1", "/api/node?run=hostile&node=1e3",
    "/api/evaluation?run=hostile&id=999", "/api/artifact?run=hostile&evaluation=1&which=config",
    "/api/artifact?run=hostile&evaluation=1&which=../../config.yaml", "/api/artifact?run=hostile&evaluation=99&which=trajectory",
    "/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/hostile/config.yaml", "/api/compare?run=nope",
])
def test_unknown_ids_and_traversal_get_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "import" not in response.text and "model:" not in response.text


def test_the_server_writes_nothing_and_accepts_no_write(client, root):
    before = {p: p.stat().st_mtime_ns for p in (root / "hostile").rglob("*") if p.is_file()}
    for url in ("/api/runs", "/api/tree?run=hostile", "/api/node?run=hostile&node=1", "/api/plots?run=hostile"):
        assert client.get(url).status_code == 200
        assert client.post(url).status_code == 405
    after = {p: p.stat().st_mtime_ns for p in (root / "hostile").rglob("*") if p.is_file()}
    assert after == before


def test_pages_carry_a_policy_that_allows_only_the_page_own_scripts(client):
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert client.get("/static/app.js").status_code == 200


def test_version_changes_when_the_run_records_something(tmp_path):
    out = tmp_path / "run"
    simulate_run("hgm", seed=1, params=SimParams(budget=30), out=out)
    client = TestClient(create_app(out))
    before = client.get("/api/version", params={"run": "run"}).json()
    tree_before = client.get("/api/tree", params={"run": "run"}).json()
    with Run.open(out) as run:
        run.record_evaluation(0, 0, Outcome.PASS)
    after = client.get("/api/version", params={"run": "run"}).json()
    assert after["evaluations"] == before["evaluations"] + 1 and after["nodes"] == before["nodes"]
    assert client.get("/api/tree", params={"run": "run"}).json()["evals"][0] == tree_before["evals"][0] + 1


def test_plots_and_compare_have_one_series_per_run(client):
    plots = client.get("/api/plots", params={"run": "sims/sim"}).json()
    best = plots["best"]
    assert best[-1]["evaluations"] == client.get("/api/summary", params={"run": "sims/sim"}).json()["evaluations"]
    assert all(p["lower"] <= p["rate"] <= p["upper"] for p in best)
    assert plots["growth"]["nodes"][-1][1] == len(client.get("/api/tree", params={"run": "sims/sim"}).json()["id"])
    both = client.get("/api/compare", params=[("run", "sims/sim"), ("run", "hostile")]).json()
    assert [r["id"] for r in both["runs"]] == ["sims/sim", "hostile"]
    assert HOSTILE_TASK in both["matrix"]["tasks"] and set(both["matrix"]["cells"]) == {"sims/sim", "hostile"}


def test_export_writes_a_page_with_every_node_and_evaluation(root, tmp_path):
    done = export_html(root / "hostile", tmp_path / "page")
    text = (tmp_path / "page" / "static" / "data.js").read_text()
    data = json.loads(text[text.index("{"): text.rindex("}") + 1])
    assert {"node?node=0&run=hostile", "node?node=2&run=hostile", "tree?run=hostile",
            "diff?against=parent&node=1&run=hostile", "evaluation?id=4&run=hostile"} <= set(data["api"])
    assert (tmp_path / "page" / "index.html").exists() and done.nodes == 3 and done.bytes > len(text)
    with pytest.raises(FileExistsError):
        export_html(root / "hostile", tmp_path / "page")


def _hgm(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    return subprocess.run([sys.executable, "-m", "hgm.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=60, env=env)


def test_serve_refuses_a_folder_without_runs_in_one_line(tmp_path):
    done = _hgm("serve", tmp_path)
    assert done.returncode == 1 and done.stderr.strip() == f"error: no hgm run at or under {tmp_path} " \
        "(a run folder holds config.yaml, agents.git and hgm.db)"


def test_export_html_command_states_the_size(root, tmp_path):
    done = _hgm("export-html", root / "hostile", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "3 nodes" in done.stdout and " MB)" in done.stdout


def test_a_server_bound_to_localhost_refuses_other_host_names(root):
    local = TestClient(create_app(root, allowed_hosts=["localhost", "127.0.0.1"]), base_url="http://127.0.0.1")
    assert local.get("/api/runs").status_code == 200
    assert local.get("/api/runs", headers={"host": "attacker.example"}).status_code == 400


def test_serve_on_another_interface_warns_that_anyone_can_read_the_runs(root):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "hgm.cli", "serve", root, "--host", "0.0.0.0", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        warning = proc.stderr.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert warning.startswith("warning: listening on 0.0.0.0: anyone who can reach this machine can read")


def test_a_running_run_marks_the_nodes_being_evaluated_or_expanded(tmp_path):
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "run_agent.py").write_text("print('seed')\n")
    with Run.create(tmp_path / "run", seed, config={"model": "m"}, task_ids=["t0", "t1"], durable=False) as run:
        run.log_event("started", {"pid": os.getpid()})  # this process plays the live driver
        client = TestClient(create_app(tmp_path / "run"))

        def busy():
            return client.get("/api/tree", params={"run": "run"}).json()["busy"]

        def call(kind: str, ref: str) -> None:
            run.log_llm_call(node=0, scope_kind=kind, scope_id=ref, model="m", request={}, response={},
                             prompt_tokens=1, completion_tokens=1, cost_usd=0.0, latency_s=0.0)

        assert busy() == []
        call("evaluation", "evaluation-1")
        assert busy() == [{"node": 0, "kind": "evaluation"}]
        run.record_evaluation(0, 0, Outcome.PASS, ref="evaluation-1")
        call("diagnosis", "expansion-1")
        assert busy() == [{"node": 0, "kind": "expansion"}]
        run.add_node(0, seed, kind="edit", proposal="p", expansion={"cost_usd": 0.0})
        assert busy() == []
        call("evaluation", "evaluation-2")
        run.log_event("stopped", {"reason": "done", "kind": "finished", "exit_code": 0})
        assert busy() == []  # only a running run has work in flight


def test_skills_lists_the_index_as_text_and_unknown_skills_get_404(client):
    listed = client.get("/api/skills", params={"run": "hostile"}).json()["skills"]
    assert [s["description"] for s in listed] == ["skill description " + HOSTILE]
    assert client.get("/api/skill", params={"run": "hostile", "id": 999}).status_code == 404
