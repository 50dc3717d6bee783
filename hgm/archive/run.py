"""A run on disk: config.yaml, agents.git, hgm.db and artifacts/ behind one object.

Every record is one SQLite transaction, committed before the method returns. A node is
written in three steps, in this order: its git commit object, its DB row (with the
expansion that made it), then its ref ``refs/nodes/<id>``. A process killed between any two
steps leaves either nothing visible (an unreferenced commit object) or a DB row whose ref
is missing, which :meth:`Run.open` repairs from the sha in the row. hgm.db is the source of
truth; refs are an index into agents.git for git tools.

All public methods are thread-safe: the driver thread records results while gateway
threads log LLM calls.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import sqlite_utils
import yaml

from hgm.archive import db as schema
from hgm.archive.artifacts import ArtifactStore
from hgm.archive.git import AgentsRepo, ArchiveError
from hgm.archive.lock import LOCK
from hgm.archive.recovery import repair, replay
from hgm.search.tree import TreeStats
from hgm.skills import index as skill_index
from hgm.skills.usage import SkillUsage
from hgm.skills.usage import skill_usage as parse_skill_usage
from hgm.types import Evaluation, Expansion, Node, NodeKind, NodeStatus, Outcome

CONFIG, GIT_DIR, DB, ARTIFACTS = "config.yaml", "agents.git", "hgm.db", "artifacts"

RECORD_SCOPES = ("evaluation", "expansion", "diagnosis")
"""LLM-call scopes whose cost the enclosing record states already (see :meth:`Run.totals`)."""

_EXPANSION_KEYS = {"problem_statement", "cost_usd", "reason", "started_at"}


def half_made(path: Path) -> bool:
    """Whether ``path`` is a run that a killed process left while making it: ``config.yaml``
    (written first) is there, but node 0 was never committed to ``hgm.db``. Nothing was done
    in such a run yet, so it can be made again from its config."""
    path = Path(path)
    if not (path / CONFIG).is_file():
        return False
    if not (path / DB).is_file():
        return True
    try:
        with closing(sqlite3.connect(f"{(path / DB).resolve().as_uri()}?mode=ro", uri=True)) as con:
            return con.execute("SELECT count(*) FROM nodes WHERE id = 0").fetchone()[0] == 0
    except sqlite3.OperationalError as e:  # no nodes table: killed before the first migration
        return "no such table" in str(e)
    except sqlite3.DatabaseError:  # a database that cannot be read is not silently remade
        return False


def clear_half_made(path: Path) -> None:
    """Empty a :func:`half_made` run folder (the driver's lock stays) so it can be made again."""
    if not half_made(path):
        raise ArchiveError(f"{path} is not a half-made run; refusing to empty it")
    _empty_dir(Path(path))


def missing_parts(path: Path) -> list[str]:
    """The parts of a run that ``path`` lacks (empty when it looks like a run)."""
    path = Path(path)
    if not path.is_dir():
        return [str(path)]
    return [p for p in (CONFIG, GIT_DIR, DB) if not (path / p).exists()]


def _write_file_durably(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Run:
    """One run's archive. Build with :meth:`create` or :meth:`open`, never directly."""

    def __init__(
        self,
        path: Path,
        database: sqlite_utils.Database,
        *,
        durable: bool,
        readonly: bool,
        clock: Callable[[], float],
    ):
        self.path = Path(path)
        self._db: sqlite_utils.Database | None = database
        self._lock = threading.RLock()
        self._clock = clock
        self.readonly = readonly
        self.recording_s = 0.0
        """Wall seconds this process spent writing the archive (transactions with their commits,
        evaluation artifacts): what a run pays for recording (benchmarks/throughput.py)."""
        self.repo = AgentsRepo(self.path / GIT_DIR, durable=durable)
        self.store = ArtifactStore(self.path / ARTIFACTS, durable=durable)
        self.config: dict = read_config(self.path)
        tasks = list(database.query("SELECT idx, task_id, order_pos FROM tasks ORDER BY idx"))
        self.task_ids: list[str] = [t["task_id"] for t in tasks]
        self.task_order: list[int] = [t["idx"] for t in sorted(tasks, key=lambda t: t["order_pos"])]

    # -- life cycle -----------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: Path,
        seed_tree: Path,
        *,
        config: dict,
        task_ids: list[str],
        task_order: list[int] | None = None,
        commit_time: int | None = None,
        durable: bool = True,
        clock: Callable[[], float] = time.time,
        skills: list[skill_index.SkillEntry] | None = None,
    ) -> Run:
        """Make a new run at ``path`` (absent or empty) whose node 0 is ``seed_tree``.

        ``skills``: node 0's skills for the index (default: read from ``seed_tree``).

        ``task_order`` is the run-wide order in which nodes work through the tasks (indexes
        into ``task_ids``; default: as listed). ``durable=False`` trades power-loss safety
        for speed (simulations); a killed process loses nothing either way.
        """
        path = Path(path)
        order = _check_new_run(path, seed_tree, task_ids, task_order)
        created_dir = not path.exists()
        try:
            path.mkdir(parents=True, exist_ok=True)
            _write_file_durably(path / CONFIG, yaml.safe_dump(config, sort_keys=False))
            (path / ARTIFACTS).mkdir()
            repo = AgentsRepo.init(path / GIT_DIR, durable=durable)
            sha = repo.commit_tree(seed_tree, parent=None, message="seed", commit_time=commit_time)
            database = schema.connect(path / DB, durable=durable)
            schema.migrate(database)
            with database.atomic():
                schema.insert_tasks(database, task_ids, order)
                schema.insert_node(
                    database,
                    node_id=0,
                    parent=None,
                    commit_sha=sha,
                    kind="seed",
                    status="valid",
                    proposal="seed",
                    created_at=clock(),
                )
                schema.insert_event(database, "created", {"tasks": len(task_ids)}, clock())
            repo.set_ref(0, sha)
        except BaseException:
            # A half-made run would block a retry at the same path; it holds nothing yet.
            shutil.rmtree(path, ignore_errors=True) if created_dir else _empty_dir(path)
            raise
        run = cls(path, database, durable=durable, readonly=False, clock=clock)
        # Once the run exists (reading skills takes a while): a kill before this is committed
        # leaves node 0 unindexed, which Run.open repairs from its tree.
        run._index_seed(skill_index.entries_from_tree(seed_tree) if skills is None else skills)
        return run

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        durable: bool = True,
        readonly: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> Run:
        """Open an existing run: upgrade its schema and repair what a killed process left.

        With ``readonly=True`` (viewers) nothing is migrated, repaired or written.
        """
        path = Path(path)
        missing = missing_parts(path)
        if missing:
            raise ArchiveError(f"{path} is not an hgm run (missing: {', '.join(missing)})")
        try:
            database = schema.connect(path / DB, durable=durable, readonly=readonly)
        except sqlite3.Error as e:
            raise ArchiveError(f"{path / DB} cannot be read: {e}") from None
        try:
            before = schema.check_version(database, path / DB)
            reached = [] if readonly else schema.migrate(database)
            run = cls(path, database, durable=durable, readonly=readonly, clock=clock)
            if reached:
                run.log_event("migrated", {"from": before, "to": reached[-1]})
            if not readonly:
                run._repair()
        except BaseException as e:
            database.close()
            if isinstance(e, sqlite3.Error):
                raise ArchiveError(f"{path / DB} cannot be read: {e}") from e
            raise
        return run

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    # -- transactions ---------------------------------------------------------------------
    def _conn(self) -> sqlite_utils.Database:
        if self._db is None:
            raise ArchiveError(f"run {self.path} is closed")
        return self._db

    @contextmanager
    def _write(self) -> Iterator[sqlite_utils.Database]:
        """One locked transaction; committed (durably) when the block ends without error."""
        with self._lock:
            self._check_writable()
            database = self._conn()
            start = time.perf_counter()
            try:
                with database.atomic():
                    yield database
            except sqlite3.IntegrityError as e:
                raise ArchiveError(f"rejected by hgm.db: {e}") from None
            finally:
                self.recording_s += time.perf_counter() - start

    def _check_writable(self) -> None:
        if self.readonly:
            raise ArchiveError(f"run {self.path} is open read-only")

    def _rows(self, sql: str, params: tuple = ()) -> list[dict]:
        with self._lock:
            return list(self._conn().query(sql, params))

    # -- nodes ----------------------------------------------------------------------------
    def prepare_commit(
        self, parent: int, tree: Path, message: str, *, commit_time: int | None = None
    ) -> str:
        """Write ``tree`` as a commit object whose git parent is node ``parent``'s commit.

        Only git objects are written (no ref, no row): content-addressed and unreferenced
        until :meth:`add_node` records the sha, so worker threads may call this while the
        driver goes on deciding. Returns the commit sha.
        """
        self._check_writable()
        return self.repo.commit_tree(
            tree, parent=self.node(int(parent)).commit, message=message, commit_time=commit_time
        )

    def add_node(
        self,
        parent: int,
        tree: Path | None,
        *,
        kind: NodeKind,
        proposal: str,
        status: NodeStatus = NodeStatus.VALID,
        reason: str | None = None,
        cost_usd: float = 0.0,
        meta: dict | None = None,
        expansion: dict | None = None,
        commit_time: int | None = None,
        commit: str | None = None,
        skills: list[skill_index.SkillEntry] | None = None,
    ) -> Node:
        """Commit ``tree`` as a child of ``parent`` and record it (invalid children too).

        ``skills``: the child's skills, indexed in the same transaction (valid children only).

        ``expansion`` (keys: problem_statement, cost_usd, reason, started_at) records the
        attempt that made the child, in the same transaction as the node. The commit
        message is ``proposal``. Instead of ``tree``, ``commit`` may name a commit made
        beforehand with :meth:`prepare_commit`.
        """
        self._check_writable()
        parent, kind, status = int(parent), NodeKind(kind), NodeStatus(status)
        if kind is NodeKind.SEED:
            raise ValueError("only node 0 is the seed; children are edit or skill nodes")
        if unknown := set(expansion or {}) - _EXPANSION_KEYS:
            raise ValueError(f"unknown expansion keys: {sorted(unknown)}")
        if (tree is None) == (commit is None):
            raise ValueError("give exactly one of tree and commit")
        # The commit object is written outside the lock: it takes a few git processes and
        # needs no id, so gateway threads are not held up by it.
        sha = commit or self.prepare_commit(parent, tree, proposal, commit_time=commit_time)
        with self._lock:
            with self._write() as database:
                node_id = database.execute("SELECT COALESCE(MAX(id), -1) + 1 FROM nodes")
                node_id, now = node_id.fetchone()[0], self._clock()
                row = schema.insert_node(
                    database,
                    node_id=node_id,
                    parent=parent,
                    commit_sha=sha,
                    kind=kind.value,
                    status=status.value,
                    proposal=proposal,
                    reason=reason,
                    cost_usd=cost_usd,
                    created_at=now,
                    meta=meta,
                )
                if skills is not None and status is NodeStatus.VALID:
                    skill_index.record_node_skills(
                        database, node_id, parent, skills, created_at=now,
                        near_cosine=float(self.config.get("skill_dedup_cosine")
                                          or skill_index.NEAR_DUPLICATE_COSINE),
                    )
                if expansion is not None:
                    schema.insert_expansion(
                        database,
                        parent=parent,
                        child=node_id,
                        status=status.value,
                        finished_at=now,
                        **{"problem_statement": proposal, "reason": reason, **expansion},
                    )
            # Only once the row is committed: a kill before this line leaves a recorded node
            # without its ref, which Run.open recreates from the row.
            self.repo.set_ref(node_id, sha)
        return schema.node_from_row(row)

    def record_failed_expansion(
        self,
        parent: int,
        *,
        problem_statement: str,
        reason: str,
        cost_usd: float,
        started_at: float | None = None,
    ) -> Expansion:
        """Record an expansion attempt that produced no node; its cost is still charged."""
        parent = self.node(parent).id
        with self._write() as database:
            row = schema.insert_expansion(
                database,
                parent=parent,
                child=None,
                status="failed",
                problem_statement=problem_statement,
                reason=reason,
                cost_usd=cost_usd,
                started_at=started_at,
                finished_at=self._clock(),
            )
        return schema.expansion_from_row(row)

    # -- evaluations and logs -------------------------------------------------------------
    def record_evaluation(
        self,
        node: int,
        task_index: int,
        outcome: Outcome,
        *,
        duration_s: float = 0.0,
        cost_usd: float = 0.0,
        trajectory: bytes | str | None = None,
        test_log: bytes | str | None = None,
        reason: str | None = None,
        ref: str | None = None,
        timings: dict[str, float] | None = None,
        skill_usage: SkillUsage | None = None,
    ) -> Evaluation:
        """Record one evaluation; its trajectory and test log become artifacts (by sha256).

        An ``evaluation`` event (id, node, task, outcome, and ``ref``, the scope its LLM calls
        were logged under; ``timings``, where the job's time went, when given) is written in
        the same transaction, so the events account for every evaluation row, even after a
        crash at any instant. The skills it searched, read and ran (``skill_usage``, else
        parsed from the trajectory) go into the skill index in that transaction too.
        """
        node, task_index, outcome = int(node), int(task_index), Outcome(outcome)
        if self.node(node).status is not NodeStatus.VALID:
            raise ArchiveError(f"node {node} is invalid and cannot have evaluations")
        if not 0 <= task_index < len(self.task_ids):
            raise ArchiveError(
                f"task index {task_index} is out of range (0..{len(self.task_ids) - 1})"
            )
        # Blobs first, synced: a row must never name an artifact that is not on disk.
        start = time.perf_counter()
        refs = {
            name: None if data is None else self.store.put(data)
            for name, data in (("trajectory", trajectory), ("test_log", test_log))
        }
        if skill_usage is None and trajectory:
            skill_usage = parse_skill_usage(trajectory if isinstance(trajectory, bytes) else trajectory.encode())
        with self._lock:
            self.recording_s += time.perf_counter() - start
        with self._write() as database:
            row = {
                "node": node,
                "task_index": task_index,
                "task_id": self.task_ids[task_index],
                "outcome": outcome.value,
                "duration_s": float(duration_s),
                "cost_usd": float(cost_usd),
                "reason": reason,
                "created_at": self._clock(),
                **refs,
            }
            row["id"] = database["evaluations"].insert(row).last_pk
            event = {"evaluation": row["id"], "node": node, "task": row["task_id"],
                     "outcome": outcome.value, "ref": ref}
            if timings:
                event["timings"] = dict(timings)
            schema.insert_event(database, "evaluation", event, row["created_at"])
            if skill_usage is not None and skill_index.node_has_skills(database, node):
                skill_index.record_usage(database, row["id"], node, skill_usage)
        return schema.evaluation_from_row(row)

    def log_llm_call(
        self,
        *,
        node: int | None,
        scope_kind: str,
        scope_id: str | None,
        model: str,
        request: dict,
        response: dict | None,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float,
        latency_s: float,
        error: str | None = None,
    ) -> int:
        """Record one LLM call (request and response as JSON) and return its id."""
        with self._write() as database:
            return (
                database["llm_calls"]
                .insert(
                    {
                        "node": None if node is None else int(node),
                        "scope_kind": scope_kind,
                        "scope_id": scope_id,
                        "model": model,
                        "request": json.dumps(request),
                        "response": None if response is None else json.dumps(response),
                        "prompt_tokens": int(prompt_tokens),
                        "completion_tokens": int(completion_tokens),
                        "cost_usd": float(cost_usd),
                        "latency_s": float(latency_s),
                        "error": error,
                        "created_at": self._clock(),
                    }
                )
                .last_pk
            )

    def update_config(self, config: dict) -> None:
        """Replace config.yaml (written durably) with ``config``; a resume that changes a
        setting calls this, and logs the change as an event."""
        self._check_writable()
        with self._lock:
            _write_file_durably(self.path / CONFIG, yaml.safe_dump(config, sort_keys=False))
            self.config = dict(config)

    def log_event(self, kind: str, data: dict) -> None:
        """Record a run event (started, resumed, stopped, repaired, ...) with JSON data."""
        with self._write() as database:
            schema.insert_event(database, kind, data, self._clock())

    # -- reading --------------------------------------------------------------------------
    def nodes(self) -> list[Node]:
        return [schema.node_from_row(r) for r in self._rows("SELECT * FROM nodes ORDER BY id")]

    def node(self, node_id: int) -> Node:
        rows = self._rows("SELECT * FROM nodes WHERE id = ?", (int(node_id),))
        if not rows:
            raise ArchiveError(f"node {node_id} does not exist in {self.path}")
        return schema.node_from_row(rows[0])

    def evaluations(self, node: int | None = None) -> list[Evaluation]:
        where, params = ("WHERE node = ?", (int(node),)) if node is not None else ("", ())
        rows = self._rows(f"SELECT * FROM evaluations {where} ORDER BY id", params)
        return [schema.evaluation_from_row(r) for r in rows]

    def expansions(self) -> list[Expansion]:
        rows = self._rows("SELECT * FROM expansions ORDER BY id")
        return [schema.expansion_from_row(r) for r in rows]

    def llm_calls(self, node: int | None = None) -> list[dict]:
        where, params = ("WHERE node = ?", (int(node),)) if node is not None else ("", ())
        rows = self._rows(f"SELECT * FROM llm_calls {where} ORDER BY id", params)
        return [schema.json_row(r, "request", "response") for r in rows]

    def events(self, kinds: tuple[str, ...] | None = None) -> list[dict]:
        """The run's events in order; only those of ``kinds`` when given."""
        where, params = "", ()
        if kinds is not None:
            where, params = f"WHERE kind IN ({','.join('?' * len(kinds))})", tuple(kinds)
        rows = self._rows(f"SELECT * FROM events {where} ORDER BY id", params)
        return [schema.json_row(r, "data") for r in rows]

    def totals(self) -> dict:
        """Counts and money spent so far.

        ``cost_usd`` is the sum of every evaluation's and every expansion's (valid,
        invalid and failed) ``cost_usd``, plus LLM calls outside those records: calls whose
        ``scope_kind`` is in :data:`RECORD_SCOPES` ("evaluation", "expansion", and "diagnosis",
        whose calls the expansion they diagnose for is charged) are taken to be included in
        the cost their record states, so they are not added again. Node rows'
        ``cost_usd`` is descriptive and not added (it repeats its expansion's).
        ``cost_breakdown`` gives each part, and ``llm_cost_usd`` all LLM calls together.
        """
        with self._lock:
            return schema.totals(self._conn(), RECORD_SCOPES)

    def query(self, sql: str, params: tuple = ()) -> list[dict]:
        """Rows of one read-only SQL query, for viewers' aggregates (the web page's "what
        changed since", cost series); a read-only run refuses anything but reading."""
        return self._rows(sql, params)

    @contextmanager
    def reading(self) -> Iterator[sqlite_utils.Database]:
        """The run's database under its lock, for readers that take a ``sqlite_utils.Database``
        (hgm.skills.library) from threads that share this Run (the web server)."""
        with self._lock:
            yield self._conn()

    def query_tuples(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Like :meth:`query`, as plain tuples (cheaper for large aggregates)."""
        with self._lock:
            return self._conn().execute(sql, params).fetchall()

    def tree_stats(self) -> TreeStats:
        """Rebuild the search statistics by replaying nodes, failed expansions and evaluations."""
        failed = [e.parent for e in self.expansions() if e.status == "failed"]
        return replay(len(self.task_ids), self.task_order, self.nodes(), self.evaluations(), failed)

    # -- files ----------------------------------------------------------------------------
    def artifact(self, ref: str) -> bytes:
        """The bytes of an artifact named by an evaluation's trajectory or test_log ref."""
        return self.store.get(ref)

    def checkout(self, node: int, dest: Path) -> Path:
        """Write node ``node``'s files into ``dest`` (absent or empty) and return it."""
        return self.repo.checkout(self.node(node).commit, dest)

    def diff(self, node: int, against: int) -> str:
        """The git diff that turns node ``against`` into node ``node``."""
        return self.repo.diff(self.node(against).commit, self.node(node).commit)

    # -- crash repair ---------------------------------------------------------------------
    def _repair(self) -> None:
        """Bring refs in line with hgm.db, drop temporary files, index node 0's skills if a
        kill (or an older hgm) left them out, and log what was fixed."""
        with self._lock:
            done = repair({n.id: n.commit for n in self.nodes()}, self.repo, self.store, self.path)
            if self._seed_unindexed():
                with tempfile.TemporaryDirectory(prefix="hgm-seed-") as tmp:
                    entries = skill_index.entries_from_tree(self.checkout(0, Path(tmp) / "seed"))
                if entries:
                    self._index_seed(entries)
                    done["seed_skills_indexed"] = [e.name for e in entries]
            if done:
                self.log_event("repaired", done)

    def fill_skill_embeddings(self, embedder: object) -> int:
        """Embed indexed skills that have none yet (node 0's are indexed before the run's
        embedding model is loaded) with the run's ``embedder``; returns how many."""
        with self._write() as database:
            return skill_index.fill_embeddings(database, embedder)

    def _index_seed(self, skills: list[skill_index.SkillEntry]) -> None:
        with self._write() as database:
            skill_index.record_node_skills(database, 0, None, skills, created_at=self._clock())

    def _seed_unindexed(self) -> bool:
        if self._rows("SELECT 1 FROM node_skills WHERE node = 0 LIMIT 1"):
            return False
        out = self.repo.git("cat-file", "--batch-check=%(objecttype)",
                            input=f"{self.node(0).commit}:skills\n".encode()).stdout
        return out.decode().strip() == "tree"


def read_config(path: Path) -> dict:
    """The settings in ``path``/config.yaml; ArchiveError, on one line, when it is not a
    readable YAML mapping."""
    from hgm.config import ConfigError, read_config_file

    try:
        return read_config_file(Path(path) / CONFIG)
    except ConfigError as e:
        raise ArchiveError(str(e)) from None


def _check_new_run(
    path: Path, seed_tree: Path, task_ids: list[str], task_order: list[int] | None
) -> list[int]:
    """Refuse a bad ``Run.create`` before anything is written; return the task order."""
    # The driver lock is taken before the run is made, so it may be there already.
    if path.exists() and (not path.is_dir() or any(p.name != LOCK for p in path.iterdir())):
        raise ArchiveError(f"cannot create a run at {path}: it exists and is not empty")
    if not Path(seed_tree).is_dir():
        raise ArchiveError(f"seed tree {seed_tree} is not a directory")
    if len(set(task_ids)) != len(task_ids):
        raise ValueError("task_ids must be unique")
    order = list(range(len(task_ids))) if task_order is None else [int(i) for i in task_order]
    if sorted(order) != list(range(len(task_ids))):
        raise ValueError("task_order must be a permutation of range(len(task_ids))")
    return order


def _empty_dir(path: Path) -> None:
    for child in path.iterdir():
        if child.name != LOCK:  # held by the driver that is making the run
            shutil.rmtree(child) if child.is_dir() else child.unlink()
