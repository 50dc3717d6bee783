"""Reading the run's skill index: a node's library, one skill's story, search, and its check.

What ``hgm skills list/show/search`` print and ``hgm check`` verifies; the index itself is
written by :mod:`hgm.skills.index`.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import sqlite_utils

from hgm.archive.git import AgentsRepo, ArchiveError
from hgm.skills.format import content_hash
from hgm.skills.index import skill_lift


class LibraryError(ValueError):
    """What was asked of the index does not exist; the message says so on one line."""


@dataclass(frozen=True)
class SkillSummary:
    """One skill content in the index, with its provenance, usage and lift."""

    id: int
    name: str
    description: str
    content_hash: str
    introduced_by: int
    origin: dict
    source_tasks: list[str]
    verified: bool
    version_of: int | None
    nodes: int
    """How many nodes carry it."""
    read: int
    ran: int
    used: int
    """Evaluations that read or ran it."""
    lift: dict

    def as_dict(self) -> dict:
        return asdict(self)


_SUMMARY_SQL = """
SELECT s.id, s.name, s.description, s.content_hash, s.node, s.origin, s.source_tasks, s.verified,
       s.version_of,
       (SELECT COUNT(*) FROM node_skills ns WHERE ns.skill = s.id),
       (SELECT COALESCE(SUM(u.read), 0) FROM skill_usage u WHERE u.skill = s.id),
       (SELECT COALESCE(SUM(u.ran), 0) FROM skill_usage u WHERE u.skill = s.id),
       (SELECT COUNT(*) FROM skill_usage u WHERE u.skill = s.id)
FROM skills s {where} ORDER BY s.name, s.id
"""


def list_skills(db: sqlite_utils.Database, node: int | None = None) -> list[SkillSummary]:
    """Every skill content of the run, or the skills node ``node`` carries."""
    if node is None:
        rows = db.conn.execute(_SUMMARY_SQL.format(where="")).fetchall()
    else:
        if db.conn.execute("SELECT 1 FROM nodes WHERE id = ?", (node,)).fetchone() is None:
            raise LibraryError(f"node {node} does not exist in this run")
        where = "WHERE s.id IN (SELECT skill FROM node_skills WHERE node = ?)"
        rows = db.conn.execute(_SUMMARY_SQL.format(where=where), (node,)).fetchall()
    return [
        SkillSummary(
            id=r[0], name=r[1], description=r[2], content_hash=r[3], introduced_by=r[4],
            origin=json.loads(r[5] or "{}"), source_tasks=json.loads(r[6] or "[]"),
            verified=bool(r[7]), version_of=r[8], nodes=r[9], read=r[10], ran=r[11], used=r[12],
            lift=skill_lift(db, r[0]).as_dict(),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class SkillVersion:
    """One content of a named skill: its summary, files, lineage and near-duplicates."""

    summary: SkillSummary
    files: dict[str, str]
    lineage: list[int]
    """The introducing node's ancestors, root first, ending with the introducer."""
    carried_by: list[int]
    near_duplicates: list[dict]


def show_skill(db: sqlite_utils.Database, repo: AgentsRepo, name: str) -> list[SkillVersion]:
    """Every version of the skill ``name``, oldest first."""
    summaries = [s for s in list_skills(db) if s.name == name]
    if not summaries:
        raise LibraryError(f"no skill named {name!r} in this run (see `hgm skills list`)")
    versions = []
    for s in summaries:
        sha = _commit(db, s.introduced_by)
        carried = [r[0] for r in db.conn.execute(
            "SELECT node FROM node_skills WHERE skill = ? ORDER BY node", (s.id,))]
        near = [{"name": n, "id": other, "cosine": score} for other, n, score in db.conn.execute(
            "SELECT l.other, o.name, l.score FROM skill_links l JOIN skills o ON o.id = l.other "
            "WHERE l.skill = ? UNION SELECT l.skill, o.name, l.score FROM skill_links l "
            "JOIN skills o ON o.id = l.skill WHERE l.other = ?", (s.id, s.id))]
        versions.append(SkillVersion(s, skill_files(repo, sha, name), _lineage(db, s.introduced_by),
                                     carried, near))
    return versions


def skill_files(repo: AgentsRepo, sha: str, name: str) -> dict[str, str]:
    """The text of every file of ``skills/<name>/`` in commit ``sha`` (path relative to it)."""
    files = {}
    with tarfile.open(fileobj=io.BytesIO(_archive(repo, sha, name))) as tar:
        for member in tar.getmembers():
            if member.isfile():
                rel = member.name.removeprefix(f"skills/{name}/")
                files[rel] = tar.extractfile(member).read().decode(errors="replace")
    return dict(sorted(files.items()))


def _archive(repo: AgentsRepo, sha: str, name: str) -> bytes:
    return repo.git("archive", "--format=tar", sha, f"skills/{name}").stdout


def _commit(db: sqlite_utils.Database, node: int) -> str:
    return db.conn.execute("SELECT commit_sha FROM nodes WHERE id = ?", (node,)).fetchone()[0]


def _lineage(db: sqlite_utils.Database, node: int) -> list[int]:
    rows = db.conn.execute(
        "WITH RECURSIVE up(id, parent) AS (SELECT id, parent FROM nodes WHERE id = ? "
        "UNION ALL SELECT n.id, n.parent FROM nodes n JOIN up ON n.id = up.parent) SELECT id FROM up",
        (node,),
    ).fetchall()
    return [r[0] for r in reversed(rows)]


# -- search ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchHit:
    id: int
    name: str
    description: str
    score: float


def search_skills(db: sqlite_utils.Database, query: str, *, node: int | None = None, k: int = 10,
                  embedder: object | None = None) -> tuple[str, list[SearchHit]]:
    """The ``k`` skills (of ``node``, or of the whole run) that best match ``query``, and the
    mode used, by :class:`hgm.skills.retrieval.SkillCatalog`: ``embedding`` (cosine; the
    index's vectors of ``embedder``'s model, the others embedded now) or ``lexical`` (BM25)."""
    summaries = {s.id: s for s in list_skills(db, node)}
    if not summaries:
        return "lexical", []
    catalog = catalog_of(skill_rows(db, list(summaries)), embedder)
    hits = catalog.search(query, k)
    return catalog.mode, [SearchHit(h.key, h.name, h.description, round(h.score, 4)) for h in hits]


CATALOG_SQL = ("SELECT id, name, description, search_text, embedding, embedding_model FROM skills "
               "WHERE id IN ({}) ORDER BY id")


def skill_rows(db: sqlite_utils.Database, ids: list[int]) -> list[dict]:
    return list(db.query(CATALOG_SQL.format(",".join("?" * len(ids))), tuple(ids)))


def catalog_of(rows: list[dict], embedder: object | None = None):
    """A :class:`hgm.skills.retrieval.SkillCatalog` over skill rows (:data:`CATALOG_SQL`'s
    columns; keys: the row ids); vectors of another model than ``embedder``'s are not used."""
    from hgm.skills.retrieval import SkillCatalog

    model = getattr(embedder, "model_id", None)
    return SkillCatalog([
        (r["id"], r["name"], r["description"], r["search_text"] or r["name"],
         np.frombuffer(r["embedding"], np.float32)
         if r["embedding"] is not None and r["embedding_model"] == model else None)
        for r in rows
    ], embedder)


# -- hgm check ------------------------------------------------------------------------------------
def check_index(db: sqlite_utils.Database, repo: AgentsRepo) -> list[tuple[str, str]]:
    """(what, problem) for each indexed skill missing from its node's tree or whose files there
    hash differently, and each node said to carry a skill whose folder it lacks."""
    problems = []
    for skill, node, name, digest, sha in db.conn.execute(
        "SELECT s.id, s.node, s.name, s.content_hash, n.commit_sha FROM skills s "
        "JOIN nodes n ON n.id = s.node ORDER BY s.id"
    ).fetchall():
        what = f"skill {skill}"
        try:
            data = _archive(repo, sha, name)
        except ArchiveError:
            problems.append((what, f"{what}: skills/{name} is not in node {node}'s tree"))
            continue
        with tempfile.TemporaryDirectory(prefix="hgm-check-skill-") as tmp:
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                tar.extractall(tmp, filter="data")
            found = content_hash(Path(tmp) / "skills" / name)
        if found != digest:
            problems.append((what, f"{what}: skills/{name} in node {node}'s tree hashes to "
                                   f"{found[:12]}, the index says {digest[:12]}"))
    carried = db.conn.execute(
        "SELECT ns.node, ns.name, n.commit_sha FROM node_skills ns JOIN nodes n ON n.id = ns.node"
    ).fetchall()
    if carried:
        text = "".join(f"{sha}:skills/{name}/SKILL.md\n" for _, name, sha in carried).encode()
        out = repo.git("cat-file", "--batch-check=%(objecttype)", input=text).stdout.decode()
        for (node, name, _), line in zip(carried, out.splitlines(), strict=True):
            if line.strip() != "blob":
                problems.append((f"node {node}", f"node {node}: the index says it carries skill "
                                                  f"{name}, but its tree has no skills/{name}/SKILL.md"))
    return problems
