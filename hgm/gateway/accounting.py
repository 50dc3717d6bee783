"""Budget, retries, time limits and recording: what happens around every backend call.

:class:`CallRunner` is the one path a model call takes, whether it arrives over HTTP from a
sandbox or in-process from the driver, so both get the same budget, retries and records.
"""

from __future__ import annotations

import inspect
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from hgm.gateway import (
    BadModelRequest,
    BudgetExhausted,
    CallTimeout,
    ChatRequest,
    ChatResult,
    LLMCall,
    ModelBackend,
    ModelError,
    Scope,
    TransientModelError,
)
from hgm.gateway.openai_format import check_result, completion_body, request_to_dict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reservation:
    """Dollars set aside for one call until it is settled (0 when nothing is reserved)."""

    usd: float = 0.0


# Float sums of prices (0.01 * 5) must not refuse a call that fits exactly.
_EPSILON = 1e-12


class Budget:
    """A hard dollar budget shared by all calls of a run; thread-safe.

    Before a call, :meth:`reserve` sets aside its worst-case cost and refuses the call if that
    does not fit in what is left (``max_usd`` minus spent, minus what calls under way have
    reserved); after it, :meth:`settle` charges the real cost and frees the reservation. So
    concurrent calls cannot overshoot, except by what a call costs beyond its reservation.
    A call whose worst case is unknown (no price) reserves nothing and is only refused once
    ``spent >= max_usd``, as a budget checked before and charged after.

    A call that timed out keeps its reservation (:meth:`abandon`), since the provider may still
    bill it; :meth:`charge` (its late answer) draws it down. The budget counts as exhausted once
    the spend reaches ``max_usd``, or once what is left could not cover a call already refused
    for lack of money even with no call under way.
    """

    def __init__(self, max_usd: float | None, spent_usd: float = 0.0) -> None:
        if max_usd is not None and max_usd < 0:
            raise ValueError(f"max_usd must be >= 0, got {max_usd}")
        self.max_usd = max_usd
        self._spent = float(spent_usd)
        self._reserved = 0.0
        self._abandoned = 0.0  # reservations of timed-out calls that may still answer
        self._smallest_refused: float | None = None
        self._lock = threading.Lock()

    @property
    def spent_usd(self) -> float:
        with self._lock:
            return self._spent

    @property
    def reserved_usd(self) -> float:
        """Dollars set aside for calls under way (and timed-out calls that may still answer)."""
        with self._lock:
            return self._reserved + self._abandoned

    @property
    def exhausted(self) -> bool:
        with self._lock:
            if self.max_usd is None:
                return False
            left = self.max_usd - self._spent - self._abandoned
            refused = self._smallest_refused
            return left <= _EPSILON or (refused is not None and refused > left + _EPSILON)

    def check(self) -> None:
        """Raise :class:`BudgetExhausted` if no further call may start."""
        with self._lock:
            if self.max_usd is not None and self._spent + self._abandoned >= self.max_usd:
                raise self._refusal(None)

    def reserve(self, worst_case_usd: float | None) -> Reservation:
        """Set aside ``worst_case_usd`` for a call, or raise :class:`BudgetExhausted`.

        ``None`` (price unknown) reserves nothing and only checks that money is left.
        """
        if self.max_usd is None:
            return Reservation()
        if worst_case_usd is None:
            self.check()
            return Reservation()
        with self._lock:
            committed = self._spent + self._reserved + self._abandoned
            if committed + worst_case_usd > self.max_usd + _EPSILON or committed >= self.max_usd:
                if self._smallest_refused is None or worst_case_usd < self._smallest_refused:
                    self._smallest_refused = worst_case_usd
                raise self._refusal(worst_case_usd)
            self._reserved += worst_case_usd
        return Reservation(worst_case_usd)

    def settle(self, reservation: Reservation, cost_usd: float) -> None:
        """Charge a finished call's real cost and free its reservation."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - reservation.usd)
            self._spent += cost_usd

    def release(self, reservation: Reservation) -> None:
        """Free the reservation of a call that failed without an answer."""
        self.settle(reservation, 0.0)

    def abandon(self, reservation: Reservation) -> None:
        """Keep a timed-out call's reservation: its answer may still come, and be billed."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - reservation.usd)
            self._abandoned += reservation.usd

    def charge(self, usd: float) -> None:
        """Charge a late answer of a timed-out call, drawing down what it kept reserved."""
        with self._lock:
            self._abandoned = max(0.0, self._abandoned - usd)
            self._spent += usd

    def _refusal(self, worst_case_usd: float | None) -> BudgetExhausted:
        need = "" if worst_case_usd is None else f"; this call may cost up to ${worst_case_usd:.4f}"
        return BudgetExhausted(
            f"the run's LLM budget cannot cover this call: ${self._spent:.4f} spent and "
            f"${self._reserved + self._abandoned:.4f} reserved of ${self.max_usd:.4f}{need}"
        )


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt ``k`` waits ``backoff_s * 2**k * U(0.5, 1.5)``."""

    retries: int = 4
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return min(self.max_backoff_s, self.backoff_s * 2**attempt * (0.5 + rng.random()))


class CallRunner:
    """Runs backend calls under a budget, retries and a per-call time limit; records each once.

    ``call_timeout_s`` bounds the whole call, retries and waits included. A backend call that
    outlives it is abandoned (a thread cannot be killed); if it answers later, its cost is still
    charged to the budget, because the money was spent.
    """

    def __init__(
        self,
        backend: ModelBackend,
        *,
        recorder: Callable[[LLMCall], None],
        budget: Budget,
        retry: RetryPolicy,
        call_timeout_s: float | None,
        rng: random.Random,
        max_workers: int = 64,
    ) -> None:
        self.backend = backend
        self.budget = budget
        self._recorder = recorder
        self._retry = retry
        self._timeout = call_timeout_s
        self._rng = rng
        self._rng_lock = threading.Lock()
        self._max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._retry_log = RetryLog()
        self._backend_takes_timeout = _takes_timeout(backend)

    def run(self, request: ChatRequest, scope: Scope, body: dict | None = None) -> ChatResult:
        """Answer one request; ``body`` is the raw request as received, for the record."""
        start = time.monotonic()
        body = body if body is not None else request_to_dict(request)
        reservation = Reservation()
        try:
            reservation = self.budget.reserve(self._worst_case(request))
            result = self._attempts(request, scope, start)
        except Exception as e:
            if isinstance(e, CallTimeout):
                self.budget.abandon(reservation)
            else:
                self.budget.release(reservation)
            error = f"{type(e).__name__}: {e}"
            agent_error = isinstance(e, BadModelRequest)
            self.record_failure(scope, body, error, start, request.model, agent_error=agent_error)
            raise
        self.budget.settle(reservation, result.cost_usd)
        self._record(
            LLMCall(
                scope=scope,
                model=result.model,
                request=body,
                response=completion_body(result),
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                cost_usd=result.cost_usd,
                latency_s=time.monotonic() - start,
                error=None,
            )
        )
        return result

    def record_failure(
        self,
        scope: Scope,
        body: dict,
        error: str,
        start: float,
        model: str = "",
        *,
        agent_error: bool = False,
    ) -> None:
        """Record a call that produced no reply (refused, failed, or unreadable).

        ``agent_error``: the request itself was at fault (the agent's mistake).
        """
        self._record(
            LLMCall(
                scope=scope,
                model=model or self.backend.name,
                request=body,
                response=None,
                prompt_tokens=0,
                completion_tokens=0,
                cost_usd=0.0,
                latency_s=time.monotonic() - start,
                error=error,
                agent_error=agent_error,
            )
        )

    def _worst_case(self, request: ChatRequest) -> float | None:
        """The backend's worst-case cost of ``request`` (None: unknown, or no budget to keep)."""
        estimate = getattr(self.backend, "max_cost_usd", None)
        if self.budget.max_usd is None or estimate is None:
            return None
        try:
            usd = estimate(request)
        except Exception:
            log.exception("model %r: cannot estimate a call's worst-case cost", self.backend.name)
            return None
        if not isinstance(usd, int | float) or isinstance(usd, bool) or not math.isfinite(usd):
            return None
        return max(0.0, float(usd))

    def close(self) -> None:
        """Stop the worker threads; calls still running are abandoned. Reopens on next use."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self._retry_log.flush()

    def _attempts(self, request: ChatRequest, scope: Scope, start: float) -> ChatResult:
        """Call the backend, retrying transient errors within the retry count and the deadline.

        This is the only retry layer of a run: when it gives up, the error it raises says what
        the last attempt got (a 500, a rate limit, no answer), not only that time ran out.
        """
        deadline = None if self._timeout is None else start + self._timeout
        name = self.backend.name
        last: TransientModelError | None = None
        for attempt in range(self._retry.retries + 1):
            future = self._submit(request, scope, _remaining(deadline))
            try:
                result = future.result(timeout=_remaining(deadline))
            except FutureTimeout:
                future.add_done_callback(self._charge_late)
                earlier = f" (attempt {attempt + 1}; the one before: {last})" if last else ""
                raise CallTimeout(
                    f"model {name!r} did not answer within {self._timeout:g}s{earlier}"
                ) from None
            except TransientModelError as e:
                last = e
                wait = self._delay(attempt)
                out_of_time = deadline is not None and time.monotonic() + wait >= deadline
                if attempt == self._retry.retries or out_of_time:
                    tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                    tried = f"gave up after {tries} in {time.monotonic() - start:.0f}s"
                    limit = f"; call_timeout_s {self._timeout:g}" if out_of_time else ""
                    kind = CallTimeout if out_of_time else TransientModelError
                    raise kind(f"{e} ({tried}{limit})") from e
                self._retry_log.retrying(name, e, wait)
                time.sleep(wait)
                continue
            except (ModelError, BudgetExhausted):
                raise
            except Exception as e:
                # A bug in a backend is the backend's failure, not the gateway's.
                log.exception("model %r raised", name)
                raise ModelError(f"model {name!r} failed: {type(e).__name__}: {e}") from e
            return check_result(result, name)
        raise AssertionError("unreachable")

    def _submit(self, request: ChatRequest, scope: Scope, remaining_s: float | None) -> Future:
        # A backend that takes timeout_s (litellm) is told what is left of the deadline, so
        # its own HTTP call ends with it instead of keeping a thread (and the process) alive.
        kwargs = {"timeout_s": remaining_s} if self._backend_takes_timeout else {}
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._max_workers, "hgm-gateway-model")
            return self._pool.submit(self.backend.complete, request, scope, **kwargs)

    def _delay(self, attempt: int) -> float:
        with self._rng_lock:
            return self._retry.delay(attempt, self._rng)

    def _charge_late(self, future: Future) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        result = future.result()
        cost = getattr(result, "cost_usd", 0.0)
        if isinstance(cost, int | float) and cost > 0:
            log.warning(
                "a timed-out call to %r answered late; charging $%.4f", self.backend.name, cost
            )
            self.budget.charge(float(cost))

    def _record(self, call: LLMCall) -> None:
        try:
            self._recorder(call)
        except Exception:
            # Losing one record must not take the endpoint down for every sandbox.
            log.exception("the LLM call recorder failed (scope %s)", call.scope)


class RetryLog:
    """Collapses retry warnings: the first retry of a model is logged in full, later ones are
    counted and summed up in one line at most every ``every_s`` seconds (and at :meth:`flush`),
    so a failing provider does not print hundreds of identical lines."""

    def __init__(self, every_s: float = 60.0) -> None:
        self._every_s = every_s
        self._lock = threading.Lock()
        self._since: dict[str, float] = {}  # model -> when its last line was logged
        self._count: dict[str, int] = {}  # model -> retries not logged yet
        self._latest: dict[str, str] = {}

    def retrying(self, model: str, error: Exception, wait_s: float) -> None:
        now = time.monotonic()
        with self._lock:
            if model not in self._since:
                self._since[model] = now
                first = True
            else:
                first = False
                self._count[model] = self._count.get(model, 0) + 1
                self._latest[model] = str(error)
                if now - self._since[model] < self._every_s:
                    return
                self._since[model] = now
            count = self._count.pop(model, 0)
        if first:
            log.warning("model %r: %s; retrying in %.1fs (further retries are counted)",
                        model, error, wait_s)  # fmt: skip
        else:
            self._summary(model, count, self._latest.get(model, ""))

    def flush(self) -> None:
        """Log the retries counted since the last line."""
        with self._lock:
            counts, self._count = self._count, {}
        for model, count in counts.items():
            self._summary(model, count, self._latest.get(model, ""))

    @staticmethod
    def _summary(model: str, count: int, latest: str) -> None:
        if count:
            log.warning("... %d more retries for model %r (latest: %s)", count, model, latest)


def _takes_timeout(backend: ModelBackend) -> bool:
    try:
        return "timeout_s" in inspect.signature(backend.complete).parameters
    except (TypeError, ValueError):
        return False


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())
