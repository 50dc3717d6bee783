"""End to end, offline: `hgm run --model scripted:demo` grows a valid skill node (the demo
distils one from a passing run), the index records it with provenance and usage, and
`hgm skills list/show/search` show it; `hgm check` is clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HGM = [sys.executable, "-m", "hgm.cli"]
TASKS = "builtin?ids=agenda-timezone-day,bank-frozen-transfer,bank-interest-cents,billing-shared-pricing"


def hgm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*HGM, *args], capture_output=True, text=True, timeout=600)


def test_a_demo_run_grows_a_skill_node_and_the_cli_shows_it(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("skill_expansion_fraction: 1.0\n")
    out = tmp_path / "run"
    done = hgm("run", "-c", str(config), "--model", "scripted:demo", "--benchmark", TASKS,
               "--sandbox", "local", "--workers", "2", "--max-evals", "10", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr

    listed = json.loads(hgm("skills", "list", str(out), "--json").stdout)
    distilled = [s for s in listed if s["origin"].get("how") == "distilled"]
    assert distilled, listed
    skill = distilled[0]
    assert skill["verified"] and skill["name"].startswith("notes-")
    assert skill["source_tasks"] == [skill["origin"]["task"]] and skill["introduced_by"] > 0
    used = sum(s["used"] for s in listed)
    assert used > 0  # the demo's evaluations read and ran skills, recorded from trajectories

    node = skill["introduced_by"]
    mine = json.loads(hgm("skills", "list", str(out), "--node", str(node), "--json").stdout)
    assert skill["name"] in [s["name"] for s in mine] and "run-tests" in [s["name"] for s in mine]

    shown = json.loads(hgm("skills", "show", str(out), skill["name"], "--json").stdout)
    assert shown[0]["lineage"][0] == 0 and shown[0]["lineage"][-1] == node
    assert "files_changed" in shown[0]["files"][skill["name"].replace("-", "_") + ".py"]
    text = hgm("skills", "show", str(out), skill["name"]).stdout
    assert "--- SKILL.md" in text and "distilled" in text

    found = json.loads(hgm("skills", "search", str(out), skill["origin"]["task"], "-k", "3", "--json").stdout)
    assert found["hits"][0]["name"] == skill["name"]

    # Every indexed skill, the seed's starter skills included, has its embedding and model id.
    import sqlite3

    with sqlite3.connect(f"file:{out / 'hgm.db'}?mode=ro", uri=True) as db:
        unembedded = db.execute("SELECT name FROM skills WHERE embedding IS NULL OR embedding_model IS NULL").fetchall()
    assert unembedded == []

    nodes = hgm("tree", str(out), "--json")
    assert '"skill"' in nodes.stdout
    check = hgm("check", str(out))
    assert check.returncode == 0, check.stdout + check.stderr

    missing = hgm("skills", "show", str(out), "no-such-skill")
    assert missing.returncode == 1 and "no skill named 'no-such-skill'" in missing.stderr

    # Skills travel: a new run's seed carries that node's verified skills, provenance kept.
    second = tmp_path / "second"
    done = hgm("run", "--model", "scripted:demo", "--benchmark", "builtin?ids=agenda-timezone-day",
               "--sandbox", "local", "--max-evals", "1", "--skills-from", f"{out}:{node}", "--out", str(second))
    assert done.returncode == 0, done.stdout + done.stderr
    seeded = {s["name"]: s for s in json.loads(hgm("skills", "list", str(second), "--node", "0", "--json").stdout)}
    carried = seeded[skill["name"]]
    assert carried["verified"] and carried["source_tasks"] == skill["source_tasks"]
    assert carried["origin"]["how"] == "imported" and carried["origin"]["node"] == node
    assert carried["origin"]["run"] == str(out.resolve()) and carried["origin"]["origin"]["how"] == "distilled"
    assert hgm("check", str(second)).returncode == 0
    refused = hgm("run", "--model", "scripted:demo", "--benchmark", "builtin", "--sandbox", "local",
                  "--skills-from", f"{out}:999", "--out", str(tmp_path / "third"))
    assert refused.returncode == 2 and "node 999 does not exist" in refused.stderr
    assert not (tmp_path / "third").exists()
