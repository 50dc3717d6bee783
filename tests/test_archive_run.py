"""Run: records, totals, replayed statistics, schema migrations and crash repair."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from hgm.archive import SCHEMA_VERSION, ArchiveError, Run, check_run
from hgm.archive import db as schema
from hgm.search.tree import TreeStats
from hgm.types import NodeKind, NodeStatus, Outcome

TASKS = ["t0", "t1", "t2", "t3"]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


@pytest.fixture
def archive_seed(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "seed", {"agent.py": "print('seed')\n"})


@pytest.fixture
def archive_run(tmp_path: Path, archive_seed: Path) -> Run:
    run = Run.create(
        tmp_path / "run",
        archive_seed,
        config={"policy": "hgm", "budget": {"usd": 10.0}},
        task_ids=TASKS,
        task_order=[2, 0, 3, 1],
    )
    yield run
    run.close()


def child(run: Run, tmp_path: Path, parent: int, **kw):
    tree = write_tree(tmp_path / f"tree-{len(run.nodes())}", {"agent.py": f"# {parent}\n"})
    kw.setdefault("kind", NodeKind.EDIT)
    kw.setdefault("proposal", "edit")
    return run.add_node(parent, tree, **kw)


# -- create / open ---------------------------------------------------------------------------


def test_create_then_open_round_trips_config_tasks_and_nodes(archive_run: Run, tmp_path: Path):
    child(archive_run, tmp_path, 0, meta={"model": "m"})
    archive_run.close()
    with Run.open(tmp_path / "run") as run:
        assert run.config == {"policy": "hgm", "budget": {"usd": 10.0}}
        assert run.task_ids == TASKS
        assert run.task_order == [2, 0, 3, 1]
        assert [(n.id, n.parent, n.kind) for n in run.nodes()] == [
            (0, None, NodeKind.SEED),
            (1, 0, NodeKind.EDIT),
        ]
        assert run.node(1).meta == {"model": "m"}
    assert (tmp_path / "run" / "config.yaml").read_text().startswith("policy: hgm")


def test_create_refuses_a_non_empty_path(tmp_path: Path, archive_seed: Path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("mine")
    with pytest.raises(ArchiveError, match="exists and is not empty"):
        Run.create(tmp_path / "busy", archive_seed, config={}, task_ids=[])
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["x"]


def test_create_refuses_a_task_order_that_is_not_a_permutation(tmp_path, archive_seed):
    with pytest.raises(ValueError, match="permutation"):
        Run.create(tmp_path / "r", archive_seed, config={}, task_ids=["a", "b"], task_order=[0, 0])
    assert not (tmp_path / "r").exists()


def test_open_of_a_folder_that_is_not_a_run_names_what_is_missing(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArchiveError, match=r"not an hgm run \(missing: config.yaml"):
        Run.open(tmp_path / "empty")


def test_readonly_open_refuses_writes(archive_run: Run, tmp_path: Path):
    archive_run.close()
    with Run.open(tmp_path / "run", readonly=True) as run:
        assert len(run.nodes()) == 1
        with pytest.raises(ArchiveError, match="read-only"):
            run.log_event("x", {})


def test_the_database_is_plain_sqlite(archive_run: Run, tmp_path: Path):
    archive_run.record_evaluation(0, 2, Outcome.PASS)
    conn = sqlite3.connect(tmp_path / "run" / "hgm.db")
    assert conn.execute("SELECT task_id, outcome FROM evaluations").fetchall() == [("t2", "pass")]
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


def test_open_of_a_truncated_database_raises_archive_error_naming_it(archive_run, tmp_path):
    for i in range(50):
        archive_run.log_event("filler", {"i": i, "text": "x" * 400})
    archive_run.close()
    db = tmp_path / "run" / "hgm.db"
    with open(db, "r+b") as f:
        f.truncate(db.stat().st_size // 2)
    with pytest.raises(ArchiveError, match="hgm.db cannot be read"):
        Run.open(tmp_path / "run")


def test_a_closed_run_says_so(archive_run: Run):
    archive_run.close()
    with pytest.raises(ArchiveError, match="closed"):
        archive_run.nodes()


def test_non_durable_run_records_and_reopens(tmp_path: Path, archive_seed: Path):
    with Run.create(tmp_path / "sim", archive_seed, config={}, task_ids=TASKS, durable=False) as r:
        r.record_evaluation(0, 0, Outcome.PASS)
    with Run.open(tmp_path / "sim", durable=False) as run:
        assert len(run.evaluations()) == 1


# -- records -------------------------------------------------------------------------------


def test_evaluation_artifacts_round_trip(archive_run: Run):
    trajectory = "step 1\nstep 2 \u2713\n" * 100
    ev = archive_run.record_evaluation(
        0, 3, Outcome.FAIL, duration_s=1.5, cost_usd=0.02, trajectory=trajectory, test_log=b"\x00E"
    )
    (stored,) = archive_run.evaluations(node=0)
    assert stored == ev
    assert (stored.task, stored.task_index, stored.outcome) == ("t3", 3, Outcome.FAIL)
    assert archive_run.artifact(stored.trajectory) == trajectory.encode()
    assert archive_run.artifact(stored.test_log) == b"\x00E"


def test_identical_artifacts_are_stored_once(archive_run: Run, tmp_path: Path):
    a = archive_run.record_evaluation(0, 2, Outcome.PASS, trajectory="same")
    b = archive_run.record_evaluation(0, 0, Outcome.PASS, trajectory="same")
    assert a.trajectory == b.trajectory
    assert len([p for p in (tmp_path / "run" / "artifacts").rglob("*") if p.is_file()]) == 1


def test_numpy_integers_from_snapshots_are_accepted(archive_run: Run, tmp_path: Path):
    node = child(archive_run, tmp_path, np.int64(0))
    ev = archive_run.record_evaluation(np.int64(node.id), np.int64(2), Outcome.PASS)
    assert (ev.node, ev.task_index) == (node.id, 2)
    assert archive_run.evaluations(node=np.int64(node.id)) == [ev]


def test_evaluation_of_an_invalid_node_is_refused(archive_run: Run, tmp_path: Path):
    bad = child(archive_run, tmp_path, 0, status=NodeStatus.INVALID, reason="import error")
    with pytest.raises(ArchiveError, match="invalid"):
        archive_run.record_evaluation(bad.id, 0, Outcome.PASS)


def test_expansion_is_written_with_its_child(archive_run: Run, tmp_path: Path):
    node = child(
        archive_run,
        tmp_path,
        0,
        proposal="add retries",
        expansion={"problem_statement": "it gives up", "cost_usd": 0.3, "started_at": 1.0},
    )
    (exp,) = archive_run.expansions()
    assert (exp.parent, exp.child, exp.status) == (0, node.id, "valid")
    assert (exp.problem_statement, exp.cost_usd) == ("it gives up", 0.3)


def test_unknown_expansion_keys_are_refused_before_anything_is_written(archive_run, tmp_path):
    with pytest.raises(ValueError, match="unknown expansion keys"):
        child(archive_run, tmp_path, 0, expansion={"cost": 1})
    assert len(archive_run.nodes()) == 1


def test_failed_expansions_are_recorded_and_charged(archive_run: Run, tmp_path: Path):
    child(archive_run, tmp_path, 0, expansion={"cost_usd": 0.5})
    child(archive_run, tmp_path, 0, status=NodeStatus.INVALID, expansion={"cost_usd": 0.25})
    failed = archive_run.record_failed_expansion(
        0, problem_statement="p", reason="sandbox timed out", cost_usd=0.125
    )
    assert (failed.child, failed.status, failed.reason) == (None, "failed", "sandbox timed out")
    totals = archive_run.totals()
    assert totals["expansions"] == {"valid": 1, "invalid": 1, "failed": 1}
    assert totals["cost_breakdown"]["expansions"] == pytest.approx(0.875)
    assert totals["cost_usd"] == pytest.approx(0.875)


def test_totals_count_llm_calls_outside_records_once(archive_run: Run):
    archive_run.record_evaluation(0, 2, Outcome.PASS, cost_usd=1.0)
    archive_run.record_evaluation(0, 0, Outcome.ERROR, cost_usd=0.0)

    def call(scope: str, cost: float) -> int:
        return archive_run.log_llm_call(
            node=0, scope_kind=scope, scope_id="s", model="m", request={"messages": []},
            response={"choices": []}, prompt_tokens=10, completion_tokens=5, cost_usd=cost,
            latency_s=0.1,
        )  # fmt: skip

    call("evaluation", 1.0)  # already inside the evaluation's own cost
    call("diagnose", 0.5)
    totals = archive_run.totals()
    assert totals["evaluations"] == {"pass": 1, "fail": 0, "error": 1}
    assert totals["llm_calls"] == 2
    assert totals["cost_usd"] == pytest.approx(1.5)
    assert totals["llm_cost_usd"] == pytest.approx(1.5)
    assert (totals["nodes"], totals["valid_nodes"]) == (1, 1)


def test_llm_calls_and_events_round_trip_as_json(archive_run: Run):
    call_id = archive_run.log_llm_call(
        node=None, scope_kind="run", scope_id=None, model="scripted/x",
        request={"messages": [{"role": "user", "content": "hi"}]}, response=None,
        prompt_tokens=3, completion_tokens=0, cost_usd=0.0, latency_s=0.01, error="timeout",
    )  # fmt: skip
    (call,) = archive_run.llm_calls()
    assert call["id"] == call_id
    assert call["request"]["messages"][0]["content"] == "hi"
    assert (call["response"], call["error"]) == (None, "timeout")
    archive_run.log_event("started", {"workers": 2})
    assert archive_run.events()[-1]["data"] == {"workers": 2}


def test_llm_call_for_an_unknown_node_is_refused(archive_run: Run):
    with pytest.raises(ArchiveError, match="rejected"):
        archive_run.log_llm_call(
            node=99, scope_kind="run", scope_id=None, model="m", request={}, response=None,
            prompt_tokens=0, completion_tokens=0, cost_usd=0.0, latency_s=0.0,
        )  # fmt: skip


def test_concurrent_llm_logging_and_node_writes_lose_nothing(archive_run: Run, tmp_path: Path):
    def log_many():
        for _ in range(25):
            archive_run.log_llm_call(
                node=0, scope_kind="evaluation", scope_id="e", model="m", request={},
                response={}, prompt_tokens=1, completion_tokens=1, cost_usd=0.0, latency_s=0.0,
            )  # fmt: skip

    threads = [threading.Thread(target=log_many) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(5):
        child(archive_run, tmp_path, 0)
    for t in threads:
        t.join()
    assert archive_run.totals()["llm_calls"] == 100
    assert [n.id for n in archive_run.nodes()] == list(range(6))


# -- replayed statistics -------------------------------------------------------------------


def assert_same_stats(a: TreeStats, b: TreeStats) -> None:
    sa, sb = a.snapshot(), b.snapshot()
    for name in ("parent", "depth", "valid", "children", "pending_children", "own_pass",
                 "own_fail", "clade_pass", "clade_fail", "in_flight", "issued", "next_task"):  # fmt: skip
        np.testing.assert_array_equal(getattr(sa, name), getattr(sb, name), err_msg=name)
    assert (sa.n_nodes, sa.evals_done, sa.evals_in_flight) == (sb.n_nodes, sb.evals_done, 0)


def test_tree_stats_replay_equals_incremental_stats(archive_run: Run, tmp_path: Path):
    rng = random.Random(7)
    live = TreeStats(len(TASKS), np.array(archive_run.task_order))
    live.add_node(None)
    for step in range(30):
        snap = live.snapshot()
        if step % 4 == 0:
            parent = rng.randrange(snap.n_nodes)
            status = NodeStatus.INVALID if rng.random() < 0.2 else NodeStatus.VALID
            child(archive_run, tmp_path, parent, status=status)
            live.add_node(parent, status is NodeStatus.VALID)
            continue
        candidates = [i for i in range(snap.n_nodes) if snap.next_task[i] >= 0]
        if not candidates:
            continue
        node = rng.choice(candidates)
        task = live.take_task(node)
        outcome = rng.choice([Outcome.PASS, Outcome.FAIL, Outcome.ERROR])
        archive_run.record_evaluation(node, task, outcome)
        live.record_eval(node, task, outcome)
    assert archive_run.evaluations(), "the scenario should have evaluations"
    assert_same_stats(archive_run.tree_stats(), live)


def test_replay_accepts_evaluations_recorded_out_of_dispatch_order(archive_run: Run):
    live = TreeStats(len(TASKS), np.array(archive_run.task_order))
    live.add_node(None)
    first, second = live.take_task(0), live.take_task(0)
    live.record_eval(0, second, Outcome.PASS)  # the later task finished first
    archive_run.record_evaluation(0, second, Outcome.PASS)
    live.record_eval(0, first, Outcome.FAIL)
    archive_run.record_evaluation(0, first, Outcome.FAIL)
    assert_same_stats(archive_run.tree_stats(), live)


def test_replay_puts_tasks_that_never_finished_back_for_retry(archive_run: Run):
    order = archive_run.task_order
    archive_run.record_evaluation(0, order[1], Outcome.PASS)  # order[0] was still running
    stats = archive_run.tree_stats()
    assert stats.snapshot().next_task[0] == order[0]
    assert stats.snapshot().evals_in_flight == 0


# -- schema migrations ---------------------------------------------------------------------


def test_new_database_is_built_by_the_migration_chain(tmp_path: Path):
    database = schema.connect(tmp_path / "x.db")
    assert schema.migrate(database, target=1) == [1]
    assert "skills" not in database.table_names()
    assert schema.migrate(database) == list(range(2, SCHEMA_VERSION + 1))
    assert "skills" in database.table_names()
    database.close()


def test_older_database_is_upgraded_on_open(archive_run: Run, tmp_path: Path):
    archive_run.record_evaluation(0, 2, Outcome.PASS, trajectory="kept")
    archive_run.close()
    conn = sqlite3.connect(tmp_path / "run" / "hgm.db")
    conn.executescript(  # what version 1 was
        "DROP TABLE skill_searches; DROP TABLE skill_usage; DROP TABLE skill_links; "
        "DROP TABLE node_skills; DROP TABLE skills; PRAGMA user_version = 1;"
    )
    conn.close()
    with Run.open(tmp_path / "run") as run:
        assert schema.schema_version(run._conn()) == SCHEMA_VERSION
        assert "skills" in run._conn().table_names()
        assert run.artifact(run.evaluations()[0].trajectory) == b"kept"
        assert run.events()[-1]["kind"] == "migrated"
        assert run.events()[-1]["data"] == {"from": 1, "to": SCHEMA_VERSION}


def test_newer_database_is_refused_with_a_clear_message(archive_run: Run, tmp_path: Path):
    archive_run.close()
    conn = sqlite3.connect(tmp_path / "run" / "hgm.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ArchiveError, match="newer|upgrade hgm"):
        Run.open(tmp_path / "run")


# -- crash repair --------------------------------------------------------------------------


def git(run_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", f"--git-dir={run_path / 'agents.git'}", *args], capture_output=True, text=True
    )


def test_open_recreates_the_missing_ref_of_a_recorded_node(archive_run: Run, tmp_path: Path):
    node = child(archive_run, tmp_path, 0)
    archive_run.close()
    git(tmp_path / "run", "update-ref", "-d", "refs/nodes/1")  # killed before update-ref
    with Run.open(tmp_path / "run") as run:
        assert run.events()[-1]["kind"] == "repaired"
        assert run.events()[-1]["data"]["recreated_refs"] == ["refs/nodes/1"]
    assert git(tmp_path / "run", "rev-parse", "refs/nodes/1").stdout.strip() == node.commit
    assert check_run(tmp_path / "run") == []


def test_open_deletes_a_ref_without_a_node(archive_run: Run, tmp_path: Path):
    archive_run.close()
    seed_sha = git(tmp_path / "run", "rev-parse", "refs/nodes/0").stdout.strip()
    git(tmp_path / "run", "update-ref", "refs/nodes/7", seed_sha)
    with Run.open(tmp_path / "run") as run:
        assert run.events()[-1]["data"]["deleted_refs"] == ["refs/nodes/7"]
        assert len(run.nodes()) == 1
    assert git(tmp_path / "run", "rev-parse", "--verify", "refs/nodes/7").returncode != 0
    assert check_run(tmp_path / "run") == []


def test_open_of_a_healthy_run_logs_no_repair(archive_run: Run, tmp_path: Path):
    archive_run.close()
    with Run.open(tmp_path / "run") as run:
        assert [e["kind"] for e in run.events()] == ["created"]


_WRITER = """
import sys
from pathlib import Path
from hgm.archive import Run
from hgm.types import NodeKind, Outcome

run = Run.open(Path(sys.argv[1]))
tree = Path(sys.argv[2])
for i in range(1, 10_000):
    (tree / "agent.py").write_text(f"version {i}\\n")
    node = run.add_node(i - 1 if i % 3 else 0, tree, kind=NodeKind.EDIT, proposal=f"p{i}")
    print("node", node.id, flush=True)
    for task in run.task_order[:2]:
        ev = run.record_evaluation(node.id, task, Outcome.PASS if i % 2 else Outcome.FAIL,
                                   trajectory=f"trajectory {node.id} {task}\\n" * 50,
                                   test_log=f"log {node.id} {task}")
        print("eval", ev.id, node.id, task, flush=True)
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_run_killed_at_a_random_moment_opens_clean_with_every_evaluation_intact(
    tmp_path: Path, archive_seed: Path, seed: int
):
    rng = random.Random(seed)
    Run.create(tmp_path / "run", archive_seed, config={}, task_ids=TASKS).close()
    (tmp_path / "tree").mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path / "run"), str(tmp_path / "tree")],
        stdout=subprocess.PIPE,
        text=True,
    )
    reported = []
    for _ in range(rng.randrange(4, 20)):
        reported.append(proc.stdout.readline().split())
    time.sleep(rng.uniform(0, 0.05))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reported += [line.split() for line in proc.stdout.read().splitlines()]
    with Run.open(tmp_path / "run") as run:
        assert check_run(tmp_path / "run") == []
        evaluations = {ev.id: ev for ev in run.evaluations()}
        for kind, *ids in reported:  # everything reported as done survived the kill
            assert int(ids[0]) in (evaluations if kind == "eval" else {n.id for n in run.nodes()})
        for ev in evaluations.values():
            traj = f"trajectory {ev.node} {ev.task_index}\n" * 50
            assert run.artifact(ev.trajectory) == traj.encode()
            assert run.artifact(ev.test_log) == f"log {ev.node} {ev.task_index}".encode()
        run.tree_stats()  # replays without error


def test_a_commit_prepared_off_the_driver_thread_is_recorded_as_the_child(archive_run: Run, tmp_path: Path):
    tree = write_tree(tmp_path / "prepared", {"agent.py": "print('child')\n"})
    sha = archive_run.prepare_commit(0, tree, "prepared change")
    assert archive_run.nodes()[-1].id == 0  # objects only: no node yet
    node = archive_run.add_node(0, None, commit=sha, kind=NodeKind.EDIT, proposal="prepared change")
    assert node.commit == sha
    assert archive_run.repo.commit_parents([sha])[sha] == [archive_run.node(0).commit]
    assert check_run(archive_run.path) == []
    with pytest.raises(ValueError, match="exactly one"):
        archive_run.add_node(0, tree, commit=sha, kind=NodeKind.EDIT, proposal="both")


@pytest.mark.parametrize("text, says", [("a: [1\n", "not valid YAML"), ("- a\n- b\n", "expected a mapping")])
def test_open_of_a_run_whose_config_is_not_a_mapping_is_one_line(archive_run: Run, text, says):
    path = archive_run.path
    archive_run.close()
    (path / "config.yaml").write_text(text)
    for readonly in (True, False):
        with pytest.raises(ArchiveError) as caught:
            Run.open(path, readonly=readonly)
        assert says in str(caught.value) and len(str(caught.value).splitlines()) == 1


def test_update_config_is_what_the_next_open_reads(archive_run: Run):
    archive_run.update_config({"model": "scripted:demo", "max_evals": 60})
    path = archive_run.path
    archive_run.close()
    with Run.open(path, readonly=True) as again:
        assert again.config == {"model": "scripted:demo", "max_evals": 60}


def test_a_run_is_made_in_a_folder_that_holds_only_its_driver_lock(tmp_path: Path, archive_seed: Path):
    from hgm.archive.lock import LOCK, driver_lock

    (tmp_path / "run").mkdir()
    with driver_lock(tmp_path / "run"):
        Run.create(tmp_path / "run", archive_seed, config={}, task_ids=["t0"]).close()
    assert check_run(tmp_path / "run") == [] and (tmp_path / "run" / LOCK).exists()


def test_a_diagnosis_is_counted_once_inside_its_expansion(archive_run: Run, tmp_path: Path):
    # The gateway's ledger charges a diagnosis call to the expansion it is for (same ref), so
    # the expansion's cost already holds it.
    archive_run.log_llm_call(
        node=0, scope_kind="diagnosis", scope_id="exp-1", model="m", request={"messages": []},
        response={"choices": []}, prompt_tokens=10, completion_tokens=5, cost_usd=0.1, latency_s=0.1,
    )  # fmt: skip
    archive_run.record_failed_expansion(0, problem_statement="p", reason="no change", cost_usd=0.3)
    totals = archive_run.totals()
    assert totals["cost_usd"] == pytest.approx(0.3) and totals["llm_cost_usd"] == pytest.approx(0.1)
