"""The one impure orchestrator: ask the policy, dispatch work, record results.

The loop is asynchronous: the moment a worker is free the policy is asked again, so a slow
task never holds the others back. Results are recorded by this thread only, one archive
transaction each, and only then folded into the statistics the policy sees — so every
decision rests on durable results, and a run killed at any instant resumes without losing or
double-counting anything (work that was in flight is simply redone).
"""

from __future__ import annotations

import dataclasses
import shutil
import signal
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field

import numpy as np

from hgm.archive import Run
from hgm.executor import Executor
from hgm.jobs import Charge, Started, Worker
from hgm.jobs.evaluation import EvalResult
from hgm.jobs.expansion import ExpansionResult, InfrastructureError
from hgm.search import Evaluate, Expand, Policy, Stop, TreeStats, Wait
from hgm.types import NodeKind, NodeStatus, Outcome


@dataclass(frozen=True)
class Limits:
    """When the loop stops starting new work. ``None`` means no limit."""

    max_evals: int | None = None
    max_hours: float | None = None
    max_nodes: int | None = None
    max_consecutive_errors: int = 10
    max_unproductive_expansions: int = 25
    sandbox_wait_s: float = 600.0
    """How long to wait for an unavailable sandbox (a stopped Docker engine) to come back."""
    sandbox_poll_s: float = 2.0
    """How often to ask it while waiting."""


@dataclass
class Progress:
    """What the live display shows; updated by the loop after every recorded result."""

    stats: TreeStats
    busy: int = 0
    workers: int = 0
    spent_usd: float = 0.0
    started: float = field(default_factory=time.monotonic)
    last: str = ""
    errors: int = 0
    stopping: str | None = None
    waiting: str | None = None


@dataclass(frozen=True)
class SearchSummary:
    stop_reason: str
    interrupted: bool
    abandoned: int


def run_search(
    run: Run,
    policy: Policy,
    executor: Executor,
    worker: Worker,
    limits: Limits,
    *,
    seed: int = 0,
    on_progress: Callable[[Progress], None] = lambda p: None,
    clock: Callable[[], float] = time.monotonic,
) -> SearchSummary:
    """Grow the run's tree until a limit is reached, the policy stops, or Ctrl-C."""
    stats = run.tree_stats()
    rng = np.random.default_rng([seed, stats.n_nodes, len(run.evaluations())])
    progress = Progress(stats=stats, workers=executor.workers, started=clock())
    in_flight: dict[Future, Started] = {}
    state = {"consecutive_errors": 0, "unproductive": 0}
    outage = Outage(worker.sandbox, limits, clock)
    stop_reason: str | None = None
    started = clock()
    with Interrupts() as interrupts:
        while True:
            if interrupts.count >= 2:  # Ctrl-C twice: leave in-flight work to the resume
                for pending in in_flight.values():
                    worker.end(pending.token, pending.ref)
                return SearchSummary("interrupted", True, len(in_flight))
            if interrupts.count == 1 and stop_reason is None:
                stop_reason = (f"interrupted: finishing {len(in_flight)} jobs in flight "
                               "(Ctrl-C again to leave them to the resume)")
            if stop_reason is None and outage.reason is not None:
                stop_reason = outage.check(run, state)
            # During an outage the errors are the outage's, not a sign to give up on the run.
            errors_count = outage.reason is None
            stop_reason = stop_reason or _limit_reached(stats, limits, worker, state, started, clock,
                                                        errors_count)
            if stop_reason is None and outage.reason is None:
                stop_reason = _dispatch(stats, policy, rng, executor, worker, run, in_flight, limits, clock,
                                        started)
            progress.busy, progress.stopping = len(in_flight), stop_reason
            progress.waiting = outage.describe() if stop_reason is None else None
            progress.spent_usd = worker.gateway.spent_usd
            on_progress(progress)
            if not in_flight:
                if stop_reason is None and outage.reason is not None:
                    time.sleep(min(0.25, limits.sandbox_poll_s))
                    continue
                break
            done, _ = wait(list(in_flight), timeout=0.25, return_when=FIRST_COMPLETED)
            for future in done:
                if _record(run, stats, worker, in_flight.pop(future), future, state, progress):
                    outage.suspect(run)
    if interrupts.count:
        return SearchSummary("interrupted", True, 0)
    return SearchSummary(stop_reason or "done", False, 0)


class Outage:
    """The sandbox backend going away mid-run (a stopped Docker engine), and coming back.

    After a job ends in an infrastructure error the loop asks the sandbox whether it is
    available (:meth:`hgm.sandbox.Sandbox.unavailable`). If not, no new work starts: the
    jobs in flight finish (as errors, most likely, and are recorded so), and the sandbox is
    asked again every ``sandbox_poll_s`` seconds. When it answers, the error counters are
    reset (the errors were the outage's, not the agent's) and the run goes on; after
    ``sandbox_wait_s`` seconds the run stops, saying what to do. Both are run events.
    """

    def __init__(self, sandbox, limits: Limits, clock: Callable[[], float]):
        self._probe = getattr(sandbox, "unavailable", None)
        self._limits, self._clock = limits, clock
        self.reason: str | None = None
        self._since = self._next = 0.0

    def suspect(self, run: Run) -> None:
        """A job failed in the infrastructure: is the sandbox itself gone?"""
        if self.reason is not None or self._probe is None:
            return
        reason = self._probe()
        if reason is None:
            return
        self.reason, self._since = reason, self._clock()
        self._next = self._since + self._limits.sandbox_poll_s
        run.log_event("sandbox_unavailable", {"reason": reason, "wait_s": self._limits.sandbox_wait_s})

    def check(self, run: Run, state: dict) -> str | None:
        """While waiting: None to go on (waiting or recovered), or why the run must stop."""
        now = self._clock()
        if now < self._next:
            return None
        self._next = now + self._limits.sandbox_poll_s
        reason = self._probe()
        waited = now - self._since
        if reason is None:
            run.log_event("sandbox_available", {"waited_s": round(waited, 1), "after": self.reason})
            self.reason = None
            state["consecutive_errors"] = state["unproductive"] = 0
            return None
        self.reason = reason
        if waited < self._limits.sandbox_wait_s:
            return None
        run.log_event("sandbox_gave_up", {"reason": reason, "waited_s": round(waited, 1)})
        return (
            f"the sandbox has been unavailable for {waited:.0f} s: {reason}. Everything recorded "
            f"is saved; bring it back (for Docker: start the engine, e.g. `sudo systemctl start "
            f"docker` or `make setup`) and continue with `hgm run --resume {run.path}`"
        )

    def describe(self) -> str | None:
        if self.reason is None:
            return None
        waited = self._clock() - self._since
        return (
            f"{self.reason}; waiting for it ({waited:.0f} s of at most "
            f"{self._limits.sandbox_wait_s:.0f} s; Ctrl-C stops the run, which can be resumed)"
        )


class Interrupts:
    """Counts Ctrl-C (SIGINT) instead of raising, so a result is never half-recorded.

    Installed only in the main thread (signal handlers can live nowhere else); elsewhere the
    count stays 0 and the default behaviour is untouched.
    """

    def __init__(self):
        self.count = 0
        self._previous = None

    def _handle(self, signum, frame) -> None:
        self.count += 1

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _limit_reached(stats, limits, worker, state, started, clock, errors_count=True) -> str | None:
    if limits.max_evals is not None and stats.evals_done >= limits.max_evals:
        return f"reached --max-evals {limits.max_evals}"
    if worker.gateway.budget_exhausted:
        return f"reached the dollar budget (${worker.gateway.spent_usd:.4f} spent)"
    if limits.max_hours is not None and clock() - started >= limits.max_hours * 3600:
        return f"reached --max-hours {limits.max_hours}"
    if errors_count and state["consecutive_errors"] >= limits.max_consecutive_errors:
        return (
            f"{state['consecutive_errors']} evaluations in a row failed in the infrastructure "
            f"(last: {state.get('last_error')}); fix it and resume"
        )
    if errors_count and state["unproductive"] >= limits.max_unproductive_expansions:
        return (
            f"{state['unproductive']} expansions in a row produced no valid child "
            f"(last: {state.get('last_unproductive')}); check the model and the agent, then resume"
        )
    return None


def _tell_budget(stats, limits, worker, started, clock) -> None:
    """Let the policy see how much of the run's budget is spent, and evaluations left.

    ``budget_fraction`` is the largest fraction spent of the budgets set (evaluations,
    dollars, hours; 0 with none), ``evals_left`` what ``--max-evals`` still allows.
    """
    spent = []
    if limits.max_evals is not None:
        spent.append(stats.evals_done / max(limits.max_evals, 1))
        stats.evals_left = max(limits.max_evals - stats.evals_done - stats.evals_in_flight, 0)
    if worker.gateway.max_usd:
        spent.append(worker.gateway.spent_usd / worker.gateway.max_usd)
    if limits.max_hours:
        spent.append((clock() - started) / (limits.max_hours * 3600))
    stats.budget_fraction = min(max(spent, default=0.0), 1.0)


def _dispatch(stats, policy, rng, executor, worker, run, in_flight, limits, clock, started) -> str | None:
    """Start work until every worker is busy; returns a stop reason if the run should end."""
    while len(in_flight) < executor.workers:
        _tell_budget(stats, limits, worker, started, clock)
        action = policy.decide(stats.snapshot(), rng)
        if isinstance(action, Wait):
            return None
        if isinstance(action, Stop):
            return f"the policy stopped: {action.reason}"
        if isinstance(action, Evaluate):
            if limits.max_evals is not None and stats.evals_done + stats.evals_in_flight >= limits.max_evals:
                return None  # the last evaluations are in flight
            task = stats.take_task(action.node, action.task)
            pending = worker.begin("evaluation", action.node, task, clock())
            future = executor.submit(worker.evaluation_job(pending.node, task, pending.token))
        elif isinstance(action, Expand):
            if limits.max_nodes is not None and stats.n_nodes + stats.pending_expansions >= limits.max_nodes:
                return f"reached --max-nodes {limits.max_nodes}"
            stats.start_expansion(action.node)
            pending = worker.begin("expansion", action.node, None, clock())
            failure = worker.pick_failure(action.node, rng)
            future = executor.submit(worker.expansion_job(action.node, failure, pending.token, pending.ref))
        else:  # pragma: no cover - a policy returned something that is not an Action
            raise TypeError(f"policy {policy.name} returned {action!r}")
        in_flight[future] = pending
    return None


def _record(run, stats, worker, pending: Started, future: Future, state, progress) -> bool:
    """Make one finished job durable, then let the policy see it.

    Returns True when the job failed for a reason outside the agent's control (an
    evaluation recorded as ``error``, an expansion that produced no child)."""
    charge = worker.end(pending.token, pending.ref)
    try:
        result = future.result()
        failure = None
    except InfrastructureError as e:  # expected, and explained by its message
        result, failure = None, str(e)
    except Exception as e:  # a job's own failure is recorded, never fatal to the loop
        result = None
        failure = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}"
    if pending.kind == "evaluation":
        return _record_evaluation(run, stats, pending, result, failure, charge, state, progress)
    return _record_expansion(run, stats, pending, result, failure, charge.cost_usd, state, progress)


def _record_evaluation(run, stats, pending, result: EvalResult | None, failure, charge: Charge, state, progress):
    if result is None:
        result = EvalResult(Outcome.ERROR, 0.0, b"", "", reason=f"harness error: {failure}")
    elif result.outcome is Outcome.FAIL and charge.model_errors:
        # The model let the agent down (provider errors, timeouts): not the agent's failure.
        result = dataclasses.replace(
            result, outcome=Outcome.ERROR,
            reason=f"the model failed during the evaluation: {charge.model_errors[0]}",
        )
    run.record_evaluation(
        pending.node, pending.task, result.outcome, duration_s=result.duration_s, cost_usd=charge.cost_usd,
        trajectory=result.trajectory, test_log=result.test_log, reason=result.reason,
    )
    stats.record_eval(pending.node, pending.task, result.outcome)
    if result.outcome is Outcome.ERROR:
        state["consecutive_errors"] += 1
        state["last_error"] = (result.reason or "").splitlines()[0] if result.reason else "unknown"
        progress.errors += 1
    else:
        state["consecutive_errors"] = 0
    task_id = run.task_ids[pending.task]
    progress.last = f"node {pending.node} on {task_id}: {result.outcome}"
    return result.outcome is Outcome.ERROR


def _record_expansion(run, stats, pending, result: ExpansionResult | None, failure, cost, state, progress):
    statement = result.problem_statement if result else ""
    if result is None or (result.tree is None and result.commit is None):
        stats.end_expansion(pending.node, failed=True)
        reason = failure or (result.reason if result else "unknown")
        run.record_failed_expansion(pending.node, problem_statement=statement, reason=reason, cost_usd=cost)
        progress.last = f"expansion of node {pending.node} failed: {reason.splitlines()[0]}"
        state["unproductive"] += 1
        state["last_unproductive"] = reason.splitlines()[0]
        return True
    stats.end_expansion(pending.node)
    try:
        status = NodeStatus.VALID if result.valid else NodeStatus.INVALID
        node = run.add_node(
            pending.node, result.tree, commit=result.commit, kind=NodeKind.EDIT,
            proposal=statement, status=status, reason=result.reason, cost_usd=cost,
            expansion={"problem_statement": statement, "cost_usd": cost, "reason": result.reason,
                       "started_at": pending.started_at},
        )
    finally:
        if result.tree is not None:
            shutil.rmtree(result.tree, ignore_errors=True)
    child = stats.add_node(pending.node, valid=result.valid)
    if child != node.id:  # pragma: no cover - the archive and the statistics disagree
        raise RuntimeError(f"node id mismatch: archive {node.id}, statistics {child}")
    progress.last = f"node {node.id} ({status}) from node {pending.node}"
    if result.valid:
        state["unproductive"] = 0
    else:
        state["unproductive"] += 1
        state["last_unproductive"] = (result.reason or "invalid child").splitlines()[0]
    return False
