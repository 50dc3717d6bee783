"""A run loads its embedding model once: the Worker's skill dedup and index use the embedder the
gateway serves, not a second copy of the model (which, for the real default model, doubled its
memory and load time)."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from hgm.runner import start_run
from hgm.session import plan_run
from hgm.skills.embed import ScriptedEmbedder

pytestmark = pytest.mark.slow

TASKS = "builtin?ids=agenda-timezone-day,bank-frozen-transfer"


def test_a_demo_run_with_skill_expansions_makes_one_embedder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    plan = plan_run(overrides={"model": "scripted:demo", "benchmark": TASKS, "sandbox": "local",
                               "max_evals": 6, "skill_expansion_fraction": 1.0}, out=out, cwd=tmp_path)
    before = ScriptedEmbedder.made
    outcome = start_run(plan, console=Console(file=io.StringIO()))
    assert outcome.stop_reason and ScriptedEmbedder.made - before == 1

    with sqlite3.connect(f"file:{out / 'hgm.db'}?mode=ro", uri=True) as db:
        distilled = db.execute("SELECT name, embedding_model FROM skills "
                               "WHERE json_extract(origin, '$.how') = 'distilled'").fetchall()
        unembedded = db.execute("SELECT name FROM skills WHERE embedding IS NULL").fetchall()
    # A skill expansion ran (its dedup and index entries used the embedder) and every indexed
    # skill was embedded by that one model.
    assert distilled and all(model == "scripted" for _, model in distilled), distilled
    assert unembedded == []
