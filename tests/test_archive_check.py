"""check_run: every kind of damage is reported as a concrete Problem, never a traceback."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from hgm.archive import SCHEMA_VERSION, Problem, Run, check_run
from hgm.types import NodeKind, Outcome


@pytest.fixture
def archive_path(tmp_path: Path) -> Path:
    """A closed run with a small tree and two evaluations with artifacts."""
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "agent.py").write_text("print('seed')\n")
    with Run.create(tmp_path / "run", seed, config={"x": 1}, task_ids=["a", "b"]) as run:
        for i in (1, 2):
            tree = tmp_path / f"tree{i}"
            tree.mkdir()
            (tree / "agent.py").write_text(f"print({i})\n")
            run.add_node(i - 1, tree, kind=NodeKind.EDIT, proposal=f"edit {i}")
        run.record_evaluation(1, 0, Outcome.PASS, trajectory="traj one", test_log="log one")
        run.record_evaluation(2, 0, Outcome.FAIL, trajectory="traj two")
    return tmp_path / "run"


def git(run_path: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", f"--git-dir={run_path / 'agents.git'}", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def messages(problems: list[Problem]) -> str:
    return "\n".join(p.message for p in problems)


def test_clean_run_has_no_problems(archive_path: Path):
    assert check_run(archive_path) == []


def test_deleted_node_ref_is_reported_for_that_node(archive_path: Path):
    git(archive_path, "update-ref", "-d", "refs/nodes/2")
    problems = check_run(archive_path)
    assert Problem("node 2", "node 2: ref refs/nodes/2 is missing") in problems


def test_stray_ref_is_reported(archive_path: Path):
    git(archive_path, "update-ref", "refs/nodes/9", git(archive_path, "rev-parse", "refs/nodes/0"))
    problems = check_run(archive_path)
    assert any(p.what == "refs/nodes/9" and "has no node" in p.message for p in problems)


def test_ref_pointing_at_another_commit_is_reported(archive_path: Path):
    git(archive_path, "update-ref", "refs/nodes/1", git(archive_path, "rev-parse", "refs/nodes/2"))
    problems = check_run(archive_path)
    assert [p.what for p in problems] == ["node 1"]
    assert "refs/nodes/1 points at" in problems[0].message


def test_truncated_database_is_reported_naming_hgm_db(archive_path: Path):
    db = archive_path / "hgm.db"
    size = db.stat().st_size
    with open(db, "r+b") as f:
        f.truncate(size // 2)
    problems = check_run(archive_path)
    assert problems, "a truncated hgm.db must be reported"
    assert all(p.what == "hgm.db" for p in problems)
    assert "hgm.db" in problems[0].message


def test_garbage_database_file_is_reported_with_the_sqlite_error(archive_path: Path):
    (archive_path / "hgm.db").write_bytes(b"this is not sqlite" * 100)
    (problem,) = check_run(archive_path)
    assert problem.what == "hgm.db"
    assert "not a database" in problem.message


def test_newer_schema_is_reported(archive_path: Path):
    conn = sqlite3.connect(archive_path / "hgm.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    (problem,) = check_run(archive_path)
    assert problem.what == "hgm.db" and "newer" in problem.message


def test_missing_and_corrupt_artifacts_are_reported(archive_path: Path):
    with Run.open(archive_path, readonly=True) as run:
        one, two = run.evaluations()
    run.store.path(one.test_log).unlink()
    run.store.path(two.trajectory).write_bytes(b"tampered")
    text = messages(check_run(archive_path))
    assert f"evaluation {one.id}: test_log artifact {one.test_log} is missing" in text
    assert f"evaluation {two.id}: trajectory artifact {two.trajectory} is corrupt" in text


def test_evaluation_of_a_missing_node_is_reported(archive_path: Path):
    conn = sqlite3.connect(archive_path / "hgm.db")  # foreign keys are off in a bare client
    conn.execute("UPDATE evaluations SET node = 42 WHERE id = 1")
    conn.commit()
    conn.close()
    assert Problem("evaluation 1", "evaluation 1: node 42 does not exist") in check_run(
        archive_path
    )


def test_commit_whose_git_parent_is_not_the_parent_node_is_reported(archive_path: Path):
    conn = sqlite3.connect(archive_path / "hgm.db")
    conn.execute("UPDATE nodes SET parent = 0 WHERE id = 2")
    conn.commit()
    conn.close()
    problems = check_run(archive_path)
    assert [p.what for p in problems] == ["node 2"]
    assert "git parents" in problems[0].message


def test_missing_commit_object_is_reported_by_fsck_and_by_node(archive_path: Path):
    sha = git(archive_path, "rev-parse", "refs/nodes/2")
    (archive_path / "agents.git" / "objects" / sha[:2] / sha[2:]).unlink()
    problems = check_run(archive_path)
    assert any(p.what == "agents.git" and "fsck" in p.message for p in problems)
    assert any(p.what == "node 2" and "is missing from agents.git" in p.message for p in problems)


def test_a_folder_that_is_not_a_run_is_one_problem(tmp_path: Path):
    (problem,) = check_run(tmp_path)
    assert "not an hgm run" in problem.message


def test_check_does_not_repair(archive_path: Path):
    git(archive_path, "update-ref", "-d", "refs/nodes/1")
    check_run(archive_path)
    assert check_run(archive_path) != []


def test_judged_evaluations_of_a_node_without_the_entry_point_are_reported(tmp_path: Path):
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "run_agent.py").write_text("print('agent')\n")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "README.md").write_text("no agent here\n")
    with Run.create(tmp_path / "run", seed, config={}, task_ids=["a", "b"]) as run:
        run.add_node(0, broken, kind=NodeKind.EDIT, proposal="lost its entry point")
        run.record_evaluation(0, 0, Outcome.PASS)
        run.record_evaluation(1, 0, Outcome.FAIL)
        run.record_evaluation(1, 1, Outcome.ERROR)  # an error judged nothing: not counted
    problems = check_run(tmp_path / "run")
    assert [p.what for p in problems] == ["node 1"]
    assert "1 evaluations were judged" in problems[0].message and "run_agent.py" in problems[0].message


def test_a_run_whose_seed_has_no_entry_point_is_not_held_to_one(archive_path: Path):
    # Simulated runs (hgm simulate --out) commit trees without an agent.
    assert check_run(archive_path) == []
