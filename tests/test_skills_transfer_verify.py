"""`hgm run --skills-from` does not trust the other run's ``verified`` flag: a run folder may
come from anywhere and its hgm.db can be edited, so every imported skill is verified again in
the new run's sandbox, and one whose tests fail is refused before the new run is made."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import hgm
from hgm.archive import Run
from hgm.config import RunConfig
from hgm.runner import open_or_create
from hgm.sandbox import get_sandbox
from hgm.skills.index import entries_from_tree
from hgm.types import Task
from tests.skill_fixtures import write_skill

SEED = Path(hgm.__file__).resolve().parent / "seed_agent"
FAILING_TEST = '''\
import unittest

import halver


class HalverTest(unittest.TestCase):
    def test_halves(self):
        self.assertEqual(halver.add(4, 2), {"sum": 2})
'''


def _source_run(tmp_path: Path) -> Path:
    """A run whose node 0 carries ``adder`` (verified: its tests pass) and ``halver`` (not
    verified: its test fails), as a run made with an imported skill would."""
    tree = tmp_path / "seed"
    shutil.copytree(SEED, tree, ignore=shutil.ignore_patterns("skills"))
    write_skill(tree / "skills", "adder")
    write_skill(tree / "skills", "halver", test=FAILING_TEST)
    skills = entries_from_tree(tree, verified=["adder"])
    assert sorted(s.name for s in skills) == ["adder", "halver"]
    Run.create(tmp_path / "src", tree, config={}, task_ids=["t1"], skills=skills).close()
    return tmp_path / "src"


def _node0_skills(run_path: Path) -> dict[str, dict]:
    with sqlite3.connect(f"file:{run_path / 'hgm.db'}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT s.name, s.verified, s.origin FROM node_skills ns "
                          "JOIN skills s ON s.id = ns.skill WHERE ns.node = 0").fetchall()
    return {r["name"]: {"verified": r["verified"], "origin": json.loads(r["origin"] or "{}")} for r in rows}


def test_an_untampered_import_is_verified_again_and_carried(tmp_path: Path) -> None:
    src = _source_run(tmp_path)
    task = Task("t1", "do it", tmp_path / "ws", tmp_path / "tests", "true")
    config = RunConfig(seed_agent=SEED, sandbox="local", skills_from=[f"{src}:0"])
    sandbox = get_sandbox("local")
    try:
        open_or_create(config, tmp_path / "new", resume=False, tasks=[task], sandbox=sandbox).close()
    finally:
        sandbox.close()
    carried = _node0_skills(tmp_path / "new")
    assert carried["adder"]["verified"] == 1 and carried["adder"]["origin"]["how"] == "imported"
    assert "halver" not in carried  # not verified in the source run: not imported


def test_a_skill_whose_verified_flag_was_edited_in_is_refused(tmp_path: Path) -> None:
    src = _source_run(tmp_path)
    with sqlite3.connect(src / "hgm.db") as db:  # the edit the flag is exposed to
        assert db.execute("UPDATE skills SET verified = 1 WHERE name = 'halver'").rowcount == 1
    out = tmp_path / "new"
    done = subprocess.run(
        [sys.executable, "-m", "hgm.cli", "run", "--model", "scripted:demo", "--benchmark",
         "builtin?ids=agenda-timezone-day", "--sandbox", "local", "--max-evals", "1",
         "--skills-from", f"{src}:0", "--out", str(out)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    error = [line for line in done.stderr.splitlines() if "halver" in line]
    assert len(error) == 1, done.stderr
    assert f"--skills-from {src}:0" in error[0] and "fails verification" in error[0]
    assert "tests failed" in error[0] and "test_halves" in error[0]
    assert not out.exists()
