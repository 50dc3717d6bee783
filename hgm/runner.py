"""Assemble a run from its config: the one place that builds collaborators from specs.

`hgm run` calls :func:`start_run`; everything below it takes its collaborators as parameters.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

import numpy as np
from rich.console import Console

from hgm.config import ConfigError, RunConfig
from hgm.scratch import prefix as scratch_prefix
from hgm.scratch import reap as reap_scratch
from hgm.types import Task


@dataclass(frozen=True)
class RunOutcome:
    path: Path
    stop_reason: str
    interrupted: bool
    abandoned: int


def default_out(root: Path = Path("archive")) -> Path:
    return root / datetime.now().strftime("run-%Y%m%d-%H%M%S")


def seed_agent_dir(config: RunConfig) -> Path:
    if config.seed_agent is not None:
        if not (config.seed_agent / "run_agent.py").is_file():
            raise ConfigError(f"seed_agent {config.seed_agent}: no run_agent.py in it")
        return config.seed_agent
    return Path(str(resources.files("hgm").joinpath("seed_agent")))


def _tasks(spec: str) -> list[Task]:
    from hgm.bench import BenchmarkError, get_benchmark

    try:
        tasks = get_benchmark(spec).tasks()
    except (BenchmarkError, ValueError, KeyError) as e:
        raise ConfigError(str(e)) from None
    if not tasks:
        raise ConfigError(f"benchmark {spec!r} has no tasks")
    return tasks


def open_or_create(config: RunConfig, out: Path, resume: bool, tasks: list[Task]):
    """The run's archive: reopened when resuming (tasks must match), else created."""
    from hgm.archive import Run

    ids = [t.id for t in tasks]
    if resume:
        run = Run.open(out)
        if run.task_ids != ids:
            raise ConfigError(
                f"{out} was run on a different task list than benchmark {config.benchmark!r} "
                "gives now; resume with the benchmark it was created with"
            )
        return run
    order = np.random.default_rng(config.seed).permutation(len(ids)).tolist()
    return Run.create(out, seed_agent_dir(config), config=config.model_dump(mode="json"),
                      task_ids=ids, task_order=order)


def start_run(config: RunConfig, out: Path, *, resume: bool, console: Console) -> RunOutcome:
    """Run (or resume) evolution as configured, showing live progress on ``console``."""
    from hgm.display import LiveDisplay
    from hgm.executor import get_executor
    from hgm.gateway import Gateway, get_backend
    from hgm.gateway.limits import GatewayLimits
    from hgm.jobs import CostLedger, Worker, WorkerSettings
    from hgm.jobs.evaluation import bounds_from_config
    from hgm.loop import Limits, run_search
    from hgm.sandbox import get_sandbox
    from hgm.search import get_policy

    model = config.resolved_model()
    tasks = _tasks(config.benchmark)
    try:
        policy = get_policy(config.policy)
        backend = get_backend(model)
        sandbox = get_sandbox(config.sandbox)
    except (ValueError, ImportError) as e:
        raise ConfigError(str(e)) from None
    run = open_or_create(config, out, resume, tasks)
    reap_scratch()  # what a driver killed earlier (SIGKILL, a crash) could not clean up
    with ExitStack() as stack:
        stack.callback(run.close)
        stack.callback(sandbox.close)
        sock_dir = Path(tempfile.mkdtemp(prefix=scratch_prefix("gw")))  # unix socket paths must be short
        stack.callback(shutil.rmtree, sock_dir, True)
        ledger = CostLedger(run)
        gateway = Gateway(
            backend, socket_path=sock_dir / "gateway.sock", recorder=ledger.record,
            max_usd=config.max_usd, spent_usd=run.totals()["llm_cost_usd"],
            call_timeout_s=config.call_timeout_s, limits=GatewayLimits(
                max_body_bytes=config.gateway_max_body_bytes, max_json_depth=config.gateway_max_json_depth,
                max_connections=config.gateway_max_connections,
                max_requests_per_token=config.gateway_max_requests_per_token,
                idle_timeout_s=config.gateway_idle_timeout_s,
                max_recorded_bytes=config.gateway_max_recorded_bytes, max_tokens=config.gateway_max_tokens,
            ),
        )
        stack.enter_context(gateway)
        worker = Worker(run, sandbox, gateway, ledger, tasks, WorkerSettings(
            model=model, agent_max_steps=config.agent_max_steps,
            eval_time_limit_s=config.eval_time_limit_s,
            expansion_time_limit_s=config.expansion_time_limit_s,
            self_check_time_limit_s=config.self_check_time_limit_s,
            test_time_limit_s=config.test_time_limit_s, memory_mb=config.memory_mb,
            bounds=bounds_from_config(config),
        ))
        executor = get_executor("local", config.workers)
        stack.callback(executor.shutdown, False)
        limits = Limits(config.max_evals, config.max_hours, config.max_nodes,
                        config.max_consecutive_errors, config.max_unproductive_expansions,
                        sandbox_wait_s=60 * config.sandbox_wait_minutes)
        with LiveDisplay(console, min_evals=config.final_min_evals) as display:
            summary = run_search(run, policy, executor, worker, limits, seed=config.seed, on_progress=display)
    return RunOutcome(out, summary.stop_reason, summary.interrupted, summary.abandoned)
