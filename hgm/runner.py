"""Assemble a run from its config: the one place that builds collaborators from specs.

`hgm run` calls :func:`start_run`; everything below it takes its collaborators as parameters.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.console import Console

from hgm.config import ConfigError, RunConfig
from hgm.preflight import PreflightError, preflight, priced_backend
from hgm.scratch import prefix as scratch_prefix
from hgm.scratch import reap as reap_scratch
from hgm.session import STOP_KIND_EXIT, ExitCode, RunPlan, failed_event, start_event, stop_event
from hgm.types import Task

if TYPE_CHECKING:
    from hgm.sandbox import Sandbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutcome:
    path: Path
    stop_reason: str
    interrupted: bool
    abandoned: int
    kind: str = "finished"
    """The loop's kind of stop: finished, errors or interrupted (see hgm.session.ExitCode)."""

    @property
    def exit_code(self) -> ExitCode:
        return STOP_KIND_EXIT.get(self.kind, ExitCode.FINISHED)


def seed_agent_dir(config: RunConfig) -> Path:
    if config.seed_agent is not None:
        if not (config.seed_agent / "run_agent.py").is_file():
            raise ConfigError(f"seed_agent {config.seed_agent}: no run_agent.py in it")
        return config.seed_agent
    return Path(str(resources.files("hgm").joinpath("seed_agent")))


def node0_tree(config: RunConfig, scratch: Path) -> Path:
    """Node 0's source tree: a user's ``seed_agent`` as it is (its own skills/, if any); hgm's
    own seed agent copied under ``scratch`` with the starter skills in its skills/
    (docs/skills.md, "The starter library")."""
    seed = seed_agent_dir(config)
    if config.seed_agent is not None:
        return seed
    from hgm.skills.starter import seed_tree_with_skills, starter_skill_folders

    tree = scratch / "seed_agent"
    seed_tree_with_skills(seed, tree, starter_skill_folders())
    return tree


def _tasks(spec: str) -> list[Task]:
    from hgm.bench import BenchmarkError, get_benchmark

    try:
        tasks = get_benchmark(spec).tasks()
    except (BenchmarkError, ValueError, KeyError) as e:
        raise ConfigError(str(e)) from None
    if not tasks:
        raise ConfigError(f"benchmark {spec!r} has no tasks")
    return tasks


def open_or_create(config: RunConfig, out: Path, resume: bool, tasks: list[Task], sandbox: Sandbox | None = None):
    """The run's archive: reopened when resuming (tasks must match), else created.

    The caller holds the run's driver lock. A run that cannot be opened or made (not a run,
    a non-empty folder, from a newer hgm, an imported skill that fails verification) is bad
    input: ConfigError. ``sandbox`` verifies skills imported with ``config.skills_from``
    (default: one made from ``config.sandbox`` for the purpose); when it fails: PreflightError.
    """
    from hgm.archive import ArchiveError, Run
    from hgm.archive.run import clear_half_made, half_made

    ids = [t.id for t in tasks]
    if resume and half_made(out):
        # Killed while the run was being made: nothing was done in it, so make it again from
        # its config.yaml (the plan's config), rather than refuse it as "not a run".
        log.warning("%s was left half-made by a killed driver; making it again", out)
        clear_half_made(out)
        resume = False
    if resume:
        try:
            run = Run.open(out)
        except ArchiveError as e:
            raise ConfigError(str(e)) from None
        if run.task_ids != ids:
            run.close()
            raise ConfigError(
                f"{out} was run on a different task list than benchmark {config.benchmark!r} "
                "gives now; resume with the benchmark it was created with"
            )
        return run
    order = np.random.default_rng(config.seed).permutation(len(ids)).tolist()
    try:
        with tempfile.TemporaryDirectory(prefix=scratch_prefix("seed")) as scratch:
            tree, skills = node0_tree(config, Path(scratch)), None
            if config.skills_from:
                tree, skills = _with_imported_skills(config, tree, Path(scratch), sandbox)
            return Run.create(out, tree, config=config.model_dump(mode="json"), task_ids=ids,
                              task_order=order, skills=skills)
    except ArchiveError as e:
        raise ConfigError(str(e)) from None


def _with_imported_skills(config: RunConfig, tree: Path, scratch: Path, sandbox: Sandbox | None):
    """Node 0's tree with the skills of ``config.skills_from`` (hgm.skills.transfer), each
    verified again in ``sandbox``, and its index entries with their provenance."""
    from hgm.sandbox import get_sandbox
    from hgm.skills.transfer import (
        Reverify,
        TransferError,
        TransferSandboxError,
        import_skills,
        seed_entries,
    )

    if tree == config.seed_agent:  # a user's seed is used as it is: import into a copy
        tree = Path(shutil.copytree(tree, scratch / "seed_with_skills"))
    with ExitStack() as stack:
        if sandbox is None:
            sandbox = get_sandbox(config.sandbox)
            stack.callback(sandbox.close)
        reverify = Reverify(sandbox, timeout_s=config.self_check_time_limit_s, memory_mb=config.memory_mb)
        try:
            imported = import_skills(config.skills_from, tree, reverify)
        except TransferError as e:
            raise ConfigError(str(e)) from None
        except TransferSandboxError as e:
            raise PreflightError(str(e)) from None
    return tree, seed_entries(tree, imported)


@dataclass(frozen=True)
class Parts:
    """The collaborators a run's specs name, built (and so checked) before anything is written."""

    model: str
    tasks: list[Task]
    policy: object
    backend: object
    sandbox: object


def build_parts(config: RunConfig) -> Parts:
    """Build policy, model backend, benchmark and sandbox from their specs; ConfigError
    names the first that is wrong. The caller closes ``sandbox``."""
    from hgm.executor import check_executor_spec
    from hgm.gateway import get_backend
    from hgm.sandbox import get_sandbox
    from hgm.search import get_policy

    model = config.resolved_model()
    try:
        policy = get_policy(config.policy)
        check_executor_spec(config.executor)
        backend = get_backend(model)
        backend = priced_backend(backend, config)  # refuses --max-usd on an unpriced model
    except (ValueError, ImportError) as e:
        raise ConfigError(str(e)) from None
    tasks = _tasks(config.benchmark)
    try:
        sandbox = get_sandbox(config.sandbox)
    except (ValueError, ImportError) as e:
        raise ConfigError(str(e)) from None
    return Parts(model, tasks, policy, backend, sandbox)


def start_run(plan: RunPlan, *, console: Console) -> RunOutcome:
    """Run (or resume) evolution as planned, showing live progress on ``console``.

    Everything the specs name is built first, so bad input is refused before the run folder
    is announced or touched. Then the run's driver lock is taken (RunLocked if another
    process drives it), the session is recorded as an event, and the search runs.
    """
    parts = build_parts(plan.config)
    with ExitStack() as stack:
        stack.callback(parts.sandbox.close)
        console.print(f"run folder: [bold]{plan.out}[/]")
        config = plan.config
        if not any((config.max_evals, config.max_usd, config.max_hours, config.max_nodes)):
            console.print("[yellow]warning:[/] no budget is set (--max-evals, --max-usd, "
                          "--max-hours, --max-nodes): the run goes on until Ctrl-C")
        run = stack.enter_context(_locked_run(plan, parts.tasks, parts.sandbox))
        run.log_event(*start_event(plan))
        if plan.resume and plan.changed:
            run.update_config(config.model_dump(mode="json"))
        reap_sweep()
        try:
            summary = _search(run, config, parts, stack, console)
        except BaseException as e:  # a preflight refusal, a crash: the session still says why
            run.log_event("stopped", failed_event(e))
            raise
        stopped = stop_event(summary.stop_reason, summary.kind, summary.abandoned)
        run.log_event("stopped", {**stopped, "recording_s": round(run.recording_s, 6)})
    return RunOutcome(plan.out, summary.stop_reason, summary.interrupted, summary.abandoned,
                      summary.kind)


@contextmanager
def _locked_run(plan: RunPlan, tasks: list[Task], sandbox: Sandbox) -> Iterator:
    """The open run, its driver lock held, both released when the block ends."""
    from hgm.archive.lock import LOCK, driver_lock

    made = not plan.out.exists()
    if plan.resume and not plan.out.is_dir():
        raise ConfigError(f"{plan.out} is not a run folder")
    if not plan.resume:
        if not made and (not plan.out.is_dir() or any(p.name != LOCK for p in plan.out.iterdir())):
            raise ConfigError(f"cannot create a run at {plan.out}: it exists and is not empty")
        plan.out.mkdir(parents=True, exist_ok=True)
    with driver_lock(plan.out):
        try:
            run = open_or_create(plan.config, plan.out, plan.resume, tasks, sandbox)
        except (ConfigError, PreflightError):
            if made:  # a run that could not be made leaves no folder behind
                shutil.rmtree(plan.out, ignore_errors=True)
            raise
        try:
            yield run
        finally:
            run.close()


def _start_model_server(run, backend, stack: ExitStack, console: Console) -> None:
    """A model server hgm manages (``vllm:``) starts with the run and stops with it, however
    the run ends; one that will not start is a preflight failure (nothing spent yet)."""
    from hgm.gateway import ModelError

    start = getattr(backend, "start", None)
    if start is None:
        return
    stack.callback(backend.close)
    try:
        start(log_path=run.path / "logs" / "model-server.log",
              progress=lambda message: console.print(message, markup=False, highlight=False))
    except ModelError as e:
        raise PreflightError(str(e)) from None


def _run_embedder(run, spec: str, model: str, stack: ExitStack, console: Console):
    """The embedder the gateway serves, cached in the run folder. With a scripted chat model,
    ``default`` means the scripted embedder, so offline demos and tests load no model."""
    from hgm.skills.embed import UnavailableEmbedder, open_run_embedder, run_spec

    embedder = open_run_embedder(run_spec(spec, model), run.path)
    if isinstance(embedder, UnavailableEmbedder):
        console.print(f"[yellow]warning:[/] no embeddings ({embedder.reason}); agents rank skills "
                      "lexically", highlight=False)
    close = getattr(embedder, "close", None)
    if close is not None:
        stack.callback(close)
    return embedder


def _start_warm_up(embedder) -> None:
    """Load the embedding model while the first jobs start, not when the first agent asks.

    Only once preflight has passed: a run that will not start loads nothing, and never leaves
    a thread half-way through importing torch while the interpreter shuts down (which can
    hang the exit for good)."""
    from hgm.skills.embed import UnavailableEmbedder

    if embedder is not None and not isinstance(embedder, UnavailableEmbedder):
        threading.Thread(target=_warm_up, args=(embedder,), name="hgm-embedder", daemon=True).start()


def _warm_up(embedder) -> None:
    from hgm.skills.embed import EmbeddingUnavailable, warm_up

    try:
        warm_up(embedder)
    except EmbeddingUnavailable as e:  # each call will say so too, with a 503
        log.warning("%s; agents rank skills lexically", e)


def reap_sweep() -> None:
    """Remove scratch folders that killed drivers left; never fails the run."""
    try:
        reap_scratch()
    except Exception as e:  # housekeeping only
        log.warning("the scratch sweep failed: %s", e)


def _search(run, config: RunConfig, parts: Parts, stack: ExitStack, console: Console):
    from hgm.display import LiveDisplay
    from hgm.executor import get_executor
    from hgm.gateway import Gateway
    from hgm.gateway.limits import GatewayLimits
    from hgm.jobs import CostLedger, Worker, WorkerSettings
    from hgm.jobs.evaluation import bounds_from_config
    from hgm.jobs.expansion import InfrastructureError
    from hgm.loop import Limits, run_search

    sock_dir = Path(tempfile.mkdtemp(prefix=scratch_prefix("gw")))  # unix socket paths must be short
    stack.callback(shutil.rmtree, sock_dir, True)
    ledger = CostLedger(run)
    try:  # before the gateway: a cluster's executor says where the gateway must listen
        executor = get_executor(config.executor, config.workers)
    except (ValueError, ImportError, ConnectionError) as e:
        raise PreflightError(str(e)) from None
    stack.callback(executor.shutdown, False)
    gateway = Gateway(
        parts.backend, **getattr(executor, "gateway_listen", {}), socket_path=sock_dir / "gateway.sock", recorder=ledger.record,
        max_usd=config.max_usd, spent_usd=run.totals()["llm_cost_usd"],
        call_timeout_s=config.call_timeout_s, limits=GatewayLimits(
            max_body_bytes=config.gateway_max_body_bytes, max_json_depth=config.gateway_max_json_depth,
            max_connections=config.gateway_max_connections,
            max_requests_per_token=config.gateway_max_requests_per_token,
            idle_timeout_s=config.gateway_idle_timeout_s,
            max_recorded_bytes=config.gateway_max_recorded_bytes, max_tokens=config.gateway_max_tokens,
        ),
        embedder=_run_embedder(run, config.embedding_model, parts.model, stack, console),
    )
    stack.enter_context(gateway)
    _start_model_server(run, parts.backend, stack, console)
    # Before the first decision: a run that cannot work stops here, having spent nothing.
    preflight(gateway, parts.sandbox, parts.tasks, probe_model=not parts.model.startswith("scripted:"))
    _start_warm_up(gateway.embeddings.embedder)
    worker = Worker(run, parts.sandbox, gateway, ledger, parts.tasks, WorkerSettings(
        model=parts.model, agent_max_steps=config.agent_max_steps,
        eval_time_limit_s=config.eval_time_limit_s,
        expansion_time_limit_s=config.expansion_time_limit_s,
        self_check_time_limit_s=config.self_check_time_limit_s,
        test_time_limit_s=config.test_time_limit_s, memory_mb=config.memory_mb,
        bounds=bounds_from_config(config), skill_dedup_cosine=config.skill_dedup_cosine,
    ), embedder=gateway.embeddings.embedder)
    bind = getattr(executor, "bind", None)
    if bind is not None:  # jobs that travel to other machines (hgm.executor.ray)
        try:
            worker = bind(worker, config.sandbox, gateway.tcp_port)
        except InfrastructureError as e:
            raise PreflightError(str(e)) from None
    limits = Limits(config.max_evals, config.max_hours, config.max_nodes,
                    config.max_consecutive_errors, config.max_unproductive_expansions,
                    sandbox_wait_s=60 * config.sandbox_wait_minutes,
                    max_error_retries=config.max_error_retries)
    with LiveDisplay(console, min_evals=config.final_min_evals) as display:
        return run_search(run, parts.policy, executor, worker, limits, seed=config.seed,
                          on_progress=display, skill_fraction=config.skill_expansion_fraction)
