"""Budget, retries, time limits and recording: what happens around every backend call.

:class:`CallRunner` is the one path a model call takes, whether it arrives over HTTP from a
sandbox or in-process from the driver, so both get the same budget, retries and records.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from hgm.gateway import (
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


class Budget:
    """A dollar budget shared by all calls of a run; thread-safe.

    A call is refused once ``spent >= max_usd``. Calls already under way when the line is
    crossed complete and are charged, so the final spend may exceed the limit by what those
    calls cost.
    """

    def __init__(self, max_usd: float | None, spent_usd: float = 0.0) -> None:
        if max_usd is not None and max_usd < 0:
            raise ValueError(f"max_usd must be >= 0, got {max_usd}")
        self.max_usd = max_usd
        self._spent = float(spent_usd)
        self._lock = threading.Lock()

    @property
    def spent_usd(self) -> float:
        with self._lock:
            return self._spent

    @property
    def exhausted(self) -> bool:
        with self._lock:
            return self.max_usd is not None and self._spent >= self.max_usd

    def check(self) -> None:
        """Raise :class:`BudgetExhausted` if no further call may start."""
        with self._lock:
            if self.max_usd is not None and self._spent >= self.max_usd:
                raise BudgetExhausted(
                    f"the run's LLM budget is spent: ${self._spent:.4f} of ${self.max_usd:.4f}; "
                    "no further model calls will be answered"
                )

    def charge(self, usd: float) -> None:
        with self._lock:
            self._spent += usd


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

    def run(self, request: ChatRequest, scope: Scope, body: dict | None = None) -> ChatResult:
        """Answer one request; ``body`` is the raw request as received, for the record."""
        start = time.monotonic()
        body = body if body is not None else request_to_dict(request)
        try:
            self.budget.check()
            result = self._attempts(request, scope, start)
        except Exception as e:
            self.record_failure(scope, body, f"{type(e).__name__}: {e}", start, request.model)
            raise
        self.budget.charge(result.cost_usd)
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
        self, scope: Scope, body: dict, error: str, start: float, model: str = ""
    ) -> None:
        """Record a call that produced no reply (refused, failed, or unreadable)."""
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
            )
        )

    def close(self) -> None:
        """Stop the worker threads; calls still running are abandoned. Reopens on next use."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _attempts(self, request: ChatRequest, scope: Scope, start: float) -> ChatResult:
        deadline = None if self._timeout is None else start + self._timeout
        name = self.backend.name
        for attempt in range(self._retry.retries + 1):
            future = self._submit(request, scope)
            try:
                result = future.result(timeout=_remaining(deadline))
            except FutureTimeout:
                future.add_done_callback(self._charge_late)
                raise CallTimeout(
                    f"model {name!r} did not answer within {self._timeout:g}s"
                ) from None
            except TransientModelError as e:
                if attempt == self._retry.retries:
                    raise
                wait = self._delay(attempt)
                log.warning("model %r: %s; retry %d in %.2fs", name, e, attempt + 1, wait)
                if deadline is not None and time.monotonic() + wait >= deadline:
                    raise CallTimeout(
                        f"model {name!r} did not answer within {self._timeout:g}s: {e}"
                    ) from e
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

    def _submit(self, request: ChatRequest, scope: Scope) -> Future:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._max_workers, "hgm-gateway-model")
            return self._pool.submit(self.backend.complete, request, scope)

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


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())
