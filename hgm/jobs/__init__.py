"""The work a run dispatches: evaluations and expansions, packaged as callables for executors.

:class:`Worker` holds the collaborators a job needs (sandbox, gateway, tasks, the archive to
check out agent trees from) and builds one job per dispatch. Jobs only return results; the
loop records them. :class:`CostLedger` sits between the gateway and the archive: it logs
every LLM call and sums the dollars per scope, so each recorded evaluation or expansion
carries exactly the cost of its own calls.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hgm.archive import Run
from hgm.gateway import Gateway, LLMCall, Scope
from hgm.jobs.evaluation import AgentLimits, Bounds, EvalResult, evaluate
from hgm.jobs.expansion import (
    ExpansionResult,
    FailureCase,
    InfrastructureError,
    expand,
    failure_from_records,
)
from hgm.jobs.skill_expansion import (
    AdoptChoice,
    SkillPlan,
    SkillSettings,
    SuccessCase,
    expand_skill,
)
from hgm.sandbox import Sandbox
from hgm.scratch import prefix as scratch_prefix
from hgm.skills.embed import Embedder
from hgm.types import Outcome, Task


@dataclass(frozen=True)
class Charge:
    """What a finished job's LLM calls amounted to."""

    cost_usd: float = 0.0
    model_errors: tuple[str, ...] = ()  # calls the model or gateway failed (not the agent's bad requests)


class CostLedger:
    """The gateway's recorder: logs each call to the archive and sums cost per scope ref.

    It also notes calls that failed on the model's or gateway's side (provider errors after
    retries, timeouts, auth, the budget), so that a job the model let down is retried as an
    infrastructure error instead of being counted as the agent's failure. Calls refused for
    what the agent sent (``LLMCall.agent_error``) are not noted: they are the agent's result.
    """

    def __init__(self, run: Run):
        self._run = run
        self._lock = threading.Lock()
        self._by_ref: dict[str, float] = defaultdict(float)
        self._errors: dict[str, list[str]] = defaultdict(list)

    def record(self, call: LLMCall) -> None:
        self._run.log_llm_call(
            node=call.scope.node, scope_kind=call.scope.kind, scope_id=call.scope.ref,
            model=call.model, request=call.request, response=call.response,
            prompt_tokens=call.prompt_tokens, completion_tokens=call.completion_tokens,
            cost_usd=call.cost_usd, latency_s=call.latency_s, error=call.error,
        )
        with self._lock:
            self._by_ref[call.scope.ref or ""] += call.cost_usd
            # A request the agent got wrong (malformed, too big, refused by the provider as
            # invalid) is its own failure, in its trajectory; only the rest can make an error.
            if call.error and not call.agent_error:
                self._errors[call.scope.ref or ""].append(call.error)

    def pop(self, ref: str) -> Charge:
        with self._lock:
            return Charge(self._by_ref.pop(ref, 0.0), tuple(self._errors.pop(ref, ())))


@dataclass(frozen=True)
class Started:
    kind: str
    node: int
    task: int | None
    token: str
    ref: str
    started_at: float


@dataclass(frozen=True)
class WorkerSettings:
    model: str
    agent_max_steps: int = 30
    eval_time_limit_s: float | None = None
    expansion_time_limit_s: float = 900
    self_check_time_limit_s: float = 120
    test_time_limit_s: float = 120
    memory_mb: int = 2048
    bounds: Bounds = dataclasses.field(default_factory=Bounds)
    """Caps on what an agent leaves behind (trajectory, logs, workspace, its own source)."""
    skill_dedup_cosine: float = 0.9


class Worker:
    """Builds evaluation and expansion jobs for the loop."""

    def __init__(self, run: Run, sandbox: Sandbox, gateway: Gateway, ledger: CostLedger,
                 tasks: list[Task], settings: WorkerSettings, embedder: Embedder | None = None):
        """``embedder``: the run's one embedding model (the one its gateway serves), which
        embeds new skills for dedup and the index; None: dedup compares word counts."""
        self.run, self.sandbox, self.gateway, self.ledger = run, sandbox, gateway, ledger
        self.tasks, self.settings = tasks, settings
        self.run_embedder = embedder
        self._embedder: Embedder | None = None
        self._embedder_tried = False
        self._embedder_lock = threading.Lock()

    # -- bookkeeping around a job -------------------------------------------------------
    def begin(self, kind: str, node: int, task: int | None, now: float) -> Started:
        ref = f"{kind}-{uuid.uuid4().hex[:12]}"
        task_id = self.tasks[task].id if task is not None else None
        token = self.gateway.issue_token(Scope(kind=kind, node=node, ref=ref, task=task_id))
        return Started(kind, node, task, token, ref, now)

    def end(self, token: str, ref: str) -> Charge:
        """Revoke the job's token and return what its LLM calls cost."""
        self.gateway.revoke(token)
        return self.ledger.pop(ref)

    # -- jobs ---------------------------------------------------------------------------
    def evaluation_job(self, node: int, task_index: int, token: str) -> Callable[[], EvalResult]:
        task, s = self.tasks[task_index], self.settings
        limits = AgentLimits(s.agent_max_steps, s.eval_time_limit_s or task.time_limit_s, s.memory_mb)

        def job() -> EvalResult:
            with tempfile.TemporaryDirectory(prefix=scratch_prefix("agent")) as tmp:
                agent = self.run.checkout(node, Path(tmp) / "agent")
                if not (agent / "run_agent.py").is_file():  # nothing could run: not the agent's fail
                    raise InfrastructureError(f"the checkout of node {node} has no run_agent.py")
                return evaluate(
                    self.sandbox, agent, task, token=token, model=s.model,
                    gateway_socket=self.gateway.socket_path, limits=limits,
                    test_time_limit_s=s.test_time_limit_s,
                    budget_exhausted=lambda: self.gateway.budget_exhausted, bounds=s.bounds,
                )

        return job

    def expansion_job(self, parent: int, failure: FailureCase | None, token: str, ref: str) -> Callable[[], ExpansionResult]:
        s = self.settings
        limits = AgentLimits(s.agent_max_steps, s.expansion_time_limit_s, s.memory_mb)

        def job() -> ExpansionResult:
            dest = Path(tempfile.mkdtemp(prefix=scratch_prefix("child")))  # removed by the loop once recorded
            try:
                with tempfile.TemporaryDirectory(prefix=scratch_prefix("parent")) as tmp:
                    parent_dir = self.run.checkout(parent, Path(tmp) / "agent")
                    result = expand(
                        self.sandbox, self.gateway, parent_dir, failure, dest,
                        model=s.model, scope=Scope(kind="expansion", node=parent, ref=ref),
                        token=token, limits=limits,
                        self_check_time_limit_s=s.self_check_time_limit_s, bounds=s.bounds,
                    )
            except BaseException:
                shutil.rmtree(dest, ignore_errors=True)
                raise
            return self._committed(parent, dest, result)

        return job

    def _committed(self, parent: int, dest: Path, result: ExpansionResult) -> ExpansionResult:
        """The result with its child written as a commit (off the driver's thread) and its
        skills read for the index; ``dest`` is removed."""
        if result.tree is None:
            shutil.rmtree(dest, ignore_errors=True)
            return result
        try:
            skills = result.skills
            if skills is None and result.valid:
                from hgm.skills.index import entries_from_tree

                # Unchanged skills hit the run's embedding cache; new ones are embedded once.
                skills = tuple(entries_from_tree(dest, embedder=self.embedder()))
            sha = self.run.prepare_commit(parent, dest, result.problem_statement)
        finally:
            shutil.rmtree(dest, ignore_errors=True)
        return dataclasses.replace(result, tree=None, commit=sha, skills=skills)

    # -- skill expansions (hgm.jobs.skill_expansion) -------------------------------------
    def plan_skill(self, node: int, rng: np.random.Generator) -> SkillPlan | None:
        """Distil from a passing run in the node's clade, or adopt another lineage's most
        relevant verified skill (a coin flip when both can be done); None when neither can."""
        passes = self.run.query(
            "WITH RECURSIVE clade(id) AS (SELECT ? UNION ALL SELECT n.id FROM nodes n "
            "JOIN clade c ON n.parent = c.id) SELECT e.node, e.task_index, e.trajectory "
            "FROM evaluations e WHERE e.node IN clade AND e.outcome = 'pass' "
            "AND e.trajectory IS NOT NULL ORDER BY e.id", (node,))
        candidates = self.run.query(
            "SELECT id, name, node, search_text FROM skills WHERE verified = 1 AND name NOT IN "
            "(SELECT name FROM node_skills WHERE node = ?) ORDER BY id", (node,))
        if not passes and not candidates:
            return None
        if candidates and (not passes or rng.random() < 0.5):
            return SkillPlan(node, adopt=self._adopt_choice(node, candidates))
        e = passes[int(rng.integers(len(passes)))]
        task = self.tasks[e["task_index"]]
        text = self.run.artifact(e["trajectory"]).decode(errors="replace")
        return SkillPlan(node, success=SuccessCase(e["node"], task.id, task.instructions, text))

    def _adopt_choice(self, node: int, candidates: list[dict]) -> AdoptChoice:
        """The candidate most relevant to the node's failed tasks (SkillCatalog: embedding
        cosine, or BM25), ties to the oldest."""
        from hgm.skills.library import CATALOG_SQL, catalog_of, skill_files

        failed = self.run.query("SELECT DISTINCT task_index FROM evaluations WHERE node = ? "
                                "AND outcome = 'fail' ORDER BY task_index LIMIT 5", (node,))
        query = "\n".join(self.tasks[r["task_index"]].instructions for r in failed)
        by_id = {c["id"]: c for c in candidates}
        rows = self.run.query(CATALOG_SQL.format(",".join("?" * len(by_id))), tuple(by_id))
        catalog = catalog_of(rows, self.embedder())
        hits = catalog.search(query, k=1) if query else []
        c, score = (by_id[hits[0].key], hits[0].score) if hits else (candidates[0], 0.0)
        files = skill_files(self.run.repo, self.run.node(c["node"]).commit, c["name"])
        return AdoptChoice(c["id"], c["name"], c["node"], {k: v.encode() for k, v in files.items()},
                           float(score))

    def skill_job(self, plan: SkillPlan, ref: str) -> Callable[[], ExpansionResult]:
        s = self.settings
        settings = SkillSettings(s.self_check_time_limit_s, s.memory_mb, s.skill_dedup_cosine, s.bounds)

        def job() -> ExpansionResult:
            dest = Path(tempfile.mkdtemp(prefix=scratch_prefix("child")))
            try:
                with tempfile.TemporaryDirectory(prefix=scratch_prefix("parent")) as tmp:
                    parent_dir = self.run.checkout(plan.parent, Path(tmp) / "agent")
                    shutil.rmtree(dest)
                    result = expand_skill(
                        self.sandbox, self.gateway, parent_dir, plan, dest, model=s.model,
                        scope=Scope(kind="expansion", node=plan.parent, ref=ref),
                        settings=settings, embedder=self.embedder(),
                    )
            except BaseException:
                shutil.rmtree(dest, ignore_errors=True)
                raise
            return self._committed(plan.parent, dest, result)

        return job

    def embedder(self) -> Embedder | None:
        """The run's embedding model, probed on first use (None when there is none or it cannot
        load: dedup then compares word counts)."""
        with self._embedder_lock:
            if not self._embedder_tried and self.run_embedder is not None:
                self._embedder_tried = True
                try:
                    self.run_embedder.embed(["probe"])  # an unavailable backend raises here
                    self._embedder = self.run_embedder
                except Exception:  # noqa: BLE001 - a missing optional model: fall back to words
                    self._embedder = None
                if self._embedder is not None:  # the seed's skills, indexed before it loaded
                    self.run.fill_skill_embeddings(self._embedder)
            return self._embedder

    def pick_failure(self, node: int, rng: np.random.Generator) -> FailureCase | None:
        """One of the node's failed evaluations, at random, for the diagnosis."""
        failed = [e for e in self.run.evaluations(node) if e.outcome is Outcome.FAIL]
        if not failed:
            return None
        e = failed[int(rng.integers(len(failed)))]
        task = self.tasks[e.task_index]
        trajectory = self.run.artifact(e.trajectory) if e.trajectory else None
        test_log = self.run.artifact(e.test_log) if e.test_log else None
        return failure_from_records(task.instructions, task.id, trajectory, test_log)
