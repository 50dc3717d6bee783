"""The one impure orchestrator: ask the policy, dispatch work, record results.

The loop is asynchronous: the moment a worker is free the policy is asked again, so a slow
task never holds the others back. Results are recorded by this thread only, one archive
transaction each, and only then folded into the statistics the policy sees — so every
decision rests on durable results, and a run killed at any instant resumes without losing or
double-counting anything (work that was in flight is simply redone).

:class:`Search` holds one search's state. Its two seams are :meth:`Search.start` (what is
dispatched: one policy action becomes one job on the executor) and :meth:`Search.record`
(what is recorded: one finished job becomes one archive transaction, then statistics).
"""

from __future__ import annotations

import dataclasses
import shutil
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field

import numpy as np

from hgm.archive import Run
from hgm.executor import LOST_MARK, Executor
from hgm.jobs import Charge, Started, Worker
from hgm.jobs.evaluation import EvalResult
from hgm.jobs.expansion import ExpansionResult, InfrastructureError
from hgm.search import Evaluate, Expand, Policy, Stop, TreeStats, Wait
from hgm.types import NodeKind, NodeStatus, Outcome

OUTAGE_MARK = " [during a sandbox outage]"
"""Appended to the reason of an error recorded while the sandbox was unavailable: such an
error is the outage's, and never counts toward the repeated-error bound (also on resume)."""


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
    max_error_retries: int = 2
    """How often an evaluation that ended in ``error`` is retried on the same node and task;
    the next error there is recorded as a ``fail`` ("error repeated N times: ...")."""


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
    machines: str | None = None
    """Workers per machine and utilization, from an executor that spans machines (ray)."""


FINISHED, ERRORS, INTERRUPTED = "finished", "errors", "interrupted"
"""Kinds of stop: within the budget or by the policy; on repeated errors; by Ctrl-C."""


@dataclass(frozen=True)
class Halt:
    """Why the loop stops starting new work, and which kind of stop that is."""

    reason: str
    kind: str = FINISHED


@dataclass(frozen=True)
class SearchSummary:
    stop_reason: str
    interrupted: bool
    abandoned: int
    kind: str = FINISHED
    """``finished`` (a budget or the policy), ``errors`` (stopped on repeated failures of the
    infrastructure, the model or the sandbox) or ``interrupted`` (Ctrl-C)."""


@dataclass
class Streaks:
    """Failures in a row that stop the run when too long (a broken model, sandbox, agent)."""

    errors: int = 0
    last_error: str = ""
    unproductive: int = 0
    last_unproductive: str = ""

    def reset(self) -> None:
        self.errors = self.unproductive = 0


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
    skill_fraction: float = 0.0,
) -> SearchSummary:
    """Grow the run's tree until a limit is reached, the policy stops, or Ctrl-C.

    ``skill_fraction``: the share of expansions that are skill expansions (RunConfig's
    ``skill_expansion_fraction``)."""
    search = Search(run, policy, executor, worker, limits, seed=seed, clock=clock,
                    skill_fraction=skill_fraction)
    with Interrupts() as interrupts:
        while True:
            if interrupts.count >= 2:  # Ctrl-C twice: leave in-flight work to the resume
                return search.abandon()
            search.advance(interrupted=interrupts.count == 1)
            on_progress(search.report())
            if not search.in_flight:
                if search.halt is None and search.outage.reason is not None:
                    time.sleep(min(0.25, limits.sandbox_poll_s))
                    continue
                break
            search.collect(timeout=0.25)
    if interrupts.count:
        return SearchSummary("interrupted", True, 0, INTERRUPTED)
    halt = search.halt or Halt("done")
    return SearchSummary(halt.reason, False, 0, halt.kind)


class Search:
    """One search over a run: its collaborators, statistics, work in flight and counters.

    :meth:`advance` decides whether to stop and otherwise fills every free worker
    (:meth:`dispatch`, one :meth:`start` per policy action); :meth:`collect` waits for
    finished jobs and :meth:`record`\\ s each.
    """

    def __init__(self, run: Run, policy: Policy, executor: Executor, worker: Worker, limits: Limits,
                 *, seed: int = 0, clock: Callable[[], float] = time.monotonic,
                 skill_fraction: float = 0.0):
        self.run, self.policy, self.executor, self.worker = run, policy, executor, worker
        self.skill_fraction = skill_fraction
        self.limits, self.clock = limits, clock
        self.stats = run.tree_stats()
        evaluations = run.evaluations()
        self.rng = np.random.default_rng([seed, self.stats.n_nodes, len(evaluations)])
        self.started = clock()
        self.progress = Progress(stats=self.stats, workers=executor.workers, started=self.started)
        self.in_flight: dict[Future, Started] = {}
        self.streaks = Streaks()
        self.repeats = ErrorRepeats.from_records(evaluations)
        self.outage = Outage(getattr(worker.sandbox, "unavailable", None), limits, clock)
        self.halt: Halt | None = None

    # -- deciding -------------------------------------------------------------------------
    def advance(self, interrupted: bool = False) -> None:
        """Settle whether the run stops; if not, start work on every free worker."""
        if interrupted and self.halt is None:
            self.halt = Halt(f"interrupted: finishing {len(self.in_flight)} jobs in flight "
                             "(Ctrl-C again to leave them to the resume)", INTERRUPTED)
        if self.halt is None and self.outage.reason is not None:
            reason = self.outage.check(self.run, self.streaks)
            self.halt = Halt(reason, ERRORS) if reason else None
        self.halt = self.halt or self.limit_reached()
        if self.halt is None and self.outage.reason is None:
            self.halt = self.dispatch()

    def limit_reached(self) -> Halt | None:
        """The limit that stops the run now, if any."""
        limits, stats, gateway = self.limits, self.stats, self.worker.gateway
        if limits.max_evals is not None and stats.evals_done >= limits.max_evals:
            return Halt(f"reached --max-evals {limits.max_evals}")
        if gateway.budget_exhausted:
            return Halt(f"reached the dollar budget (${gateway.spent_usd:.4f} spent)")
        if limits.max_hours is not None and self.clock() - self.started >= limits.max_hours * 3600:
            return Halt(f"reached --max-hours {limits.max_hours}")
        if self.outage.reason is not None:
            return None  # during an outage the errors are the outage's, no sign to give up
        s = self.streaks
        if s.errors >= limits.max_consecutive_errors:
            return Halt(f"{s.errors} evaluations in a row failed in the infrastructure "
                        f"(last: {s.last_error}); fix it and resume", ERRORS)
        if s.unproductive >= limits.max_unproductive_expansions:
            return Halt(f"{s.unproductive} expansions in a row produced no valid child "
                        f"(last: {s.last_unproductive}); check the model and the agent, then resume",
                        ERRORS)
        return None

    def tell_budget(self) -> None:
        """Let the policy see how much of the run's budget is spent, and evaluations left.

        ``budget_fraction`` is the largest fraction spent of the budgets set (evaluations,
        dollars, hours; 0 with none), ``evals_left`` what ``--max-evals`` still allows.
        """
        stats, limits, gateway = self.stats, self.limits, self.worker.gateway
        spent = []
        if limits.max_evals is not None:
            spent.append(stats.evals_done / max(limits.max_evals, 1))
            stats.evals_left = max(limits.max_evals - stats.evals_done - stats.evals_in_flight, 0)
        if gateway.max_usd:
            spent.append(gateway.spent_usd / gateway.max_usd)
        if limits.max_hours:
            spent.append((self.clock() - self.started) / (limits.max_hours * 3600))
        stats.budget_fraction = min(max(spent, default=0.0), 1.0)

    # -- dispatching ------------------------------------------------------------------------
    def dispatch(self) -> Halt | None:
        """Start work until every worker is busy; returns a halt if the run should end."""
        while len(self.in_flight) < self.executor.workers:
            self.tell_budget()
            action = self.policy.decide(self.stats.snapshot(), self.rng)
            if isinstance(action, Wait):
                return None
            if isinstance(action, Stop):
                return Halt(f"the policy stopped: {action.reason}")
            if not isinstance(action, Evaluate | Expand):  # pragma: no cover - not an Action
                raise TypeError(f"policy {self.policy.name} returned {action!r}")
            if isinstance(action, Evaluate) and self._evals_all_started():
                return None  # the last evaluations are in flight
            if isinstance(action, Expand) and self._nodes_all_started():
                return Halt(f"reached --max-nodes {self.limits.max_nodes}")
            future, pending = self.start(action)
            self.in_flight[future] = pending
        return None

    def _evals_all_started(self) -> bool:
        cap, s = self.limits.max_evals, self.stats
        return cap is not None and s.evals_done + s.evals_in_flight >= cap

    def _nodes_all_started(self) -> bool:
        cap, s = self.limits.max_nodes, self.stats
        return cap is not None and s.n_nodes + s.pending_expansions >= cap

    def start(self, action: Evaluate | Expand) -> tuple[Future, Started]:
        """Turn one policy action into a job on the executor (the dispatch seam)."""
        worker, now = self.worker, self.clock()
        if isinstance(action, Evaluate):
            task = self.stats.take_task(action.node, action.task)
            pending = worker.begin("evaluation", action.node, task, now)
            return self.executor.submit(worker.evaluation_job(pending.node, task, pending.token)), pending
        self.stats.start_expansion(action.node)
        pending = worker.begin("expansion", action.node, None, now)
        # A skill expansion, by the run's rng (so a resume decides alike); an edit when there
        # is nothing to distil or adopt. With skill_fraction 0 the rng is not drawn from.
        if self.skill_fraction and self.rng.random() < self.skill_fraction:
            plan = worker.plan_skill(action.node, self.rng)
            if plan is not None:
                return self.executor.submit(worker.skill_job(plan, pending.ref)), pending
        failure = worker.pick_failure(action.node, self.rng)
        return self.executor.submit(worker.expansion_job(action.node, failure, pending.token, pending.ref)), pending

    # -- recording --------------------------------------------------------------------------
    def collect(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for jobs to finish, and record those that did."""
        done, _ = wait(list(self.in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            if self.record(self.in_flight.pop(future), future):
                self.outage.suspect(self.run)

    def record(self, pending: Started, future: Future) -> bool:
        """Make one finished job durable, then let the policy see it (the record seam).

        Returns True when the job failed for a reason outside the agent's control (an
        evaluation recorded as ``error``, an expansion that produced no child)."""
        charge = self.worker.end(pending.token, pending.ref)
        try:
            result = future.result()
            failure = None
        except InfrastructureError as e:  # expected, and explained by its message
            result, failure = None, str(e)
        except Exception as e:  # a job's own failure is recorded, never fatal to the loop
            result = None
            failure = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}"
        if pending.kind == "evaluation":
            return self._record_evaluation(pending, result, failure, charge)
        return self._record_expansion(pending, result, failure, charge.cost_usd)

    def _judge(self, pending: Started, result: EvalResult | None, failure: str | None,
               charge: Charge) -> tuple[EvalResult, bool]:
        """What to record, and whether the infrastructure failed (an error, or one repeated
        so often that it is recorded as a fail: :class:`ErrorRepeats`)."""
        if result is None:
            result = EvalResult(Outcome.ERROR, 0.0, b"", "", reason=f"harness error: {failure}")
        elif result.outcome is Outcome.FAIL and charge.model_errors:
            # The model let the agent down (provider errors, timeouts): not the agent's failure.
            result = dataclasses.replace(
                result, outcome=Outcome.ERROR,
                reason=f"the model failed during the evaluation: {charge.model_errors[0]}",
            )
        if result.outcome is not Outcome.ERROR:
            return result, False
        self.outage.suspect(self.run)  # before judging: an outage's errors are never the agent's
        if self.outage.reason is not None:
            return dataclasses.replace(result, reason=(result.reason or "error") + OUTAGE_MARK), True
        if (result.reason or "").endswith(LOST_MARK):
            return result, True
        return self.repeats.judge(pending.node, pending.task, result, self.limits.max_error_retries), True

    def _record_evaluation(self, pending: Started, result: EvalResult | None, failure: str | None,
                           charge: Charge) -> bool:
        result, infrastructure = self._judge(pending, result, failure, charge)
        self.run.record_evaluation(
            pending.node, pending.task, result.outcome, duration_s=result.duration_s,
            cost_usd=charge.cost_usd, trajectory=result.trajectory, test_log=result.test_log,
            reason=result.reason, ref=pending.ref, timings=dict(result.timings),
            skill_usage=result.skill_usage,
        )
        self.stats.record_eval(pending.node, pending.task, result.outcome)
        if infrastructure:  # a repeated error still says the infrastructure may be broken
            self.streaks.errors += 1
            self.streaks.last_error = (result.reason or "unknown").splitlines()[0]
            self.progress.errors += 1
        else:
            self.streaks.errors = 0
        task_id = self.run.task_ids[pending.task]
        self.progress.last = f"node {pending.node} on {task_id}: {result.outcome}"
        return result.outcome is Outcome.ERROR

    def _record_expansion(self, pending: Started, result: ExpansionResult | None, failure: str | None,
                          cost: float) -> bool:
        statement = result.problem_statement if result else ""
        if result is None or (result.tree is None and result.commit is None):
            self.stats.end_expansion(pending.node, failed=True)
            reason = failure or (result.reason if result else "unknown")
            self.run.record_failed_expansion(pending.node, problem_statement=statement, reason=reason,
                                             cost_usd=cost)
            self.progress.last = f"expansion of node {pending.node} failed: {reason.splitlines()[0]}"
            self._unproductive(reason)
            return True
        self.stats.end_expansion(pending.node)
        try:
            status = NodeStatus.VALID if result.valid else NodeStatus.INVALID
            node = self.run.add_node(
                pending.node, result.tree, commit=result.commit, kind=NodeKind(result.kind),
                skills=list(result.skills) if result.skills is not None else None,
                proposal=statement, status=status, reason=result.reason, cost_usd=cost,
                expansion={"problem_statement": statement, "cost_usd": cost, "reason": result.reason,
                           # pending.started_at is on the loop's clock; the archive keeps wall time
                           "started_at": time.time() - (self.clock() - pending.started_at)},
            )
        finally:
            if result.tree is not None:
                shutil.rmtree(result.tree, ignore_errors=True)
        child = self.stats.add_node(pending.node, valid=result.valid)
        if child != node.id:  # pragma: no cover - the archive and the statistics disagree
            raise RuntimeError(f"node id mismatch: archive {node.id}, statistics {child}")
        self.progress.last = f"node {node.id} ({status}) from node {pending.node}"
        if result.valid:
            self.streaks.unproductive = 0
        else:
            self._unproductive(result.reason or "invalid child")
        return False

    def _unproductive(self, reason: str) -> None:
        self.streaks.unproductive += 1
        self.streaks.last_unproductive = reason.splitlines()[0]

    # -- reporting and leaving ----------------------------------------------------------------
    def report(self) -> Progress:
        """The progress as of now, for the live display."""
        p = self.progress
        p.busy, p.stopping = len(self.in_flight), self.halt.reason if self.halt else None
        p.waiting = self.outage.describe() if self.halt is None else None
        p.spent_usd = self.worker.gateway.spent_usd
        describe = getattr(self.executor, "describe", None)
        p.machines = describe() if describe is not None else None
        return p

    def abandon(self) -> SearchSummary:
        """Leave the jobs in flight unrecorded (a resume redoes them) and revoke their tokens."""
        for pending in self.in_flight.values():
            self.worker.end(pending.token, pending.ref)
        return SearchSummary("interrupted", True, len(self.in_flight), INTERRUPTED)


class Outage:
    """The sandbox backend going away mid-run (a stopped Docker engine), and coming back.

    After a job ends in an infrastructure error the loop asks the sandbox whether it is
    available (:meth:`hgm.sandbox.Sandbox.unavailable`). If not, no new work starts: the
    jobs in flight finish (as errors, most likely, and are recorded so), and the sandbox is
    asked again every ``sandbox_poll_s`` seconds. When it answers, the error counters are
    reset (the errors were the outage's, not the agent's) and the run goes on; after
    ``sandbox_wait_s`` seconds the run stops, saying what to do. Both are run events.
    """

    def __init__(self, probe: Callable[[], str | None] | None, limits: Limits, clock: Callable[[], float]):
        self._probe = probe
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

    def check(self, run: Run, streaks: Streaks) -> str | None:
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
            streaks.reset()
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

    SIGTERM (a process manager, ``kill``) counts as two: the run stops at once, leaving work
    in flight to the resume, and still closes what it started (sandboxes, a managed model
    server) on the way out. Installed only in the main thread (signal handlers can live
    nowhere else); elsewhere the count stays 0 and the default behaviour is untouched.
    """

    def __init__(self):
        self.count = 0
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        self.count += 2 if signum == signal.SIGTERM else 1

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous = {}


class ErrorRepeats:
    """Infrastructure errors per (node, task), so that one that keeps repeating is judged.

    An agent could otherwise hide its failures by making its evaluation error every time
    (an error is retried and never counted against it). After ``max_error_retries`` retries
    of a (node, task) that each ended in ``error``, the next error there is recorded as a
    ``fail`` whose reason starts with ``error repeated N times:``. Counted from the archive,
    so the bound holds across resumes; errors during a sandbox outage, and jobs lost with their
    machine (``LOST_MARK``), never count.
    """

    def __init__(self, counts: Counter[tuple[int, int]]):
        self._counts = counts

    @classmethod
    def from_records(cls, evaluations) -> ErrorRepeats:
        return cls(Counter(
            (e.node, e.task_index) for e in evaluations
            if e.outcome is Outcome.ERROR and not (e.reason or "").endswith((OUTAGE_MARK, LOST_MARK))
        ))

    def judge(self, node: int, task: int, error: EvalResult, max_retries: int) -> EvalResult:
        """``error`` as recorded: still an error, or a fail once retries are used up."""
        before = self._counts[node, task]
        self._counts[node, task] += 1
        if before < max_retries:
            return error
        return dataclasses.replace(
            error, outcome=Outcome.FAIL, reason=f"error repeated {before + 1} times: {error.reason}",
        )
