"""The run's skill index in hgm.db: which skills every node carries, where each came from, how
evaluations used it, and whether using it helped (docs/skills.md, "The index").

One ``skills`` row per skill content (its :func:`hgm.skills.format.content_hash`), made by the
first node whose tree has it (``node``, the introducer), with its name, description, search
text, embedding (and the embedding's model id), origin (how it came: ``seed``, ``edit``,
``distilled``, ``adopted``, ``imported`` from another run) and the tasks it was distilled from.
``node_skills`` lists every (node, skill) pair, so a node's library is one indexed lookup and
inheritance needs no walk up the tree; ``inherited`` says the parent had the same content.
A skill whose parent carried an earlier content under the same name is a new version of it
(``version_of``). ``skill_usage`` holds, per evaluation, the skills it read or ran (from
:func:`hgm.skills.usage.skill_usage`), ``skill_searches`` its queries.

Writers here run inside the caller's transaction (:class:`hgm.archive.Run` is the only writer:
a node's skills are recorded with the node, usage with the evaluation). Readers take a
``sqlite_utils.Database``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import sqlite_utils

from hgm.skills.format import find_skills, search_text
from hgm.skills.usage import SkillUsage

NEAR_DUPLICATE_COSINE = 0.9
"""Default cosine at or above which two skills' embeddings count as near-duplicates."""
Z95 = 1.959964


@dataclass(frozen=True)
class SkillEntry:
    """One skill of a tree, as the index records it when a node is committed."""

    name: str
    description: str
    content_hash: str
    search_text: str
    embedding: bytes | None = None
    embedding_model: str | None = None
    origin: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    """How the skill came into the tree when it is new there (``how`` and details)."""
    source_tasks: tuple[str, ...] = ()
    """The task ids it was distilled from: never counted for its lift."""
    verified: bool = False
    """Its tests passed in the sandbox (verify_skill) when it was made or imported."""


def entries_from_tree(
    tree: Path,
    *,
    embedder: object | None = None,
    origins: Mapping[str, Mapping[str, object]] | None = None,
    verified: Sequence[str] | bool = (),
    source_tasks: Mapping[str, Sequence[str]] | None = None,
) -> list[SkillEntry]:
    """The statically valid skills under ``tree/skills/`` as index entries.

    ``origins``, ``verified`` (names, or True for all) and ``source_tasks`` describe skills
    that are new in this tree; ``embedder`` (hgm.skills.embed.Embedder) embeds their search
    text."""
    skills, _ = find_skills(Path(tree))
    texts = [search_text(s) for s in skills]
    vectors = embedder.embed(texts) if embedder is not None and texts else None
    origins, source_tasks = origins or {}, source_tasks or {}
    return [
        SkillEntry(
            name=s.name,
            description=s.description,
            content_hash=s.content_hash,
            search_text=text,
            embedding=None if vectors is None else np.asarray(vectors[i], np.float32).tobytes(),
            embedding_model=None if vectors is None else embedder.model_id,
            origin=MappingProxyType(dict(origins.get(s.name, {}))),
            source_tasks=tuple(source_tasks.get(s.name, ())),
            verified=verified is True or (verified is not False and s.name in verified),
        )
        for i, (s, text) in enumerate(zip(skills, texts, strict=True))
    ]


# -- writing (inside the caller's transaction) -------------------------------------------------
def record_node_skills(
    db: sqlite_utils.Database,
    node: int,
    parent: int | None,
    entries: Sequence[SkillEntry],
    *,
    created_at: float,
    near_cosine: float = NEAR_DUPLICATE_COSINE,
) -> None:
    """Record that ``node`` carries ``entries``; new contents get a ``skills`` row."""
    q = db.conn.execute
    before = {}
    if parent is not None:
        rows = q("SELECT ns.name, ns.skill FROM node_skills ns WHERE ns.node = ?", (parent,))
        before = dict(rows.fetchall())
    for entry in entries:
        found = q("SELECT id FROM skills WHERE content_hash = ? ORDER BY id LIMIT 1",
                  (entry.content_hash,)).fetchone()
        if found is not None:
            skill = found[0]
            if entry.verified:
                q("UPDATE skills SET verified = 1 WHERE id = ? AND verified = 0", (skill,))
        else:
            skill = _insert_skill(db, node, parent, entry, before.get(entry.name), created_at)
            if entry.embedding is not None:
                _link_near_duplicates(db, skill, entry, near_cosine)
        q("INSERT OR IGNORE INTO node_skills (node, skill, name, inherited) VALUES (?, ?, ?, ?)",
          (node, skill, entry.name, int(before.get(entry.name) == skill)))


def fill_embeddings(db: sqlite_utils.Database, embedder: object,
                    near_cosine: float = NEAR_DUPLICATE_COSINE) -> int:
    """Embed the indexed skills that have no embedding yet (the seed's, recorded before the
    run's embedding model was loaded), link their near-duplicates; returns how many."""
    rows = db.conn.execute(
        "SELECT id, name, search_text FROM skills WHERE embedding IS NULL ORDER BY id"
    ).fetchall()
    if not rows:
        return 0
    vectors = embedder.embed([text or name for _, name, text in rows])
    for (skill, name, text), vector in zip(rows, vectors, strict=True):
        blob = np.asarray(vector, np.float32).tobytes()
        db.conn.execute("UPDATE skills SET embedding = ?, embedding_model = ? WHERE id = ?",
                        (blob, embedder.model_id, skill))  # fmt: skip
        entry = SkillEntry(name=name, description="", content_hash="", search_text=text or "",
                           embedding=blob, embedding_model=embedder.model_id)
        _link_near_duplicates(db, skill, entry, near_cosine)
    return len(rows)


def _insert_skill(db: sqlite_utils.Database, node: int, parent: int | None, entry: SkillEntry,
                  earlier: int | None, created_at: float) -> int:
    origin = dict(entry.origin)
    origin.setdefault("how", "seed" if parent is None else "edit")
    return db["skills"].insert({
        "node": node,
        "name": entry.name,
        "content_hash": entry.content_hash,
        "description": entry.description,
        "path": f"skills/{entry.name}",
        "embedding": entry.embedding,
        "embedding_model": entry.embedding_model,
        "created_at": created_at,
        "search_text": entry.search_text,
        "origin": json.dumps(origin),
        "source_tasks": json.dumps(list(entry.source_tasks)),
        "verified": int(entry.verified),
        "version_of": earlier,
    }).last_pk


def _link_near_duplicates(db: sqlite_utils.Database, skill: int, entry: SkillEntry,
                          threshold: float) -> None:
    vector = np.frombuffer(entry.embedding, np.float32)
    rows = db.conn.execute(
        "SELECT id, embedding FROM skills WHERE embedding_model = ? AND id != ? AND name != ?",
        (entry.embedding_model, skill, entry.name),
    ).fetchall()
    for other, blob in rows:
        theirs = np.frombuffer(blob, np.float32)
        if theirs.shape == vector.shape and (score := float(vector @ theirs)) >= threshold:
            db.conn.execute("INSERT OR IGNORE INTO skill_links VALUES (?, ?, 'near-duplicate', ?)",
                            (skill, other, score))


def node_has_skills(db: sqlite_utils.Database, node: int) -> bool:
    return db.conn.execute("SELECT 1 FROM node_skills WHERE node = ? LIMIT 1", (node,)).fetchone() is not None


def record_usage(db: sqlite_utils.Database, evaluation: int, node: int, usage: SkillUsage) -> None:
    """Record what evaluation ``evaluation`` of ``node`` did with the node's skills (names the
    node does not carry are not counted: the agent cannot have used them)."""
    q = db.conn.execute
    for query in usage.searched:
        q("INSERT INTO skill_searches (evaluation, query) VALUES (?, ?)", (evaluation, query))
    if not usage.used:
        return
    ids = dict(q("SELECT name, skill FROM node_skills WHERE node = ?", (node,)).fetchall())
    for name in usage.used:
        if name in ids:
            q("INSERT OR REPLACE INTO skill_usage VALUES (?, ?, ?, ?)",
              (evaluation, ids[name], int(name in usage.read), int(name in usage.ran)))


# -- lift -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rate:
    """A pass rate with its 95% Wilson score interval (0..1; None when nothing was counted)."""

    passes: int
    n: int

    @property
    def p(self) -> float | None:
        return self.passes / self.n if self.n else None

    def interval(self) -> tuple[float, float] | None:
        if not self.n:
            return None
        p, n, z2 = self.passes / self.n, self.n, Z95 * Z95
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Lift:
    """Pass rate of held-out evaluations that used the skill minus that of evaluations of the
    same nodes that did not, with Newcombe's 95% interval for the difference (from the two
    Wilson intervals); None when either side has no evaluation."""

    used: Rate
    unused: Rate

    @property
    def value(self) -> float | None:
        if not (self.used.n and self.unused.n):
            return None
        return self.used.p - self.unused.p

    def interval(self) -> tuple[float, float] | None:
        if self.value is None:
            return None
        (l1, u1), (l2, u2) = self.used.interval(), self.unused.interval()
        p1, p2 = self.used.p, self.unused.p
        lo = self.value - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        hi = self.value + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
        return max(-1.0, lo), min(1.0, hi)

    def as_dict(self) -> dict:
        interval = self.interval()
        return {"used": [self.used.passes, self.used.n], "unused": [self.unused.passes, self.unused.n],
                "lift": self.value, "interval": None if interval is None else list(interval)}


_LIFT_SQL = """
SELECT (u.evaluation IS NOT NULL) AS used, COALESCE(SUM(e.outcome = 'pass'), 0), COUNT(*)
FROM node_skills ns
JOIN evaluations e ON e.node = ns.node
LEFT JOIN skill_usage u ON u.evaluation = e.id AND u.skill = ns.skill
WHERE ns.skill = ? AND e.outcome IN ('pass', 'fail')
  AND e.task_id NOT IN (SELECT value FROM json_each((SELECT source_tasks FROM skills WHERE id = ?)))
GROUP BY used
"""


def skill_lift(db: sqlite_utils.Database, skill: int) -> Lift:
    """The lift of skill row ``skill``, counted only on tasks it was not distilled from."""
    counts = {bool(used): Rate(int(p), int(n))
              for used, p, n in db.conn.execute(_LIFT_SQL, (skill, skill))}
    return Lift(counts.get(True, Rate(0, 0)), counts.get(False, Rate(0, 0)))
