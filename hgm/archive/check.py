"""``hgm check``: find everything wrong with a run on disk, without changing it.

Each check reports concrete :class:`Problem` values rather than raising, so a damaged run
(a truncated hgm.db, a lost ref, a corrupt artifact) yields a list of findings, never a
traceback. :meth:`hgm.archive.Run.open` repairs the leftovers a killed process can cause;
this module only looks.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
import yaml

from hgm.archive import db as schema
from hgm.archive.artifacts import ArtifactStore
from hgm.archive.git import REF_PREFIX, AgentsRepo, ArchiveError, node_ref
from hgm.archive.run import ARTIFACTS, CONFIG, DB, GIT_DIR, missing_parts


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a run: ``what`` names the part, ``message`` says what is wrong."""

    what: str
    message: str

    def __str__(self) -> str:
        return self.message


def check_run(path: Path) -> list[Problem]:
    """Every problem found in the run at ``path``; an empty list means it is consistent."""
    path = Path(path)
    missing = missing_parts(path)
    if missing:
        return [Problem(str(path), f"{path} is not an hgm run (missing: {', '.join(missing)})")]
    problems = _check_config(path)
    repo = AgentsRepo(path / GIT_DIR, durable=False)
    problems += [Problem(GIT_DIR, f"{GIT_DIR}: git fsck: {line}") for line in _fsck(repo)]
    try:
        database = schema.connect(path / DB, readonly=True)
    except sqlite3.Error as e:
        return [*problems, Problem(DB, f"{DB} cannot be read: {e}")]
    try:
        problems += _check_db(path, database, repo)
    except sqlite3.Error as e:
        problems.append(Problem(DB, f"{DB} cannot be read: {e}"))
    except ArchiveError as e:
        problems.append(Problem(GIT_DIR, f"{GIT_DIR}: {e}"))
    finally:
        database.close()
    return problems


def _check_config(path: Path) -> list[Problem]:
    try:
        config = yaml.safe_load((path / CONFIG).read_text(encoding="utf-8"))
    except (OSError, UnicodeError, yaml.YAMLError) as e:
        return [Problem(CONFIG, f"{CONFIG} cannot be read: {e}")]
    if config is not None and not isinstance(config, dict):
        return [Problem(CONFIG, f"{CONFIG} is not a mapping")]
    return []


def _fsck(repo: AgentsRepo) -> list[str]:
    try:
        return repo.fsck()
    except ArchiveError as e:
        return [str(e)]


def _check_db(path: Path, database: sqlite_utils.Database, repo: AgentsRepo) -> list[Problem]:
    rows = database.conn.execute("PRAGMA integrity_check").fetchall()
    if [r[0] for r in rows] != ["ok"]:
        detail = "; ".join(str(r[0]) for r in rows[:5])
        return [Problem(DB, f"{DB} fails PRAGMA integrity_check: {detail}")]
    version = schema.schema_version(database)
    if version > schema.SCHEMA_VERSION:
        return [
            Problem(
                DB,
                f"{DB} has schema version {version}, newer than this hgm knows "
                f"({schema.SCHEMA_VERSION}); upgrade hgm",
            )
        ]
    if version < 1:
        return [Problem(DB, f"{DB} has no hgm schema (version {version})")]
    nodes = list(database.query("SELECT id, parent, commit_sha FROM nodes ORDER BY id"))
    problems = _check_refs(nodes, repo)
    problems += _check_commits(nodes, repo)
    problems += _check_links(database)
    problems += _check_entry_points(database, repo)
    problems += _check_artifacts(database, ArtifactStore(path / ARTIFACTS))
    if version >= 3:  # the skill index (hgm.skills.index)
        from hgm.skills.library import check_index

        problems += [Problem(what, message) for what, message in check_index(database, repo)]
    return problems


def _check_refs(nodes: list[dict], repo: AgentsRepo) -> list[Problem]:
    refs = repo.node_refs()
    problems = []
    for n in nodes:
        what, ref = f"node {n['id']}", node_ref(n["id"])
        if ref not in refs:
            problems.append(Problem(what, f"{what}: ref {ref} is missing"))
        elif refs[ref] != n["commit_sha"]:
            problems.append(
                Problem(
                    what,
                    f"{what}: ref {ref} points at {refs[ref]}, hgm.db records {n['commit_sha']}",
                )
            )
    known = {node_ref(n["id"]) for n in nodes}
    for ref in sorted(set(refs) - known):
        problems.append(Problem(ref, f"ref {ref} has no node in {DB}"))
    if len(nodes) != len(refs):
        problems.append(
            Problem(
                GIT_DIR,
                f"{DB} records {len(nodes)} nodes but {GIT_DIR} has "
                f"{len(refs)} refs under {REF_PREFIX}",
            )
        )
    ids = [n["id"] for n in nodes]
    if ids != list(range(len(ids))):
        gaps = sorted(set(range(max(ids, default=-1) + 1)) - set(ids))
        problems.append(Problem(DB, f"{DB}: node ids are not dense (missing {gaps[:10]})"))
    return problems


def _check_commits(nodes: list[dict], repo: AgentsRepo) -> list[Problem]:
    by_id = {n["id"]: n for n in nodes}
    types = repo.object_types(n["commit_sha"] for n in nodes)
    problems, commits = [], []
    for n in nodes:
        what = f"node {n['id']}"
        if types.get(n["commit_sha"]) != "commit":
            problems.append(
                Problem(what, f"{what}: commit {n['commit_sha']} is missing from {GIT_DIR}")
            )
        else:
            commits.append(n)
    parents = repo.commit_parents(n["commit_sha"] for n in commits)
    for n in commits:
        what, parent = f"node {n['id']}", n["parent"]
        if parent is None:
            expected = []
        elif parent in by_id:
            expected = [by_id[parent]["commit_sha"]]
        else:
            problems.append(Problem(what, f"{what}: parent node {parent} does not exist"))
            continue
        actual = parents.get(n["commit_sha"], [])
        if actual != expected:
            problems.append(
                Problem(
                    what,
                    f"{what}: commit {n['commit_sha']} has git parents "
                    f"{actual}, expected {expected}",
                )
            )
    return problems


ENTRY_POINT = "run_agent.py"
"""What every evaluation runs in the node's checkout (hgm.jobs.evaluation.AGENT_COMMAND)."""


def _check_entry_points(database: sqlite_utils.Database, repo: AgentsRepo) -> list[Problem]:
    """If the seed has the agent's entry point (every real run: simulated ones have no
    agent), every node with judged evaluations must have it too: an evaluation of a
    checkout without it could not have run the agent at all."""
    seed = database.conn.execute("SELECT commit_sha FROM nodes WHERE id = 0").fetchone()
    if seed is None or repo.lacking([seed[0]], ENTRY_POINT):
        return []
    rows = database.conn.execute(
        "SELECT n.id, n.commit_sha, COUNT(*) FROM evaluations e JOIN nodes n ON n.id = e.node "
        "WHERE e.outcome IN ('pass', 'fail') GROUP BY n.id ORDER BY n.id"
    ).fetchall()
    lacking = repo.lacking((sha for _, sha, _ in rows), ENTRY_POINT)
    return [
        Problem(f"node {node}", f"node {node}: {count} evaluations were judged, but its commit "
                                f"{sha} has no {ENTRY_POINT}, so none of them ran the agent")
        for node, sha, count in rows if sha in lacking
    ]


_DANGLING = [
    (
        "evaluation",
        "SELECT e.id, e.node FROM evaluations e LEFT JOIN nodes n ON n.id = e.node "
        "WHERE n.id IS NULL",
        "node",
    ),
    (
        "evaluation",
        "SELECT e.id, e.task_index FROM evaluations e LEFT JOIN tasks t "
        "ON t.idx = e.task_index WHERE t.idx IS NULL",
        "task index",
    ),
    (
        "expansion",
        "SELECT x.id, x.parent FROM expansions x LEFT JOIN nodes n ON n.id = x.parent "
        "WHERE n.id IS NULL",
        "parent node",
    ),
    (
        "expansion",
        "SELECT x.id, x.child FROM expansions x LEFT JOIN nodes n ON n.id = x.child "
        "WHERE x.child IS NOT NULL AND n.id IS NULL",
        "child node",
    ),
]


def _check_links(database: sqlite_utils.Database) -> list[Problem]:
    problems = []
    for kind, sql, label in _DANGLING:
        for row_id, target in database.conn.execute(sql):
            what = f"{kind} {row_id}"
            problems.append(Problem(what, f"{what}: {label} {target} does not exist"))
    if not problems:
        # Catches every other broken reference the schema declares (llm_calls, skills).
        for table, rowid, parent, _ in database.conn.execute("PRAGMA foreign_key_check"):
            what = f"{table} {rowid}"
            problems.append(Problem(what, f"{what}: refers to a missing row of {parent}"))
    return problems


def _check_artifacts(database: sqlite_utils.Database, store: ArtifactStore) -> list[Problem]:
    problems, seen = [], set()
    sql = "SELECT id, trajectory, test_log FROM evaluations ORDER BY id"
    for eval_id, *refs in database.conn.execute(sql):
        for label, ref in zip(("trajectory", "test_log"), refs, strict=True):
            if ref is None or ref in seen:
                continue
            seen.add(ref)
            wrong = store.verify(ref)
            if wrong:
                problems.append(
                    Problem(
                        f"artifact {ref}", f"evaluation {eval_id}: {label} artifact {ref} {wrong}"
                    )
                )
    return problems
