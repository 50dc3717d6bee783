"""A small client for an OpenAI-compatible chat-completions endpoint (stdlib only)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

# hgm's gateway retries the provider itself, within the run's per-call time limit, and its
# 5xx answers (502 model error, 503 retries used up, 504 time limit) are final: retrying them
# here would multiply its tries. Only a rate limit (from an endpoint that is not the gateway)
# and a gateway that could not be reached at all are worth another try.
RETRY_STATUSES = {429}
MAX_RETRY_AFTER_S = 30.0


class LLMError(Exception):
    """The endpoint failed in a way that retrying will not fix."""


class BudgetExhausted(LLMError):
    """The run's budget is spent; the agent must stop."""


class LLMClient:
    """Sends chat completions to ``base_url`` (e.g. ``http://127.0.0.1:8765/v1``).

    A rate limit (429) or an endpoint that cannot be reached is retried ``retries`` times with
    exponential backoff starting at ``backoff_s`` (a ``Retry-After`` header is honoured); any
    other error answer is final, because the gateway has already retried the provider.
    """

    def __init__(
        self,
        base_url: str,
        token: str = "",
        model: str = "default",
        timeout_s: float = 600.0,
        retries: int = 2,
        backoff_s: float = 1.0,
    ):
        self.url = base_url.rstrip("/") + "/chat/completions" if base_url else ""
        self.token = token
        self.model = model
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s

    def chat(self, messages: list[dict], tools: list[dict]) -> dict:
        """Return the full response body of one chat completion."""
        if not self.url:
            raise LLMError("no model endpoint: set HGM_GATEWAY_URL (e.g. http://127.0.0.1:8765/v1)")
        body = {"model": self.model, "messages": messages, "tools": tools, "tool_choice": "auto"}
        for attempt in range(self.retries + 1):
            delay = self.backoff_s * 2**attempt
            try:
                return self._post(body)
            except urllib.error.HTTPError as e:
                error = _error_body(e)
                if e.code == 402 or error.get("type") == "budget_exhausted":
                    raise BudgetExhausted(error.get("message") or "budget exhausted") from None
                if e.code not in RETRY_STATUSES or attempt == self.retries:
                    raise LLMError(f"HTTP {e.code}: {error.get('message', e.reason)}") from None
                delay = _retry_after(e) or delay
            except TimeoutError:
                # The gateway bounds every call; no answer in timeout_s will not come on a retry.
                raise LLMError(f"no answer from {self.url} within {self.timeout_s:g}s") from None
            except (urllib.error.URLError, ConnectionError) as e:
                if attempt == self.retries:
                    raise LLMError(f"cannot reach {self.url}: {e}") from None
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _post(self, body: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            data = json.loads(response.read())
        if not data.get("choices"):
            raise LLMError(f"response has no choices: {str(data)[:500]}")
        return data


def _error_body(e: urllib.error.HTTPError) -> dict:
    """The ``error`` object of an OpenAI-style error response, or {} when there is none."""
    try:
        error = json.loads(e.read()).get("error", {})
    except (ValueError, AttributeError, OSError):
        return {}
    return error if isinstance(error, dict) else {"message": str(error)}


def _retry_after(e: urllib.error.HTTPError) -> float | None:
    try:
        return min(float(e.headers.get("Retry-After", "")), MAX_RETRY_AFTER_S)
    except (TypeError, ValueError):
        return None
