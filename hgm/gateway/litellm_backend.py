"""The litellm backend: any provider litellm knows (``openai/...``, ``anthropic/...``,
``hosted_vllm/...``, ``ollama/...``).

A spec is a litellm model string, optionally with parameters that go to
``litellm.completion`` as keyword arguments: ``openai/foo?api_base=http://127.0.0.1:8000/v1``,
``anthropic/claude-x?timeout=120``. API keys come from the driver's environment, where litellm
reads them (``OPENAI_API_KEY``, ...); an ``api_key=`` parameter is accepted for local servers
that want a placeholder key, but keeps the key in the spec, so do not put real keys there.

litellm is an optional dependency (``pip install 'hgm[litellm]'``) and is imported when a
backend is built. Unless ``LITELLM_LOCAL_MODEL_COST_MAP`` is already set, it is set to ``True``
so that importing litellm does not fetch the price table from the network: prices come from the
table shipped with the installed litellm.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from typing import Any

from hgm.gateway import (
    ChatRequest,
    ChatResult,
    ModelError,
    Scope,
    TransientModelError,
    spec_params,
)

log = logging.getLogger(__name__)

# Request fields litellm must not see from a client: the gateway decides these.
_RESERVED = {
    "model",
    "messages",
    "stream",
    "stream_options",
    "n",
    "api_key",
    "api_base",
    "base_url",
}
_TRANSIENT_STATUS = {408, 409, 429}


def _import_litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError:
        raise ImportError(
            "the litellm model backend needs litellm: pip install 'hgm[litellm]'"
        ) from None
    litellm.suppress_debug_info = True
    return litellm


class LiteLLMBackend:
    """Calls ``litellm.completion``; maps its errors to transient or permanent ones.

    litellm's own retries are turned off: the gateway retries transient errors itself, with
    its backoff and its time limit, so that each retry is visible in one place.
    """

    def __init__(self, model: str, *, timeout_s: float = 300.0, **params: Any) -> None:
        self._litellm = _import_litellm()
        self.model = model
        self.name = model
        self.timeout_s = timeout_s
        self.params = params
        self._warned_cost = False
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: str) -> LiteLLMBackend:
        """Build from ``"provider/model?key=value&..."``; ``timeout`` sets ``timeout_s``."""
        model, _, query = spec.partition("?")
        if "/" not in model:
            raise ValueError(
                f"unknown model {spec!r}: give a litellm model string such as 'openai/gpt-5-mini', "
                "'anthropic/<model>', 'hosted_vllm/<model>', 'ollama/<model>', or 'scripted:<name>'"
            )
        params = spec_params(query, keep_text=("api_key", "api_base", "api_version"))
        timeout = params.pop("timeout", 300.0)
        return cls(model, timeout_s=float(timeout), **params)

    def complete(self, request: ChatRequest, scope: Scope) -> ChatResult:
        kwargs = self._kwargs(request)
        try:
            response = self._litellm.completion(**kwargs)
        except Exception as e:
            raise self._translate(e) from e
        return self._result(response)

    def _kwargs(self, request: ChatRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {k: v for k, v in request.extra.items() if k not in _RESERVED}
        for key in ("tools", "tool_choice", "temperature", "max_tokens"):
            value = getattr(request, key)
            if value is not None:
                kwargs[key] = value
        return (
            kwargs
            | self.params
            | {
                "model": self.model,
                # litellm may rewrite messages in place; the archive keeps the agent's originals.
                "messages": copy.deepcopy(request.messages),
                "timeout": self.timeout_s,
                "num_retries": 0,
                "max_retries": 0,
                # Agents send whatever their framework sends; a field a provider lacks is dropped
                # rather than failing the call.
                "drop_params": True,
            }
        )

    def _translate(self, e: Exception) -> Exception:
        exc = self._litellm.exceptions
        transient = (
            exc.RateLimitError,
            exc.ServiceUnavailableError,
            exc.InternalServerError,
            exc.BadGatewayError,
            exc.APIConnectionError,  # includes Timeout
        )
        text = f"{self.model}: {type(e).__name__}: {e}"
        if isinstance(e, transient):
            return TransientModelError(text)
        status = getattr(e, "status_code", None)
        if isinstance(status, int) and (status >= 500 or status in _TRANSIENT_STATUS):
            return TransientModelError(text)
        return ModelError(text)

    def _result(self, response: Any) -> ChatResult:
        try:
            choice = response.choices[0]
            message = _message_dict(choice.message)
            usage = getattr(response, "usage", None)
            prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
            completion = int(getattr(usage, "completion_tokens", 0) or 0)
            finish = choice.finish_reason or ("tool_calls" if message.get("tool_calls") else "stop")
        except (AttributeError, IndexError, TypeError, ValueError) as e:
            raise ModelError(f"{self.model}: malformed response: {e}") from e
        return ChatResult(
            message=message,
            finish_reason=str(finish),
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=self._cost(response),
            model=str(getattr(response, "model", None) or self.model),
        )

    def _cost(self, response: Any) -> float:
        try:
            cost = float(
                self._litellm.completion_cost(completion_response=response, model=self.model)
            )
        except Exception as e:
            cost, reason = 0.0, str(e).splitlines()[0] if str(e) else type(e).__name__
        else:
            if cost > 0:
                return cost
            reason = "litellm reports $0"
        with self._lock:
            warn, self._warned_cost = not self._warned_cost, True
        if warn:
            log.warning(
                "no price known for %s (%s); its calls are counted as $0", self.model, reason
            )
        return cost


def _message_dict(message: Any) -> dict:
    calls = []
    for call in getattr(message, "tool_calls", None) or []:
        calls.append(
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
        )
    out: dict[str, Any] = {"role": "assistant", "content": getattr(message, "content", None)}
    if calls:
        out["tool_calls"] = calls
    return out
