"""The litellm backend: any provider litellm knows (``openai/...``, ``anthropic/...``,
``hosted_vllm/...``, ``ollama/...``).

A spec is a litellm model string, optionally with parameters that go to
``litellm.completion`` as keyword arguments: ``openai/foo?api_base=http://127.0.0.1:8000/v1``,
``anthropic/claude-x?timeout=120``. API keys come from the driver's environment, where litellm
reads them (``OPENAI_API_KEY``, ...); an ``api_key=`` parameter is accepted for local servers
that want a placeholder key, but keeps the key in the spec, so do not put real keys there.

Prices: ``?input_cost_per_1m=0.15&output_cost_per_1m=0.6`` (dollars per million tokens) or
litellm's own ``input_cost_per_token=...&output_cost_per_token=...`` set the price of any model;
a call then costs its tokens times that price. Without them the price comes from litellm's table,
and a model the table does not know costs $0 (with one warning), which is why a run with
``--max-usd`` refuses such a model (:func:`hgm.preflight.check_price`).

Errors are sorted once, here: a missing or refused key, an unknown model or provider, and a
reply that is not a chat completion are permanent :class:`ModelError`; a request the provider
refuses as invalid (400, 422, context window exceeded) is :class:`BadModelRequest`; rate limits,
5xx, time-outs and dropped connections are :class:`TransientModelError`, retried by the gateway.

litellm is an optional dependency (``pip install 'hgm[litellm]'``) and is imported when a
backend is built. Unless ``LITELLM_LOCAL_MODEL_COST_MAP`` is already set, it is set to ``True``
so that importing litellm does not fetch the price table from the network: prices come from the
table shipped with the installed litellm.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

from hgm.gateway import (
    BadModelRequest,
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
    "timeout",
    "input_cost_per_token",
    "output_cost_per_token",
}
_TRANSIENT_STATUS = {408, 409, 429}
# Reply cap assumed for a request that names none (max_tokens) when litellm's table does not
# know the model's own output limit: a worst case for budget reservations, not a limit sent on.
DEFAULT_MAX_OUTPUT_TOKENS = 16_384
# Prompt tokens are estimated as one per CHARS_PER_TOKEN characters of the serialized messages
# and tools: English and code run nearer 4 characters a token, so this over-estimates.
CHARS_PER_TOKEN = 2
_PRICE_PARAMS = {  # spec parameter -> (which side, dollars per token per unit of the value)
    "input_cost_per_1m": ("input", 1e-6),
    "output_cost_per_1m": ("output", 1e-6),
    "input_cost_per_token": ("input", 1.0),
    "output_cost_per_token": ("output", 1.0),
}


@dataclass(frozen=True)
class Price:
    """What a model charges, in dollars per token."""

    input_per_token: float
    output_per_token: float

    def __post_init__(self) -> None:
        if min(self.input_per_token, self.output_per_token) < 0:
            raise ValueError("a price must not be negative")

    @classmethod
    def per_million(cls, input_usd: float, output_usd: float) -> Price:
        """A price given in dollars per million tokens, as providers list them."""
        return cls(input_usd * 1e-6, output_usd * 1e-6)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return prompt_tokens * self.input_per_token + completion_tokens * self.output_per_token


def price_from_params(params: dict[str, Any]) -> Price | None:
    """Take the price parameters out of a spec's ``params`` (they are not litellm's to see).

    Raises ValueError when only one side is given or a value is not a number."""
    sides: dict[str, float] = {}
    for key, (side, scale) in _PRICE_PARAMS.items():
        if key not in params:
            continue
        value = params.pop(key)
        if not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{key} must be a number >= 0, got {value!r}")
        if side in sides:
            raise ValueError(f"the {side} price is given twice")
        sides[side] = float(value) * scale
    if not sides:
        return None
    if len(sides) == 1:
        raise ValueError(
            "give both prices: input_cost_per_1m and output_cost_per_1m "
            "(or input_cost_per_token and output_cost_per_token)"
        )
    return Price(sides["input"], sides["output"])


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
    its backoff and its time limit, so that each retry is visible in one place. ``price``
    overrides litellm's price table.
    """

    def __init__(
        self, model: str, *, timeout_s: float = 300.0, price: Price | None = None, **params: Any
    ) -> None:
        self._litellm = _import_litellm()
        self.model = model
        self.name = model
        self.timeout_s = timeout_s
        self.price = price
        self.params = params
        self._warned_cost = False
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: str) -> LiteLLMBackend:
        """Build from ``"provider/model?key=value&..."``; ``timeout`` sets ``timeout_s``, the
        price parameters (module docstring) set ``price``."""
        model, _, query = spec.partition("?")
        if "/" not in model:
            raise ValueError(
                f"unknown model {spec!r}: give a litellm model string such as 'openai/gpt-5-mini', "
                "'anthropic/<model>', 'hosted_vllm/<model>', 'ollama/<model>', or 'scripted:<name>'"
            )
        params = spec_params(query, keep_text=("api_key", "api_base", "api_version"))
        timeout = params.pop("timeout", 300.0)
        price = price_from_params(params)
        return cls(model, timeout_s=float(timeout), price=price, **params)

    # --- prices -----------------------------------------------------------------------

    def priced(self, price: Price) -> LiteLLMBackend:
        """A copy of this backend that charges ``price`` (e.g. from the run's config)."""
        other = copy.copy(self)
        other.price, other._lock = price, threading.Lock()
        return other

    def known_price(self) -> Price | None:
        """The price calls are charged at: the one given, else litellm's table; None if neither."""
        if self.price is not None:
            return self.price
        info = self._model_info()
        inp, out = info.get("input_cost_per_token"), info.get("output_cost_per_token")
        if isinstance(inp, int | float) and isinstance(out, int | float):
            return Price(float(inp), float(out))
        return None

    def max_cost_usd(self, request: ChatRequest) -> float | None:
        """The most ``request`` can cost, for reserving budget before the call; None when the
        price is unknown.

        Output: the request's ``max_tokens`` (or ``max_completion_tokens``), else the model's
        output limit from litellm's table, else :data:`DEFAULT_MAX_OUTPUT_TOKENS`. Prompt: one
        token per :data:`CHARS_PER_TOKEN` characters of the messages and tools as JSON.
        """
        price = self.known_price()
        if price is None:
            return None
        cap = request.max_tokens or request.extra.get("max_completion_tokens")
        if not isinstance(cap, int) or cap <= 0:
            table = self._model_info().get("max_output_tokens")
            cap = table if isinstance(table, int) and table > 0 else DEFAULT_MAX_OUTPUT_TOKENS
        text = json.dumps([request.messages, request.tools], default=str)
        prompt = math.ceil(len(text) / CHARS_PER_TOKEN)
        return price.cost(prompt, cap)

    def _model_info(self) -> dict:
        try:
            info = self._litellm.get_model_info(self.model)
        except Exception:  # litellm raises for any model its table lacks
            return {}
        return dict(info) if info else {}

    # --- calls ------------------------------------------------------------------------

    def complete(
        self, request: ChatRequest, scope: Scope, *, timeout_s: float | None = None
    ) -> ChatResult:
        """One call; ``timeout_s`` (what is left of the gateway's per-call limit) shortens the
        backend's own ``timeout_s``, so litellm cannot outlive the gateway's deadline."""
        timeout = self.timeout_s if timeout_s is None else max(0.01, min(self.timeout_s, timeout_s))
        kwargs = self._kwargs(request) | {"timeout": timeout}
        try:
            response = self._litellm.completion(**kwargs)
        except Exception as e:
            raise classify(e, self._litellm.exceptions, self.model, timeout) from e
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

    def _result(self, response: Any) -> ChatResult:
        try:
            choice = response.choices[0]
            message = _message_dict(choice.message)
            usage = getattr(response, "usage", None)
            prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
            completion = int(getattr(usage, "completion_tokens", 0) or 0)
            finish = choice.finish_reason or ("tool_calls" if message.get("tool_calls") else "stop")
        except (AttributeError, IndexError, TypeError, ValueError) as e:
            raise ModelError(
                f"{self.model}: the provider's reply is not a valid chat completion: {e}"
            ) from e
        return ChatResult(
            message=message,
            finish_reason=str(finish),
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=self._cost(response, prompt, completion),
            model=str(getattr(response, "model", None) or self.model),
        )

    def _cost(self, response: Any, prompt: int, completion: int) -> float:
        if self.price is not None:
            return self.price.cost(prompt, completion)
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
                "no price known for %s (%s); its calls are counted as $0 "
                "(give one with ?input_cost_per_1m=...&output_cost_per_1m=...)",
                self.model,
                reason,
            )
        return cost


# --- errors -------------------------------------------------------------------------------

_NO_KEY = re.compile(
    r"missing credentials|api[_ ]?key (?:is |was )?(?:not (?:set|found|provided)|missing|required)"
    r"|set the \w*API_KEY\w* environment variable|no api key",
    re.IGNORECASE,
)
_LITELLM_PREFIX = re.compile(r"^(?:litellm\.\w+: )?(?:\w+Error: )?(?:\w+Exception - )?")


def classify(e: Exception, exc: Any, model: str, timeout_s: float) -> Exception:
    """The gateway's view of a litellm exception ``e``: permanent, the caller's, or transient.

    ``exc`` is ``litellm.exceptions``; the message of the error returned is one line that says
    what happened at the provider (its status, what it said)."""
    status = getattr(e, "status_code", None)
    status = status if isinstance(status, int) else None
    detail = _detail(e)
    if _NO_KEY.search(str(e)):
        return ModelError(f"{model}: no API key: {_key_hint(model)}")
    if (bad_json := _json_error(e)) is not None:
        return ModelError(f"{model}: the provider's reply is not valid JSON ({bad_json})")
    if "Invalid response object" in str(e):
        return ModelError(f"{model}: the provider's reply is not a valid chat completion")
    if "LLM Provider NOT provided" in str(e):
        return ModelError(
            f"{model}: litellm knows no provider for this model string; start it with one, "
            "e.g. openai/NAME, anthropic/NAME, hosted_vllm/NAME, ollama/NAME"
        )
    if isinstance(e, exc.Timeout):
        return TransientModelError(f"{model}: the provider did not answer within {timeout_s:g}s")
    if isinstance(e, exc.AuthenticationError) or status == 401:
        return ModelError(f"{model}: the provider refused the API key (401): {detail}")
    if isinstance(e, exc.PermissionDeniedError) or status == 403:
        return ModelError(f"{model}: the provider denied access (403): {detail}")
    if isinstance(e, exc.NotFoundError) or status == 404:
        return ModelError(f"{model}: the provider does not know this model (404): {detail}")
    if isinstance(e, exc.BadRequestError) or status in (400, 413, 422):
        return BadModelRequest(
            f"{model}: the provider refused the request ({status or 400}): {detail}"
        )
    if isinstance(e, exc.RateLimitError) or status == 429:
        return TransientModelError(f"{model}: provider answered 429 (rate limited): {detail}")
    if isinstance(e, exc.APIConnectionError) and status in (None, 500):
        return TransientModelError(f"{model}: cannot reach the provider: {detail}")
    if status is not None and (status >= 500 or status in _TRANSIENT_STATUS):
        return TransientModelError(f"{model}: provider answered {status}: {detail}")
    if isinstance(e, exc.InternalServerError | exc.ServiceUnavailableError | exc.BadGatewayError):
        return TransientModelError(f"{model}: provider answered {status or 500}: {detail}")
    where = f"provider answered {status}" if status else type(e).__name__
    return ModelError(f"{model}: {where}: {detail}")


def _detail(e: Exception, limit: int = 300) -> str:
    """What the provider said: the first line of litellm's message, without its prefixes."""
    lines = str(e).strip().splitlines()
    text = _LITELLM_PREFIX.sub("", lines[0] if lines else "").strip() or type(e).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _chain(e: BaseException) -> list[BaseException]:
    """``e`` and the exceptions it was raised from or during, innermost last."""
    out: list[BaseException] = []
    cur: BaseException | None = e
    while cur is not None and all(cur is not seen for seen in out):
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _json_error(e: BaseException) -> str | None:
    """The JSON parse error behind ``e``, if a reply that is not JSON caused it."""
    for cause in _chain(e):
        if isinstance(cause, json.JSONDecodeError):
            return str(cause)
    if "Received response - <APIResponse" in str(e):  # litellm's wording when parsing failed
        return "unparseable body"
    return None


def _key_hint(model: str) -> str:
    try:
        import litellm

        missing = litellm.validate_environment(model).get("missing_keys") or []
    except Exception:
        missing = []
    where = " or ".join(missing) if missing else "the provider's API key variable"
    return (
        f"set {where} in the environment of the driver (hgm run), or for a local server "
        "that wants a placeholder, add api_key=... to the model string"
    )


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
