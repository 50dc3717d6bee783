"""Jobs that travel: what an evaluation or expansion needs on a Ray worker node, and back.

On the driver, :class:`RayWorker` builds :class:`RemoteJob`\\ s instead of closures: a job
spec (plain frozen dataclasses), the agent's tree at its commit and the task's files as
compressed tarballs in the object store, and a ``finish`` step that turns what comes back into
the result the loop records (an expansion's child tree is committed here, on the driver, the
only writer of the archive). On a worker node, :func:`run_on_node` unpacks the bundles, runs
the job in the node's own sandbox, with the gateway reached through the node's relay
(:mod:`hgm.executor.ray_relay`), and packs the child's tree for the way back.

Nothing in a spec holds a key: only the job's scoped tokens, revoked when the job ends.
"""

from __future__ import annotations

import dataclasses
import io
import tarfile
import tempfile
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hgm.gateway import Scope
from hgm.jobs import Worker
from hgm.jobs.evaluation import AgentLimits, Bounds, EvalResult
from hgm.jobs.expansion import ExpansionResult, FailureCase, InfrastructureError
from hgm.jobs.skill_expansion import SkillPlan, SkillSettings
from hgm.scratch import prefix as scratch_prefix
from hgm.types import Task

TASK_FILE = "task.toml"  # a dir benchmark's task spec, next to its tests (hgm.bench.dirbench)


# -- bundles -------------------------------------------------------------------------------
def pack(folders: dict[str, Path]) -> bytes:
    """The folders as one gzipped tarball, each under its name (a file is packed as itself)."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz", compresslevel=1) as tar:
        for name, path in folders.items():
            tar.add(str(path), arcname=name)
    return data.getvalue()


def unpack(bundle: bytes, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:gz") as tar:
        tar.extractall(dest, filter="tar")
    return dest


def task_bundle(task: Task) -> bytes:
    """The task's workspace and hidden tests (with a dir task's task.toml beside them)."""
    folders = {"workspace": task.workspace, "task/tests": task.tests}
    spec = Path(task.tests).parent / TASK_FILE
    if spec.is_file():
        folders["task/" + TASK_FILE] = spec
    return pack(folders)


def task_on_node(task: Task, root: Path) -> Task:
    """``task`` with its files where :func:`task_bundle`'s tarball was unpacked."""
    return dataclasses.replace(task, workspace=root / "workspace", tests=root / "task" / "tests")


# -- specs: what travels ------------------------------------------------------------------
@dataclass(frozen=True)
class NodeSetup:
    """What every job needs on a node: its sandbox spec and where the driver's gateway is."""

    sandbox: str
    gateway_host: str
    gateway_port: int


@dataclass(frozen=True)
class EvalSpec:
    node: int
    task: Task
    token: str
    model: str
    limits: AgentLimits
    test_time_limit_s: float
    bounds: Bounds


@dataclass(frozen=True)
class ExpandSpec:
    parent: int
    failure: FailureCase | None
    tokens: dict[str, str]  # scope kind -> token (expansion, diagnosis)
    ref: str
    model: str
    limits: AgentLimits
    self_check_time_limit_s: float
    bounds: Bounds


@dataclass(frozen=True)
class SkillSpec:
    plan: SkillPlan
    token: str
    ref: str
    model: str
    settings: SkillSettings


@dataclass(frozen=True)
class JobFailed:
    """A job that raised on its node; ``infrastructure`` when it was an InfrastructureError."""

    message: str
    infrastructure: bool


@dataclass(frozen=True)
class ChildBack:
    """An expansion's result on its way back: the child's tree as a tarball."""

    result: ExpansionResult
    tree: bytes | None


# -- on the worker node -------------------------------------------------------------------
_node_lock = threading.Lock()
_sandboxes: dict[str, Any] = {}
_relays: dict[tuple[str, int], Any] = {}


def node_sandbox(spec: str):
    """This worker process's sandbox for ``spec`` (opened once)."""
    from hgm.sandbox import get_sandbox

    with _node_lock:
        if spec not in _sandboxes:
            _sandboxes[spec] = get_sandbox(spec)
        return _sandboxes[spec]


def node_relay(host: str, port: int):
    """This worker process's relay to the driver's gateway (started once)."""
    from hgm.executor.ray_relay import NodeRelay

    with _node_lock:
        if (host, port) not in _relays:
            _relays[host, port] = NodeRelay(host, port)
        return _relays[host, port]


def run_on_node(setup: NodeSetup, spec: EvalSpec | ExpandSpec | SkillSpec, agent: bytes,
                task: bytes | None = None) -> EvalResult | ChildBack | JobFailed:
    """Run one job on this node; every exception comes back as a :class:`JobFailed`."""
    try:
        sandbox = node_sandbox(setup.sandbox)
        relay = node_relay(setup.gateway_host, setup.gateway_port)
        with tempfile.TemporaryDirectory(prefix=scratch_prefix("ray")) as tmp:
            agent_dir = unpack(agent, Path(tmp) / "agent")
            if isinstance(spec, EvalSpec):
                return _evaluate(sandbox, relay.socket_path, spec, agent_dir, unpack(task, Path(tmp) / "task"))
            return _expand(sandbox, relay.socket_path, spec, agent_dir, Path(tmp) / "child")
    except InfrastructureError as e:
        return JobFailed(str(e), True)
    except Exception as e:  # noqa: BLE001 - recorded by the driver like a local job's failure
        return JobFailed(f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}", False)


def _evaluate(sandbox, socket: Path, spec: EvalSpec, agent_dir: Path, task_root: Path) -> EvalResult:
    from hgm.jobs.evaluation import evaluate

    if not (agent_dir / "run_agent.py").is_file():
        raise InfrastructureError(f"the checkout of node {spec.node} has no run_agent.py")
    return evaluate(sandbox, agent_dir, task_on_node(spec.task, task_root), token=spec.token,
                    model=spec.model, gateway_socket=socket, limits=spec.limits,
                    test_time_limit_s=spec.test_time_limit_s, budget_exhausted=lambda: False,
                    bounds=spec.bounds)


def _expand(sandbox, socket: Path, spec: ExpandSpec | SkillSpec, parent_dir: Path, dest: Path) -> ChildBack:
    from hgm.executor.ray_relay import RelayGateway
    from hgm.jobs.expansion import expand
    from hgm.jobs.skill_expansion import expand_skill

    if isinstance(spec, ExpandSpec):
        gateway = RelayGateway(socket, spec.tokens)
        dest.mkdir()
        result = expand(sandbox, gateway, parent_dir, spec.failure, dest, model=spec.model,
                        scope=Scope(kind="expansion", node=spec.parent, ref=spec.ref), token=spec.tokens["expansion"],
                        limits=spec.limits, self_check_time_limit_s=spec.self_check_time_limit_s,
                        bounds=spec.bounds)
    else:
        # No embedding model on the node: a new skill's near-duplicate check compares word
        # counts; the driver embeds its index entries when the result comes back.
        gateway = RelayGateway(socket, {"expansion": spec.token})
        result = expand_skill(sandbox, gateway, parent_dir, spec.plan, dest, model=spec.model,
                              scope=Scope(kind="expansion", node=spec.plan.parent, ref=spec.ref),
                              settings=spec.settings, embedder=None)
    tree = pack({".": result.tree}) if result.tree is not None else None
    return ChildBack(dataclasses.replace(result, tree=None), tree)


# -- on the driver ------------------------------------------------------------------------
@dataclass(frozen=True)
class RemoteJob:
    """One job for :class:`~hgm.executor.ray.RayExecutor`: ``spec`` and ``bundles`` travel
    (bundles are object-store references), ``finish`` runs on the driver with what came back."""

    spec: EvalSpec | ExpandSpec | SkillSpec
    bundles: tuple
    finish: Callable[[Any], Any]


class RayWorker(Worker):
    """A :class:`~hgm.jobs.Worker` whose jobs run on Ray worker nodes.

    ``put`` stores bytes in the object store (``ray.put``); agent trees are kept there per node
    (a few dozen, least recently used first out), task bundles per task.
    """

    def __init__(self, base: Worker, put: Callable[[bytes], Any], keep_trees: int = 64):
        super().__init__(base.run, base.sandbox, base.gateway, base.ledger, base.tasks, base.settings,
                         base.run_embedder)
        self._put, self._keep = put, keep_trees
        self._trees: OrderedDict[int, Any] = OrderedDict()
        self._task_refs: dict[int, Any] = {}
        self._extra: dict[str, str] = {}  # ref -> the diagnosis token of an expansion
        self._lock = threading.Lock()

    def end(self, token: str, ref: str):
        extra = self._extra.pop(ref, None)
        if extra is not None:
            self.gateway.revoke(extra)
        return super().end(token, ref)

    def tree_ref(self, node: int):
        with self._lock:
            if node in self._trees:
                self._trees.move_to_end(node)
                return self._trees[node]
        with tempfile.TemporaryDirectory(prefix=scratch_prefix("bundle")) as tmp:
            ref = self._put(pack({".": self.run.checkout(node, Path(tmp) / "agent")}))
        with self._lock:
            self._trees[node] = ref
            while len(self._trees) > self._keep:
                self._trees.popitem(last=False)
        return ref

    def task_ref(self, index: int):
        with self._lock:
            if index not in self._task_refs:
                self._task_refs[index] = self._put(task_bundle(self.tasks[index]))
            return self._task_refs[index]

    def evaluation_job(self, node: int, task_index: int, token: str) -> RemoteJob:
        task, s = self.tasks[task_index], self.settings
        limits = AgentLimits(s.agent_max_steps, s.eval_time_limit_s or task.time_limit_s, s.memory_mb)
        spec = EvalSpec(node, task, token, s.model, limits, s.test_time_limit_s, s.bounds)
        return RemoteJob(spec, (self.tree_ref(node), self.task_ref(task_index)), _returned)

    def expansion_job(self, parent: int, failure: FailureCase | None, token: str, ref: str) -> RemoteJob:
        s = self.settings
        diagnosis = self.gateway.issue_token(Scope(kind="diagnosis", node=parent, ref=ref,
                                                   task=failure.task if failure else None))
        self._extra[ref] = diagnosis
        spec = ExpandSpec(parent, failure, {"expansion": token, "diagnosis": diagnosis}, ref, s.model,
                          AgentLimits(s.agent_max_steps, s.expansion_time_limit_s, s.memory_mb),
                          s.self_check_time_limit_s, s.bounds)
        return RemoteJob(spec, (self.tree_ref(parent),), lambda back: self._child(parent, back))

    def skill_job(self, plan: SkillPlan, ref: str) -> RemoteJob:
        s = self.settings
        token = self.gateway.issue_token(Scope(kind="expansion", node=plan.parent, ref=ref))
        self._extra[ref] = token
        spec = SkillSpec(plan, token, ref, s.model,
                         SkillSettings(s.self_check_time_limit_s, s.memory_mb, s.skill_dedup_cosine, s.bounds))
        return RemoteJob(spec, (self.tree_ref(plan.parent),), lambda back: self._child(plan.parent, back))

    def _child(self, parent: int, back: Any) -> ExpansionResult:
        back = _returned(back)
        if back.tree is None:
            return back.result
        dest = unpack(back.tree, Path(tempfile.mkdtemp(prefix=scratch_prefix("child"))))
        result = dataclasses.replace(back.result, tree=dest)
        if result.skills:  # a skill child's entries, made on a node without the embedding model
            result = dataclasses.replace(result, skills=self._embedded(result.skills))
        return self._committed(parent, dest, result)

    def _embedded(self, entries: tuple) -> tuple:
        """The index entries with their search text embedded by the run's model (if any)."""
        import numpy as np

        embedder = self.embedder()
        if embedder is None:
            return entries
        vectors = embedder.embed([e.search_text for e in entries])
        return tuple(dataclasses.replace(e, embedding=np.asarray(v, np.float32).tobytes(),
                                         embedding_model=embedder.model_id)
                     for e, v in zip(entries, vectors, strict=True))


def _returned(value: Any) -> Any:
    """What a node sent back, or the exception its failure stands for."""
    if isinstance(value, JobFailed):
        raise InfrastructureError(value.message) if value.infrastructure else RuntimeError(value.message)
    return value
