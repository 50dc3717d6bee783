"""The LLM gateway: one OpenAI-compatible endpoint through which every model call of a run goes.

Sandboxed agents hold no API keys and have no network. The run starts a :class:`Gateway`
(``hgm.gateway.server``) on a unix socket that is mounted into each sandbox; each sandbox gets a
token scoped to one expansion or evaluation, so every call is attributed, recorded and charged
against the run's dollar budget. The driver itself calls :meth:`Gateway.complete` in-process
(e.g. for diagnosis) with the same retries, budget and recording.

Models are named by string and resolved by :func:`get_backend`:

- ``scripted:NAME`` — a named scripted model (``echo``, ``finisher``, and whatever other modules
  register in :data:`hgm.gateway.scripted.SCRIPTED_MODELS`);
- ``scripted:module:function`` — a Python callable ``fn(request, scope) -> dict | ChatResult``;
- ``scripted:path/to/script.yaml`` — a YAML script (format in :mod:`hgm.gateway.scripted`);
- ``hf:MODEL`` — a local model run with transformers (a folder, or a hub id where a hub is
  reachable); prices and options in :mod:`hgm.gateway.hf_backend`;
- ``vllm:MODEL`` — a vLLM server hgm starts, watches and stops (:mod:`hgm.gateway.vllm_backend`);
- anything else — a litellm model string such as ``openai/gpt-5-mini``, ``anthropic/...``,
  ``hosted_vllm/...``, ``ollama/...``, optionally with ``?api_base=...&timeout=...``.

Scripted specs take ``?cost_usd=0.002`` to change the cost they report per call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from hgm.gateway.server import Gateway

SCOPE_KINDS = ("expansion", "evaluation", "diagnosis", "other")


@dataclass(frozen=True)
class Scope:
    """What a model call is for: the unit of work it is attributed and charged to.

    ``kind`` is one of :data:`SCOPE_KINDS`; ``node`` the node being expanded or evaluated;
    ``ref`` the expansion or evaluation key; ``task`` the task id of an evaluation.
    """

    kind: str
    node: int | None = None
    ref: str | None = None
    task: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise ValueError(
                f"unknown scope kind {self.kind!r}; choose one of: {', '.join(SCOPE_KINDS)}"
            )


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion request, as an agent sent it (OpenAI format).

    ``extra`` holds every other field of the request body (``top_p``, ``stop``, ...).
    """

    model: str
    messages: list[dict]
    tools: list[dict] | None = None
    tool_choice: Any = None
    temperature: float | None = None
    max_tokens: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ChatResult:
    """One assistant reply: an OpenAI assistant ``message`` (role, content, tool_calls)."""

    message: dict
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    model: str


@dataclass(frozen=True)
class LLMCall:
    """The record of one call through the gateway, successful or not; handed to the recorder."""

    scope: Scope
    model: str
    request: dict
    response: dict | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_s: float
    error: str | None
    # True when the request itself was at fault (malformed, too big, refused by the provider as
    # invalid): the agent's own mistake, never counted as an infrastructure failure.
    agent_error: bool = False


@runtime_checkable
class ModelBackend(Protocol):
    """Something that answers chat completions. Sync; the gateway runs it in a thread pool."""

    name: str

    def complete(self, request: ChatRequest, scope: Scope) -> ChatResult: ...


class TransientModelError(Exception):
    """A failure worth retrying: rate limits, 5xx, timeouts, dropped connections."""


class CallTimeout(TransientModelError):
    """The gateway's per-call time limit passed before the backend answered."""


class ModelError(Exception):
    """A permanent failure (bad request, auth, malformed reply); reported to the caller."""


class BadModelRequest(ModelError):
    """The provider refused the request because of what the caller sent (a 4xx such as 400/422).

    It is the agent's own error, visible in its trajectory: the gateway answers it with HTTP 400
    and does not count it as an infrastructure failure.
    """


class BudgetExhausted(Exception):
    """The run's dollar budget is spent; no further model calls are made."""


def get_backend(spec: str) -> ModelBackend:
    """Build a model backend from a spec such as ``"scripted:echo"`` or ``"openai/gpt-5-mini"``.

    See the module docstring for the forms a spec takes.
    """
    if not spec or not spec.strip():
        raise ValueError("empty model spec; use e.g. 'openai/gpt-5-mini' or 'scripted:echo'")
    if spec.startswith("scripted:"):
        from hgm.gateway.scripted import scripted_backend

        return scripted_backend(spec.removeprefix("scripted:"))
    if spec.startswith("hf:"):
        from hgm.gateway.hf_backend import HFBackend

        return HFBackend.from_spec(spec)
    if spec.startswith("vllm:"):
        from hgm.gateway.vllm_backend import VLLMBackend

        return VLLMBackend.from_spec(spec)
    from hgm.gateway.litellm_backend import LiteLLMBackend

    return LiteLLMBackend.from_spec(spec)


def spec_params(query: str, *, keep_text: tuple[str, ...] = ()) -> dict[str, Any]:
    """Parse a spec's ``key=value&...`` part; values that look like numbers become numbers,
    except for the keys in ``keep_text``."""
    params: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params[key] = value if key in keep_text else _number(value)
    return params


def _number(text: str) -> int | float | str:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def __getattr__(name: str) -> Any:
    # The server pulls in starlette and uvicorn; import it only when asked for.
    if name == "Gateway":
        from hgm.gateway.server import Gateway

        return Gateway
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SCOPE_KINDS",
    "BadModelRequest",
    "BudgetExhausted",
    "CallTimeout",
    "ChatRequest",
    "ChatResult",
    "Gateway",
    "LLMCall",
    "ModelBackend",
    "ModelError",
    "Scope",
    "TransientModelError",
    "get_backend",
    "spec_params",
]
