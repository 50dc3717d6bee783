"""The Ray executor on a real multi-node Ray cluster on this machine (separate raylets, each
with its own resources), driven by ``hgm run`` with the scripted model: runs, node loss,
the gateway over TCP through a node's relay, and keys that never leave the driver.

One cluster serves the module (starting one takes seconds); the node-loss test removes the
worker node and the last test removes the head, so they come last, in that order.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the Ray executor needs Ray: pip install 'hgm[ray]' (make setup)")

from hgm.executor.ray_relay import NodeRelay  # noqa: E402
from hgm.gateway import Scope, get_backend  # noqa: E402
from hgm.gateway.server import Gateway  # noqa: E402

# One cluster for the module: under pytest-xdist (--dist loadgroup) its tests stay together.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]

SECRET = "sk-hgm-test-never-leaves-the-driver"
_MB = 1024 * 1024


def _without_keys(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if not any(w in k.upper() for w in ("KEY", "TOKEN", "SECRET"))}


@pytest.fixture(scope="module")
def cluster():
    """A head and one worker node, 2 CPUs each. Their processes get this process's
    environment (as `ray start` on a machine would), so keys are kept out of it."""
    from ray.cluster_utils import Cluster

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(_without_keys(saved))
    try:
        c = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 2, "object_store_memory": 80 * _MB, "include_dashboard": False,
            # a removed node is noticed in seconds, not the default half a minute
            "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 4},
        })
        worker = c.add_node(num_cpus=2, object_store_memory=80 * _MB)
        c.wait_for_nodes()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    yield c, worker
    c.shutdown()  # what the tests left of it


def _hgm(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hgm.cli", *args], capture_output=True, text=True,
                          env=env, timeout=600, **kwargs)


def _run_args(address: str, out: Path, max_evals: int, sandbox: str = "local") -> list[str]:
    return ["run", "--model", "scripted:demo", "--executor", f"ray?address={address}", "--sandbox", sandbox,
            "--max-evals", str(max_evals), "--workers", "4", "--out", str(out)]


def _query(db: Path, sql: str) -> list[tuple]:
    # read-only: a plain connect would create the file, and a run starting there refuses it
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
        return con.execute(sql).fetchall()


def _agent_running_on(node) -> bool:
    """Whether an agent (run_agent.py, in a sandbox) runs under the node's raylet now."""
    raylet = node.all_processes["raylet"][0].process.pid
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    todo = list(children.get(raylet, []))
    while todo:
        pid = todo.pop()
        try:
            if b"run_agent.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
        todo += children.get(pid, [])
    return False


def _wait_for_evaluations(proc: subprocess.Popen, db: Path, n: int) -> None:
    """Until the run has recorded ``n`` evaluations (or ended, or four minutes passed)."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if _query(db, "SELECT count(*) FROM evaluations")[0][0] >= n:
                return
        except sqlite3.OperationalError:  # not made yet
            pass
        time.sleep(0.2)


# -- the gateway over TCP, through a node's relay ------------------------------------------
def _post(sock: Path, token: str | None) -> int:
    connection = http.client.HTTPConnection("localhost", timeout=30)
    connection.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.sock.connect(str(sock))
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    body = {"model": "any", "messages": [{"role": "user", "content": "hello"}]}
    connection.request("POST", "/v1/chat/completions", json.dumps(body), headers)
    status = connection.getresponse().status
    connection.close()
    return status


def test_the_tcp_gateway_serves_only_live_tokens_of_its_own_run(tmp_path):
    calls, other_calls = [], []
    host = ray.util.get_node_ip_address()
    gateway = Gateway(get_backend("scripted:demo"), socket_path=tmp_path / "gw.sock", recorder=calls.append,
                      tcp_port=0, tcp_host=host)
    other = Gateway(get_backend("scripted:demo"), socket_path=tmp_path / "other.sock",
                    recorder=other_calls.append)
    with gateway, other:
        relay = NodeRelay(host, gateway.tcp_port)
        try:
            live = gateway.issue_token(Scope(kind="other", node=0, ref="job-a"))
            ended = gateway.issue_token(Scope(kind="other", node=0, ref="job-b"))
            gateway.revoke(ended)
            another_run = other.issue_token(Scope(kind="other", node=0, ref="job-c"))
            assert _post(relay.socket_path, None) == 401
            assert _post(relay.socket_path, ended) == 401
            assert _post(relay.socket_path, another_run) == 401
            assert _post(relay.socket_path, live + "x") == 401
            assert _post(relay.socket_path, live) == 200
        finally:
            relay.close()
    assert [c.scope.ref for c in calls] == ["job-a"]  # refused requests reach no model
    assert other_calls == []


def test_no_key_of_the_driver_reaches_a_worker_or_its_sandbox(cluster, monkeypatch):
    from hgm.executor.ray import RayExecutor, probe_node, worker_environment_names

    c, _ = cluster
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("HGM_TEST_SECRET_TOKEN", SECRET)
    executor = RayExecutor(workers=2, address=c.address)
    try:
        nodes = [node_id for node_id, _ in executor.alive()]
        assert len(nodes) == 2
        sandboxes = executor.on_each(nodes, probe_node, "local", "env")
        workers = executor.on_each(nodes, worker_environment_names)
    finally:
        executor.shutdown()
    for finished, (ok, output) in sandboxes:
        assert finished and ok, output
        assert "PATH=" in output and SECRET not in output
    for finished, names in workers:  # the cluster was started without these: only hgm could pass them
        assert finished, names
        assert "PATH" in names and not {"OPENAI_API_KEY", "HGM_TEST_SECRET_TOKEN"} & set(names)


def test_doctor_reports_every_node_of_the_cluster(cluster):
    from hgm.executor.ray_doctor import cluster_checks  # what `hgm doctor --executor ray` adds

    c, _ = cluster
    checks = {check.name: check for check in cluster_checks(f"ray?address={c.address}", "local")}
    assert checks["ray cluster"].ok and checks["ray cluster"].detail == "2 alive node(s)"
    nodes = [check for name, check in checks.items() if name.startswith("node ")]
    assert len(nodes) == 4 and all(check.ok for check in nodes), nodes
    assert {check.detail for check in nodes} == {"local: sandbox ok", "no key-like variables"}


# -- runs ------------------------------------------------------------------------------------
def test_a_scripted_run_on_two_nodes_records_like_the_local_executor(cluster, tmp_path):
    c, _ = cluster
    out = tmp_path / "run"
    env = os.environ | {"OPENAI_API_KEY": SECRET}
    proc = _hgm(*_run_args(c.address, out, 30), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reached --max-evals 30" in proc.stdout
    assert "machines:" in proc.stdout  # workers per node in the live view
    check = _hgm("check", str(out))
    assert check.returncode == 0, check.stdout + check.stderr
    db = out / "hgm.db"
    assert _query(db, "SELECT count(*) FROM evaluations WHERE outcome IN ('pass', 'fail')") == [(30,)]
    nodes = _query(db, "SELECT id, parent, commit_sha FROM nodes ORDER BY id")
    assert len(nodes) > 1, "no expansion made a child"
    git = ["git", "--git-dir", str(out / "agents.git")]
    shas = {node: sha for node, _, sha in nodes}
    for node, parent, sha in nodes[1:]:  # node N is refs/nodes/N, its git parent the parent's commit
        found = subprocess.run([*git, "rev-parse", f"refs/nodes/{node}", f"{sha}^"], capture_output=True,
                               text=True, check=True)
        assert found.stdout.split() == [sha, shas[parent]]
    # every call is attributed: what evaluations and nodes carry is what the calls cost
    (llm,), (evals,), (made,), (failed,) = (
        _query(db, "SELECT round(sum(cost_usd), 9) FROM llm_calls"),
        _query(db, "SELECT sum(cost_usd) FROM evaluations"),
        _query(db, "SELECT sum(cost_usd) FROM nodes"),
        _query(db, "SELECT coalesce(sum(cost_usd), 0) FROM expansions WHERE status = 'failed'"),
    )
    assert llm[0] > 0 and llm[0] == pytest.approx(evals[0] + made[0] + failed[0])
    kinds = dict(_query(db, "SELECT scope_kind, count(*) FROM llm_calls GROUP BY 1"))
    assert set(kinds) <= {"evaluation", "expansion", "diagnosis"}
    edits = _query(db, "SELECT count(*) FROM nodes WHERE kind = 'edit'")[0][0]
    assert kinds.get("diagnosis", 0) >= edits  # diagnosed on a node, charged by the driver
    (jobs,) = _query(db, "SELECT data FROM events WHERE kind = 'ray_jobs'")[0]
    per_node = [n["jobs"] for n in json.loads(jobs).values()]
    assert len(per_node) == 2 and all(n > 0 for n in per_node), per_node


def test_a_node_that_cannot_run_sandboxes_is_reported_and_gets_no_jobs(cluster, tmp_path):
    from hgm.sandbox import get_sandbox

    try:
        get_sandbox("docker").close()
    except Exception as e:  # noqa: BLE001 - CI has an engine and the image
        pytest.skip(f"needs a Docker engine and hgm's sandbox image (make setup): {e}")
    c, _ = cluster
    bad = c.add_node(num_cpus=2, object_store_memory=80 * _MB,
                     env_vars={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    c.wait_for_nodes()
    out = tmp_path / "run"
    try:
        proc = _hgm(*_run_args(c.address, out, 4, sandbox="docker"))
    finally:
        c.remove_node(bad)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    db = out / "hgm.db"
    checked = [json.loads(d) for (d,) in _query(db, "SELECT data FROM events WHERE kind = 'ray_node'")]
    refused = [n for n in checked if not n["ok"]]
    assert len(checked) == 3 and [n["node"] for n in refused] == [bad.node_id], checked
    assert f"[{bad.node_id[:6]}] no jobs: " in proc.stdout  # the live view says why
    (jobs,) = _query(db, "SELECT data FROM events WHERE kind = 'ray_jobs'")[0]
    assert json.loads(jobs)[bad.node_id]["jobs"] == 0
    assert _query(db, "SELECT count(*) FROM evaluations WHERE outcome IN ('pass', 'fail')") == [(4,)]


def test_a_node_lost_mid_run_turns_its_jobs_into_infrastructure_errors(cluster, tmp_path):
    c, worker = cluster
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "hgm.cli", *_run_args(c.address, out, 12)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_evaluations(proc, out / "hgm.db", 3)
        deadline = time.monotonic() + 60
        while not _agent_running_on(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        c.remove_node(worker, allow_graceful=False)  # with an agent at work there
        output, _ = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert _hgm("check", str(out)).returncode == 0
    db = out / "hgm.db"
    lost = _query(db, "SELECT count(*) FROM evaluations WHERE outcome = 'error' AND reason LIKE '%lost with Ray node%'")
    lost_expansions = _query(db, "SELECT count(*) FROM expansions WHERE status = 'failed' AND reason LIKE '%lost with Ray node%'")
    assert lost[0][0] + lost_expansions[0][0] >= 1, output
    # the run went on with the head: every evaluation owed was done, and none twice
    assert _query(db, "SELECT count(*) FROM evaluations WHERE outcome IN ('pass', 'fail')") == [(12,)]
    rows = [row_id for (row_id,) in _query(db, "SELECT id FROM evaluations ORDER BY id")]
    events = [json.loads(d) for (d,) in _query(db, "SELECT data FROM events WHERE kind = 'evaluation' ORDER BY id")]
    assert [e["evaluation"] for e in events] == rows  # one event per recorded evaluation
    assert len({e["ref"] for e in events}) == len(events)  # no job recorded twice
    assert _query(db, "SELECT count(*) FROM events WHERE kind = 'ray_node_lost'")[0][0] >= 1
    resumed = _hgm("run", "--resume", str(out), "--max-evals", "14")  # on the node left
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _query(db, "SELECT count(*) FROM evaluations WHERE outcome IN ('pass', 'fail')") == [(14,)]
    assert _hgm("check", str(out)).returncode == 0


def test_the_head_going_away_stops_the_run_with_the_resume_command(cluster, tmp_path):
    c, _ = cluster
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "hgm.cli", *_run_args(c.address, out, 40)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_evaluations(proc, out / "hgm.db", 2)
        # The head's GCS goes (the last test: the cluster is gone). Its raylet stays, as on a
        # driver's machine whose head services were stopped: were the driver's own raylet to
        # die too, Ray would end the driver at once (the resume still works; nothing is lost).
        c.head_node.kill_gcs_server()
        output, _ = proc.communicate(timeout=120)  # well before Ray's own minute runs out
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, output
    assert "does not answer" in output and f"hgm run --resume {out}" in output
    assert _hgm("check", str(out)).returncode == 0
    db = out / "hgm.db"
    done = _query(db, "SELECT count(*) FROM evaluations WHERE outcome IN ('pass', 'fail')")[0][0]
    resumed = _hgm("run", "--resume", str(out), "--executor", "local", "--max-evals", str(done + 2))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _query(db, "SELECT count(*) FROM evaluations WHERE outcome IN ('pass', 'fail')") == [(done + 2,)]
    # errors of the lost head are the cluster's: none was turned into an agent's fail
    assert _query(db, "SELECT count(*) FROM evaluations WHERE reason LIKE 'error repeated%'") == [(0,)]
