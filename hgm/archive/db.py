"""hgm.db: the run's SQLite database, its schema and its forward migrations.

The schema exists only as the chain of migrations below: a new database is made by
applying every migration to an empty file, so the code path that upgrades an old run is
the one every new run takes. The version is SQLite's ``PRAGMA user_version``; migration
``n`` takes a database from version ``n`` to ``n + 1`` in one transaction.

The tables are plain SQLite (JSON columns are text), readable by ``sqlite3``, Datasette
or pandas while a run is going.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from hgm.archive.git import ArchiveError
from hgm.types import Evaluation, Expansion, Node, NodeKind, NodeStatus, Outcome

# -- schema, as migrations ---------------------------------------------------------------

_V1 = [
    """CREATE TABLE tasks (
        idx INTEGER PRIMARY KEY,
        task_id TEXT NOT NULL UNIQUE,
        order_pos INTEGER NOT NULL UNIQUE
    )""",
    """CREATE TABLE nodes (
        id INTEGER PRIMARY KEY,
        parent INTEGER REFERENCES nodes(id),
        commit_sha TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('seed', 'edit', 'skill')),
        status TEXT NOT NULL CHECK (status IN ('valid', 'invalid')),
        proposal TEXT NOT NULL DEFAULT '',
        reason TEXT,
        cost_usd REAL NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        meta TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX idx_nodes_parent ON nodes(parent)",
    """CREATE TABLE expansions (
        id INTEGER PRIMARY KEY,
        parent INTEGER NOT NULL REFERENCES nodes(id),
        child INTEGER UNIQUE REFERENCES nodes(id),
        status TEXT NOT NULL CHECK (status IN ('valid', 'invalid', 'failed')),
        problem_statement TEXT NOT NULL DEFAULT '',
        reason TEXT,
        cost_usd REAL NOT NULL DEFAULT 0,
        started_at REAL,
        finished_at REAL NOT NULL
    )""",
    "CREATE INDEX idx_expansions_parent ON expansions(parent)",
    """CREATE TABLE evaluations (
        id INTEGER PRIMARY KEY,
        node INTEGER NOT NULL REFERENCES nodes(id),
        task_index INTEGER NOT NULL REFERENCES tasks(idx),
        task_id TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('pass', 'fail', 'error')),
        duration_s REAL NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        trajectory TEXT,
        test_log TEXT,
        reason TEXT,
        created_at REAL NOT NULL
    )""",
    "CREATE INDEX idx_evaluations_node ON evaluations(node)",
    """CREATE TABLE llm_calls (
        id INTEGER PRIMARY KEY,
        node INTEGER REFERENCES nodes(id),
        scope_kind TEXT NOT NULL,
        scope_id TEXT,
        model TEXT NOT NULL,
        request TEXT NOT NULL,
        response TEXT,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        latency_s REAL NOT NULL DEFAULT 0,
        error TEXT,
        created_at REAL NOT NULL
    )""",
    "CREATE INDEX idx_llm_calls_node ON llm_calls(node)",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL
    )""",
]

# Version 2 adds the skill index (filled by hgm.skills).
_V2 = [
    """CREATE TABLE skills (
        id INTEGER PRIMARY KEY,
        node INTEGER NOT NULL REFERENCES nodes(id),
        name TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        path TEXT NOT NULL DEFAULT '',
        embedding BLOB,
        embedding_model TEXT,
        created_at REAL NOT NULL
    )""",
    "CREATE INDEX idx_skills_node ON skills(node)",
    "CREATE INDEX idx_skills_content_hash ON skills(content_hash)",
]


# Version 3 fills the skill index out (hgm.skills.index; docs/skills.md, "The index"): a
# ``skills`` row is one skill content (by hash), introduced by ``node``; ``node_skills`` says
# which nodes carry it (``inherited`` when the parent carried it too); usage per evaluation;
# near-duplicate links; ``version_of`` points at the same-named skill it improves.
_V3 = [
    "ALTER TABLE skills ADD COLUMN search_text TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE skills ADD COLUMN origin TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE skills ADD COLUMN source_tasks TEXT NOT NULL DEFAULT '[]'",
    "ALTER TABLE skills ADD COLUMN verified INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE skills ADD COLUMN version_of INTEGER REFERENCES skills(id)",
    "CREATE INDEX idx_skills_name ON skills(name)",
    """CREATE TABLE node_skills (
        node INTEGER NOT NULL REFERENCES nodes(id),
        skill INTEGER NOT NULL REFERENCES skills(id),
        name TEXT NOT NULL,
        inherited INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (node, skill)
    ) WITHOUT ROWID""",
    "CREATE INDEX idx_node_skills_skill ON node_skills(skill, node)",
    """CREATE TABLE skill_links (
        skill INTEGER NOT NULL REFERENCES skills(id),
        other INTEGER NOT NULL REFERENCES skills(id),
        kind TEXT NOT NULL CHECK (kind IN ('near-duplicate')),
        score REAL,
        PRIMARY KEY (skill, other, kind)
    ) WITHOUT ROWID""",
    """CREATE TABLE skill_usage (
        evaluation INTEGER NOT NULL REFERENCES evaluations(id),
        skill INTEGER NOT NULL REFERENCES skills(id),
        read INTEGER NOT NULL DEFAULT 0,
        ran INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (evaluation, skill)
    ) WITHOUT ROWID""",
    "CREATE INDEX idx_skill_usage_skill ON skill_usage(skill)",
    """CREATE TABLE skill_searches (
        id INTEGER PRIMARY KEY,
        evaluation INTEGER NOT NULL REFERENCES evaluations(id),
        query TEXT NOT NULL
    )""",
    "CREATE INDEX idx_skill_searches_evaluation ON skill_searches(evaluation)",
]


def _statements(stmts: list[str]) -> Callable[[sqlite_utils.Database], None]:
    def apply(db: sqlite_utils.Database) -> None:
        for sql in stmts:
            db.execute(sql)

    return apply


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _statements(_V1), _statements(_V2), _statements(_V3),
]
"""``MIGRATIONS[n]`` upgrades a database at version ``n`` to version ``n + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)
TABLES = ("tasks", "nodes", "expansions", "evaluations", "llm_calls", "events", "skills",
          "node_skills", "skill_links", "skill_usage", "skill_searches")


# -- connections -------------------------------------------------------------------------


def connect(path: Path, *, durable: bool = True, readonly: bool = False) -> sqlite_utils.Database:
    """Open hgm.db for use from several threads (callers serialise access with one lock).

    Raises ``sqlite3.DatabaseError`` when the file is not a readable SQLite database.
    """
    if readonly:
        conn = sqlite3.connect(
            f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
    else:
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    try:
        db = sqlite_utils.Database(conn, execute_plugins=False)
        if not readonly:
            db.conn.execute("PRAGMA journal_mode=WAL").fetchall()
            # FULL: a committed transaction survives power loss; NORMAL only a killed process.
            db.conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        db.conn.execute("PRAGMA foreign_keys=ON")
        db.conn.execute("PRAGMA busy_timeout=30000")
        schema_version(db)  # reads the header: fails here on a file that is not a database
    except BaseException:
        conn.close()
        raise
    return db


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.conn.execute("PRAGMA user_version").fetchone()[0])


def check_version(db: sqlite_utils.Database, where: Path | str = "hgm.db") -> int:
    """The database's schema version; ArchiveError if it comes from a newer hgm."""
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise ArchiveError(
            f"{where} has schema version {version}, but this hgm only knows versions up to "
            f"{SCHEMA_VERSION}; upgrade hgm to open this run"
        )
    return version


def migrate(db: sqlite_utils.Database, target: int = SCHEMA_VERSION) -> list[int]:
    """Apply forward migrations up to ``target``; return the versions reached, in order.

    Each step and its version bump are one transaction, so a killed upgrade leaves the
    database at the last completed version and the next open carries on from there.
    """
    version = check_version(db)
    if target > SCHEMA_VERSION:
        raise ValueError(f"no migration to schema version {target} (latest is {SCHEMA_VERSION})")
    reached = []
    while version < target:
        with db.atomic():
            MIGRATIONS[version](db)
            db.conn.execute(f"PRAGMA user_version = {version + 1}")
        version += 1
        reached.append(version)
    return reached


# -- writing rows (inside a caller's transaction) ------------------------------------------


def insert_tasks(db: sqlite_utils.Database, task_ids: list[str], order: list[int]) -> None:
    """The task list: ``order`` lists task indexes in the run-wide order nodes take them."""
    position = {idx: pos for pos, idx in enumerate(order)}
    db["tasks"].insert_all(
        {"idx": i, "task_id": t, "order_pos": position[i]} for i, t in enumerate(task_ids)
    )


def insert_node(
    db: sqlite_utils.Database,
    *,
    node_id: int,
    parent: int | None,
    commit_sha: str,
    kind: str,
    status: str,
    proposal: str,
    created_at: float,
    reason: str | None = None,
    cost_usd: float = 0.0,
    meta: dict | None = None,
) -> dict:
    row = {
        "id": node_id,
        "parent": parent,
        "commit_sha": commit_sha,
        "kind": kind,
        "status": status,
        "proposal": proposal,
        "reason": reason,
        "cost_usd": float(cost_usd),
        "created_at": created_at,
        "meta": json.dumps(meta or {}),
    }
    db["nodes"].insert(row)
    return row


def insert_expansion(
    db: sqlite_utils.Database,
    *,
    parent: int,
    child: int | None,
    status: str,
    finished_at: float,
    problem_statement: str = "",
    reason: str | None = None,
    cost_usd: float = 0.0,
    started_at: float | None = None,
) -> dict:
    row = {
        "parent": parent,
        "child": child,
        "status": status,
        "problem_statement": problem_statement,
        "reason": reason,
        "cost_usd": float(cost_usd),
        "started_at": started_at,
        "finished_at": finished_at,
    }
    row["id"] = db["expansions"].insert(row).last_pk
    return row


def insert_event(db: sqlite_utils.Database, kind: str, data: dict, created_at: float) -> None:
    db["events"].insert({"kind": kind, "data": json.dumps(data), "created_at": created_at})


# -- rows as typed records ---------------------------------------------------------------


def node_from_row(row: dict) -> Node:
    return Node(
        id=row["id"],
        parent=row["parent"],
        commit=row["commit_sha"],
        kind=NodeKind(row["kind"]),
        status=NodeStatus(row["status"]),
        proposal=row["proposal"],
        reason=row["reason"],
        cost_usd=row["cost_usd"],
        created_at=row["created_at"],
        meta=json.loads(row["meta"] or "{}"),
    )


def evaluation_from_row(row: dict) -> Evaluation:
    return Evaluation(
        id=row["id"],
        node=row["node"],
        task=row["task_id"],
        task_index=row["task_index"],
        outcome=Outcome(row["outcome"]),
        duration_s=row["duration_s"],
        cost_usd=row["cost_usd"],
        trajectory=row["trajectory"],
        test_log=row["test_log"],
        reason=row["reason"],
        created_at=row["created_at"],
    )


def expansion_from_row(row: dict) -> Expansion:
    return Expansion(
        id=row["id"],
        parent=row["parent"],
        child=row["child"],
        status=row["status"],
        problem_statement=row["problem_statement"],
        reason=row["reason"],
        cost_usd=row["cost_usd"],
        created_at=row["finished_at"],
    )


def json_row(row: dict, *columns: str) -> dict:
    """The row with the named JSON text columns decoded."""
    return {k: json.loads(v) if k in columns and v is not None else v for k, v in row.items()}


def totals(db: sqlite_utils.Database, record_scopes: tuple[str, ...]) -> dict:
    """Counts and costs of the whole run (documented on ``Run.totals``)."""
    q = db.conn.execute

    def counts(table: str, column: str, keys: tuple[str, ...]) -> dict[str, int]:
        found = dict(q(f"SELECT {column}, COUNT(*) FROM {table} GROUP BY {column}"))
        return {k: found.get(k, 0) for k in keys}

    nodes, valid = q("SELECT COUNT(*), COALESCE(SUM(status = 'valid'), 0) FROM nodes").fetchone()
    evals_cost = q("SELECT COALESCE(SUM(cost_usd), 0) FROM evaluations").fetchone()[0]
    exps_cost = q("SELECT COALESCE(SUM(cost_usd), 0) FROM expansions").fetchone()[0]
    scopes = ",".join("?" * len(record_scopes))
    n_calls, llm_cost, other_llm = q(
        "SELECT COUNT(*), COALESCE(SUM(cost_usd), 0), COALESCE(SUM(CASE WHEN scope_kind"
        f" IN ({scopes}) THEN 0 ELSE cost_usd END), 0) FROM llm_calls",
        record_scopes,
    ).fetchone()
    return {
        "nodes": nodes,
        "valid_nodes": valid,
        "evaluations": counts("evaluations", "outcome", ("pass", "fail", "error")),
        "expansions": counts("expansions", "status", ("valid", "invalid", "failed")),
        "cost_usd": evals_cost + exps_cost + other_llm,
        "cost_breakdown": {
            "evaluations": evals_cost,
            "expansions": exps_cost,
            "other_llm_calls": other_llm,
        },
        "llm_calls": n_calls,
        "llm_cost_usd": llm_cost,
    }
