"""The skills tab: the run's skill index with provenance, usage and lift, and each skill's
SKILL.md and code from the introducing node's commit (through :mod:`hgm.skills.library`,
what ``hgm skills list/show`` print).

A run made before the index's schema (version 3), opened read-only and so not upgraded, has
only the ``skills`` table: its rows are listed without usage or lift.
"""

from __future__ import annotations

from hgm.archive import ArchiveError, Run
from hgm.views import ViewError


def _indexed(run: Run) -> bool:
    return bool(run.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'node_skills'"))


def skills(run: Run) -> dict:
    """Every skill content in the run's index, with its provenance, usage and lift."""
    from hgm.skills.library import list_skills

    if not _indexed(run):
        rows = run.query("SELECT id, name, description, content_hash, node FROM skills ORDER BY name, id")
        return {"skills": [r | {"introduced_by": r.pop("node"), "origin": {}, "verified": False, "nodes": None,
                                "read": 0, "ran": 0, "used": 0, "lift": None} for r in rows]}
    with run.reading() as db:
        found = list_skills(db)
    return {"skills": [s.as_dict() for s in found]}


def skill(run: Run, skill_id: int) -> dict:
    """One skill content: its summary, files (SKILL.md, module, tests), the introducer's
    lineage, the nodes that carry it and its near-duplicates."""
    from hgm.skills.library import LibraryError, show_skill, skill_files

    rows = run.query("SELECT name, node FROM skills WHERE id = ?", (int(skill_id),))
    if not rows:
        raise ViewError(f"run {run.path} has no skill {skill_id}")
    name, node = rows[0]["name"], rows[0]["node"]
    try:
        if not _indexed(run):
            summary = next(s for s in skills(run)["skills"] if s["id"] == int(skill_id))
            return {"summary": summary, "files": skill_files(run.repo, run.node(node).commit, name),
                    "lineage": [node], "carried_by": [node], "near_duplicates": [], "versions": [skill_id]}
        with run.reading() as db:
            versions = show_skill(db, run.repo, name)
    except LibraryError as e:
        raise ViewError(str(e)) from None
    except ArchiveError:
        raise ViewError(f"the files of skill {name!r} cannot be read from node {node}'s commit") from None
    version = next(v for v in versions if v.summary.id == int(skill_id))
    return {
        "summary": version.summary.as_dict(),
        "files": version.files,
        "lineage": version.lineage,
        "carried_by": version.carried_by,
        "near_duplicates": version.near_duplicates,
        "versions": [v.summary.id for v in versions],
    }
