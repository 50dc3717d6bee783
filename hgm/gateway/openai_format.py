"""The OpenAI chat-completions wire format: checking replies, building bodies.

Pure functions; the HTTP server and the backends share them so there is one reading of the
format in the package. Requests are read and checked by :mod:`hgm.gateway.validation`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import asdict, replace
from typing import Any

from hgm.gateway import ChatRequest, ChatResult, ModelError


def request_to_dict(request: ChatRequest) -> dict:
    """The request as an OpenAI request body (what the archive stores for in-process calls)."""
    body = {k: v for k, v in asdict(request).items() if k != "extra" and v is not None}
    return body | request.extra


def check_result(result: Any, backend: str) -> ChatResult:
    """Check that a backend's reply is well formed; raise :class:`ModelError` if it is not.

    Tool-call ``arguments`` must be strings but need not be valid JSON: an agent has to cope
    with a model that writes broken arguments, so they pass through untouched.
    """
    if not isinstance(result, ChatResult):
        raise ModelError(f"backend {backend!r} returned {type(result).__name__}, not a ChatResult")
    msg = result.message
    if not isinstance(msg, dict):
        raise ModelError(f"backend {backend!r} returned a message that is not an object")
    content = msg.get("content")
    if content is not None and not isinstance(content, str | list):
        raise ModelError(f"backend {backend!r} returned content of type {type(content).__name__}")
    _check_tool_calls(msg.get("tool_calls"), backend)
    counts = (result.prompt_tokens, result.completion_tokens)
    if not all(isinstance(n, int) and n >= 0 for n in counts):
        raise ModelError(f"backend {backend!r} returned bad token counts {counts}")
    if not _is_number(result.cost_usd) or result.cost_usd < 0 or not math.isfinite(result.cost_usd):
        raise ModelError(f"backend {backend!r} returned a bad cost {result.cost_usd!r}")
    if not isinstance(result.finish_reason, str):
        raise ModelError(f"backend {backend!r} returned a bad finish_reason")
    return replace(result, message={**msg, "role": "assistant"})


def _check_tool_calls(calls: Any, backend: str) -> None:
    if calls is None:
        return
    if not isinstance(calls, list):
        raise ModelError(f"backend {backend!r} returned tool_calls that are not a list")
    for i, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, dict) else None
        if not (
            isinstance(fn, dict)
            and isinstance(fn.get("name"), str)
            and isinstance(fn.get("arguments"), str)
            and isinstance(call.get("id"), str)
        ):
            raise ModelError(
                f"backend {backend!r} returned a malformed tool_calls[{i}]: need id, "
                "function.name and function.arguments as strings"
            )


def completion_body(result: ChatResult, *, call_id: str | None = None, created: int = 0) -> dict:
    """The OpenAI ``chat.completion`` response body for a result (no envelope without an id)."""
    body = {
        "model": result.model,
        "choices": [{"index": 0, "message": result.message, "finish_reason": result.finish_reason}],
        "usage": _usage(result),
    }
    if call_id is None:  # the archive's copy: the reply without the envelope
        return body
    return {"id": call_id, "object": "chat.completion", "created": created, **body}


def stream_events(
    result: ChatResult, *, call_id: str, created: int, include_usage: bool
) -> Iterator[str]:
    """Server-sent events for a result already in hand: one delta chunk, a finish, [DONE].

    The backend answers whole, so a stream is the whole reply in one delta; that is enough for
    clients that insist on streaming.
    """
    head = {"id": call_id, "object": "chat.completion.chunk", "created": created}
    head["model"] = result.model
    delta = dict(result.message)
    if delta.get("tool_calls"):
        delta["tool_calls"] = [{"index": i, **c} for i, c in enumerate(delta["tool_calls"])]
    chunks = [
        {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": result.finish_reason}]},
    ]
    if include_usage:
        chunks.append({**head, "choices": [], "usage": _usage(result)})
    for chunk in chunks:
        yield f"data: {json.dumps(chunk)}\n\n"
    yield "data: [DONE]\n\n"


def error_body(message: str, type_: str, code: str | None = None) -> dict:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": type_, "code": code or type_}}


def message_text(message: dict) -> str:
    """The text of a message whose content is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def estimate_tokens(text: str) -> int:
    """A rough token count (4 characters a token) for models that report none."""
    return (len(text) + 3) // 4


def _usage(result: ChatResult) -> dict:
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "total_tokens": result.prompt_tokens + result.completion_tokens,
    }


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)
