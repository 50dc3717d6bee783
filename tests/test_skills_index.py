"""The run's skill index (hgm.skills.index, hgm.skills.library): recorded with nodes and
evaluations, read back with provenance, usage and lift, and verified by hgm check."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from hgm.archive import SCHEMA_VERSION, Run, check_run
from hgm.archive import db as schema
from hgm.skills.index import Lift, Rate, entries_from_tree
from hgm.skills.library import LibraryError, list_skills, search_skills, show_skill
from hgm.types import NodeKind, NodeStatus, Outcome
from tests.skill_fixtures import write_skill


def _seed(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "run_agent.py").write_text("print('agent')\n")
    write_skill(root / "skills", "adder")
    return root


def _trajectory(*calls: tuple[str, dict, str]) -> bytes:
    return json.dumps({"tool_calls": [
        {"name": n, "arguments": json.dumps(a), "ok": True, "output": o} for n, a, o in calls
    ]}).encode()


@pytest.fixture
def skill_run(tmp_path: Path) -> Run:
    seed = _seed(tmp_path / "seed")
    run = Run.create(tmp_path / "run", seed, config={}, task_ids=["t0", "t1", "t2"], durable=False)
    yield run
    run.close()


def test_seed_skills_are_indexed_and_inherited(skill_run: Run, tmp_path: Path):
    [adder] = list_skills(skill_run._conn(), 0)
    assert (adder.name, adder.introduced_by, adder.origin["how"], adder.nodes) == ("adder", 0, "seed", 1)
    child_tree = tmp_path / "child"
    skill_run.checkout(0, child_tree)
    child = skill_run.add_node(0, child_tree, kind=NodeKind.EDIT, proposal="same",
                               skills=entries_from_tree(child_tree))
    [inherited] = list_skills(skill_run._conn(), child.id)
    assert inherited.id == adder.id and inherited.nodes == 2
    assert skill_run.query("SELECT inherited FROM node_skills WHERE node = ?", (child.id,)) == [{"inherited": 1}]
    assert check_run(skill_run.path) == []


def test_a_changed_skill_is_a_new_version_with_its_origin(skill_run: Run, tmp_path: Path):
    tree = skill_run.checkout(0, tmp_path / "child")
    (tree / "skills" / "adder" / "SKILL.md").write_text(
        (tree / "skills" / "adder" / "SKILL.md").read_text() + "\nMore examples.\n")
    entries = entries_from_tree(tree, origins={"adder": {"how": "distilled"}},
                                verified=["adder"], source_tasks={"adder": ["t1"]})
    child = skill_run.add_node(0, tree, kind=NodeKind.SKILL, proposal="improve adder", skills=entries)
    versions = show_skill(skill_run._conn(), skill_run.repo, "adder")
    assert [v.summary.introduced_by for v in versions] == [0, child.id]
    new = versions[1]
    assert new.summary.version_of == versions[0].summary.id
    assert new.summary.origin == {"how": "distilled"} and new.summary.source_tasks == ["t1"]
    assert new.summary.verified and "More examples." in new.files["SKILL.md"]
    assert "tests/test_adder.py" in new.files and new.lineage == [0, child.id]
    assert check_run(skill_run.path) == []


def test_usage_and_lift_count_only_held_out_tasks(skill_run: Run, tmp_path: Path):
    tree = skill_run.checkout(0, tmp_path / "child")
    (tree / "skills" / "adder" / "SKILL.md").write_text(
        (tree / "skills" / "adder" / "SKILL.md").read_text() + "\nv2\n")
    child = skill_run.add_node(0, tree, kind=NodeKind.SKILL, proposal="v2",
                               skills=entries_from_tree(tree, source_tasks={"adder": ["t0"]}))
    used = _trajectory(("search_skills", {"query": "add numbers"}, "adder"),
                       ("read_skill", {"name": "adder"}, "---"),
                       ("run_skill", {"name": "adder", "entry": "add"}, "3"))
    skill_run.record_evaluation(child.id, 0, Outcome.PASS, trajectory=used)  # its source task
    skill_run.record_evaluation(child.id, 1, Outcome.PASS, trajectory=used)
    skill_run.record_evaluation(child.id, 2, Outcome.FAIL, trajectory=_trajectory())
    skill_run.record_evaluation(child.id, 1, Outcome.PASS, trajectory=_trajectory(
        ("read_skill", {"name": "nosuch"}, "---")))
    [summary] = list_skills(skill_run._conn(), child.id)
    assert (summary.read, summary.ran, summary.used) == (2, 2, 2)
    assert summary.lift["used"] == [1, 1] and summary.lift["unused"] == [1, 2]
    assert summary.lift["lift"] == pytest.approx(0.5)
    lo, hi = summary.lift["interval"]
    assert -1 <= lo < 0.5 < hi <= 1
    searched = skill_run.query("SELECT query FROM skill_searches")
    assert searched == [{"query": "add numbers"}, {"query": "add numbers"}]


def test_rates_and_lift_intervals():
    assert Rate(0, 0).interval() is None and Lift(Rate(1, 1), Rate(0, 0)).value is None
    lo, hi = Rate(5, 10).interval()
    assert lo == pytest.approx(0.2366, abs=1e-3) and hi == pytest.approx(0.7634, abs=1e-3)
    lift = Lift(Rate(9, 10), Rate(1, 10))
    lo, hi = lift.interval()
    assert lift.value == pytest.approx(0.8) and 0 < lo < 0.8 < hi < 1


def test_search_and_unknown_names(skill_run: Run):
    mode, hits = search_skills(skill_run._conn(), "add two numbers")
    assert mode == "lexical" and [h.name for h in hits] == ["adder"] and hits[0].score > 0
    with pytest.raises(LibraryError, match="no skill named 'nosuch'"):
        show_skill(skill_run._conn(), skill_run.repo, "nosuch")
    with pytest.raises(LibraryError, match="node 9 does not exist"):
        list_skills(skill_run._conn(), 9)


def test_check_finds_an_index_that_disagrees_with_the_tree(skill_run: Run):
    skill_run._conn().execute("UPDATE skills SET content_hash = 'ab' || substr(content_hash, 3)")
    skill_run._conn().execute("INSERT INTO skills (node, name, content_hash, created_at) "
                              "VALUES (0, 'ghost', 'x', 0)")
    skill_run._conn().conn.commit()
    messages = [p.message for p in check_run(skill_run.path)]
    assert any("skills/adder in node 0's tree hashes to" in m for m in messages)
    assert any("skills/ghost is not in node 0's tree" in m for m in messages)


def test_a_version_2_run_is_upgraded(tmp_path: Path):
    seed = _seed(tmp_path / "seed")
    shutil.rmtree(seed / "skills")
    path = tmp_path / "run"
    Run.create(path, seed, config={}, task_ids=["t0"], durable=False).close()
    conn = sqlite3.connect(path / "hgm.db")  # back to what version 2 was
    conn.executescript(
        "DROP TABLE skill_searches; DROP TABLE skill_usage; DROP TABLE skill_links; "
        "DROP TABLE node_skills; DROP INDEX idx_skills_name; ALTER TABLE skills DROP COLUMN search_text; "
        "ALTER TABLE skills DROP COLUMN origin; ALTER TABLE skills DROP COLUMN source_tasks; "
        "ALTER TABLE skills DROP COLUMN verified; ALTER TABLE skills DROP COLUMN version_of; "
        "PRAGMA user_version = 2;")
    conn.close()
    with Run.open(path) as run:
        assert schema.schema_version(run._conn()) == SCHEMA_VERSION == 3
        assert run.events()[-1]["data"] == {"from": 2, "to": 3}
        node = run.add_node(0, _seed(tmp_path / "s2"), kind=NodeKind.EDIT, proposal="skills",
                            status=NodeStatus.VALID, skills=entries_from_tree(tmp_path / "s2"))
        assert [s.introduced_by for s in list_skills(run._conn(), node.id)] == [node.id]
    assert check_run(path) == []


def test_embedded_near_duplicates_are_linked(skill_run: Run, tmp_path: Path):
    from hgm.skills.embed import ScriptedEmbedder

    tree = skill_run.checkout(0, tmp_path / "child")
    write_skill(tree / "skills", "adder-again", test="import unittest\n")
    embedder = ScriptedEmbedder()
    child = skill_run.add_node(0, tree, kind=NodeKind.SKILL, proposal="again",
                               skills=entries_from_tree(tree, embedder=embedder))
    [again] = show_skill(skill_run._conn(), skill_run.repo, "adder-again")
    assert [d["name"] for d in again.near_duplicates] == [] and again.carried_by == [child.id]
    # The seed's adder had no vector; embedded now (a re-indexed content), they are linked.
    tree2 = skill_run.checkout(child.id, tmp_path / "grandchild")
    (tree2 / "skills" / "adder" / "SKILL.md").write_text(
        (tree2 / "skills" / "adder" / "SKILL.md").read_text() + "\nv2\n")
    skill_run.add_node(child.id, tree2, kind=NodeKind.EDIT, proposal="v2",
                       skills=entries_from_tree(tree2, embedder=embedder))
    [_, adder2] = show_skill(skill_run._conn(), skill_run.repo, "adder")
    [link] = adder2.near_duplicates
    assert link["name"] == "adder-again" and link["cosine"] >= 0.9
    mode, hits = search_skills(skill_run._conn(), "add two numbers", node=child.id + 1, embedder=embedder)
    assert mode == "embedding" and hits[0].name.startswith("adder")


def test_the_cli_says_what_is_wrong_in_one_line(skill_run: Run, tmp_path: Path):
    from typer.testing import CliRunner

    from hgm.cli import app

    path = str(skill_run.path)
    skill_run.close()
    cli = CliRunner()
    listed = cli.invoke(app, ["skills", "list", path, "--json"])
    assert listed.exit_code == 0 and [s["name"] for s in json.loads(listed.stdout)] == ["adder"]
    for args, message in [
        (["skills", "list", path, "--node", "7"], "node 7 does not exist in this run"),
        (["skills", "show", path, "nosuch"], "no skill named 'nosuch'"),
        (["skills", "list", str(tmp_path / "nothing")], "is not an hgm run"),
    ]:
        result = cli.invoke(app, args)
        assert result.exit_code == 1 and message in result.output, result.output
    conn = sqlite3.connect(Path(path) / "hgm.db")  # as an older hgm left it (views never migrate)
    conn.executescript("DROP TABLE skill_searches; DROP TABLE skill_usage; DROP TABLE skill_links; "
                       "DROP TABLE node_skills; PRAGMA user_version = 2;")
    conn.close()
    old = cli.invoke(app, ["skills", "list", path])
    assert old.exit_code == 1 and "has no skill index" in old.output and len(old.output.strip().splitlines()) == 1


def test_the_seeds_skills_get_their_embeddings_when_the_model_is_loaded(skill_run: Run, tmp_path: Path):
    from hgm.skills.embed import ScriptedEmbedder

    def missing() -> list[dict]:
        return skill_run.query("SELECT name FROM skills WHERE embedding IS NULL OR embedding_model IS NULL")

    assert [r["name"] for r in missing()] == ["adder"]  # indexed before any model was loaded
    tree = skill_run.checkout(0, tmp_path / "child")
    write_skill(tree / "skills", "adder-again", test="import unittest\n")
    skill_run.add_node(0, tree, kind=NodeKind.EDIT, proposal="again", skills=entries_from_tree(tree))
    embedder = ScriptedEmbedder()
    assert skill_run.fill_skill_embeddings(embedder) == 2 and missing() == []
    rows = skill_run.query("SELECT name, embedding_model FROM skills ORDER BY id")
    assert {r["embedding_model"] for r in rows} == {embedder.model_id}
    [adder] = show_skill(skill_run._conn(), skill_run.repo, "adder-again")
    assert [d["name"] for d in adder.near_duplicates] == ["adder"]  # linked once embedded
    assert skill_run.fill_skill_embeddings(embedder) == 0
    assert check_run(skill_run.path) == []
