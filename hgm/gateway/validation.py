"""The allow-list of chat-completion fields an agent may send, each checked before it goes on.

An agent's request is untrusted: fields a client library understands (litellm's ``fallbacks``,
``api_base``, ``mock_response``, per-call prices, ...) would let it send the run's API key to a
server of its choosing, call other models on it, or change what a call costs. So the gateway
forwards only the fields below, checks their types, ranges and shapes, and refuses anything else
with a :class:`BadRequest` that names the field. The ``model`` an agent names is ignored: the
driver alone decides model, endpoint, key, price, fallbacks and retries.

Fields (anything else is refused):

- ``messages`` (required): roles ``system``, ``developer``, ``user``, ``assistant``, ``tool``;
  content a string or a list of ``text`` / ``image_url`` (``data:`` URLs only: the driver must
  never fetch a URL an agent chose) / ``input_audio`` parts; ``tool_calls`` a list of
  ``{id, type: function, function: {name, arguments}}``; ``tool_call_id`` on tool messages.
- ``tools`` (function tools only), ``tool_choice``, ``parallel_tool_calls``.
- ``max_tokens`` / ``max_completion_tokens`` (one number: 1 .. the gateway's cap), ``temperature``
  (0..2), ``top_p`` (0..1), ``presence_penalty`` / ``frequency_penalty`` (-2..2), ``seed``,
  ``stop`` (a string or up to 4), ``response_format``, ``reasoning_effort``, ``user``.
- ``model`` (a string, ignored), ``n`` (1 only), ``stream``, ``stream_options`` (the gateway
  serves these itself; they are not forwarded).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from hgm.gateway import ChatRequest


class BadRequest(ValueError):
    """The request body is not a chat completion request we can serve."""


# Forwarded to the backend in ChatRequest.extra, after their checks.
_FORWARDED = (
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "stop",
    "response_format",
    "parallel_tool_calls",
    "reasoning_effort",
    "user",
)
# Carried by ChatRequest's own fields, or served by the gateway and not forwarded.
_HANDLED = (
    "messages",
    "model",
    "tools",
    "tool_choice",
    "temperature",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "stream",
    "stream_options",
)
ALLOWED_FIELDS = frozenset(_FORWARDED + _HANDLED)

ROLES = ("system", "developer", "user", "assistant", "tool")
_MESSAGE_KEYS = {
    "role", "content", "name", "tool_calls", "tool_call_id", "refusal", "reasoning_content",
    # What OpenAI SDKs put in an assistant message they hand back (None or empty).
    "function_call", "annotations", "audio",
}
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_MAX_TOOLS = 256
# Breadth caps, so that a body under the size cap cannot parse into millions of objects.
_MAX_MESSAGES = 10_000
_MAX_PARTS = 1_000
_MAX_STOP = 4
_MAX_SHORT_TEXT = 256
_SEED_BOUND = 2**63


def check_fields(body: Any, allowed: frozenset[str] | set[str], endpoint: str) -> None:
    """Refuse a body that is not a JSON object, or has a top-level field not in ``allowed``;
    ``endpoint`` names who refuses it ("the gateway", "the embeddings endpoint")."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    for key in body:
        if key not in allowed:
            raise BadRequest(f"field {key!r} is not allowed; {endpoint} accepts only: "
                             + ", ".join(sorted(allowed)))


def parse_chat_request(body: Any, *, max_tokens_cap: int) -> ChatRequest:
    """Check a decoded JSON body against the allow-list and read it into a ChatRequest.

    Raises :class:`BadRequest` naming the first field that is not allowed or not well formed.
    """
    check_fields(body, ALLOWED_FIELDS, "the gateway")
    if "messages" not in body:
        raise BadRequest("'messages' is required and must be a non-empty list")
    for key, value in body.items():
        if value is not None or key == "messages":
            _CHECKS[key](value, key)
    return ChatRequest(
        model=body.get("model") or "",
        messages=body["messages"],
        tools=body.get("tools") or None,
        tool_choice=body.get("tool_choice"),
        temperature=body.get("temperature"),
        max_tokens=_max_tokens(body, max_tokens_cap),
        extra={k: body[k] for k in _FORWARDED if body.get(k) is not None},
    )


def _max_tokens(body: dict, cap: int) -> int | None:
    given = {k: body[k] for k in ("max_tokens", "max_completion_tokens") if body.get(k) is not None}
    if len(set(given.values())) > 1:
        raise BadRequest("'max_tokens' and 'max_completion_tokens' disagree; send one of them")
    value = next(iter(given.values()), None)
    if value is not None and value > cap:
        name = next(iter(given))
        raise BadRequest(f"'{name}' is {value}; the gateway allows at most {cap}")
    return value


# --- field checks: each raises BadRequest naming the field's path -------------------------------


def _fail(path: str, what: str) -> BadRequest:
    return BadRequest(f"'{path}' {what}")


def _number(lo: float, hi: float) -> Callable[[Any, str], None]:
    def check(value: Any, path: str) -> None:
        if not _is_number(value) or not math.isfinite(value) or not lo <= value <= hi:
            raise _fail(path, f"must be a number from {lo:g} to {hi:g}")

    return check


def _integer(lo: int, hi: int) -> Callable[[Any, str], None]:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise _fail(path, f"must be an integer from {lo} to {hi}")

    return check


def _choice(*options: Any) -> Callable[[Any, str], None]:
    def check(value: Any, path: str) -> None:
        if isinstance(value, bool) or value not in options:
            raise _fail(path, f"must be one of: {', '.join(map(str, options))}")

    return check


def _boolean(value: Any, path: str) -> None:
    if not isinstance(value, bool):
        raise _fail(path, "must be true or false")


def _string(value: Any, path: str, max_len: int | None = None) -> None:
    if not isinstance(value, str):
        raise _fail(path, "must be a string")
    if max_len is not None and len(value) > max_len:
        raise _fail(path, f"is longer than {max_len} characters")


def _short_string(value: Any, path: str) -> None:
    _string(value, path, _MAX_SHORT_TEXT)


def _object(value: Any, path: str, allowed: set[str], required: tuple[str, ...] = ()) -> dict:
    if not isinstance(value, dict):
        raise _fail(path, "must be an object")
    for key in value:
        if key not in allowed:
            raise _fail(f"{path}.{key}", f"is not allowed here (allowed: {', '.join(sorted(allowed))})")
    for key in required:
        if value.get(key) is None:
            raise _fail(f"{path}.{key}", "is required")
    return value


def _stop(value: Any, path: str) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list) or len(value) > _MAX_STOP:
        raise _fail(path, f"must be a string or a list of up to {_MAX_STOP} strings")
    for i, item in enumerate(value):
        _string(item, f"{path}[{i}]")


def _response_format(value: Any, path: str) -> None:
    _object(value, path, {"type", "json_schema"}, ("type",))
    _choice("text", "json_object", "json_schema")(value["type"], f"{path}.type")
    if value["type"] == "json_schema":
        schema = _object(
            value.get("json_schema"), f"{path}.json_schema",
            {"name", "description", "schema", "strict"}, ("name",),
        )
        _short_string(schema["name"], f"{path}.json_schema.name")
        if schema.get("schema") is not None and not isinstance(schema["schema"], dict):
            raise _fail(f"{path}.json_schema.schema", "must be an object")


def _stream_options(value: Any, path: str) -> None:
    _object(value, path, {"include_usage"})
    if value.get("include_usage") is not None:
        _boolean(value["include_usage"], f"{path}.include_usage")


def _tools(value: Any, path: str) -> None:
    if not isinstance(value, list) or len(value) > _MAX_TOOLS:
        raise _fail(path, f"must be a list of up to {_MAX_TOOLS} function tools")
    for i, tool in enumerate(value):
        where = f"{path}[{i}]"
        _object(tool, where, {"type", "function"}, ("function",))
        _choice("function")(tool.get("type", "function"), f"{where}.type")
        fn = _object(
            tool["function"], f"{where}.function",
            {"name", "description", "parameters", "strict"}, ("name",),
        )
        _tool_name(fn["name"], f"{where}.function.name")
        if fn.get("description") is not None:
            _string(fn["description"], f"{where}.function.description")
        if fn.get("parameters") is not None and not isinstance(fn["parameters"], dict):
            raise _fail(f"{where}.function.parameters", "must be an object (a JSON schema)")
        if fn.get("strict") is not None:
            _boolean(fn["strict"], f"{where}.function.strict")


def _tool_name(value: Any, path: str) -> None:
    if not isinstance(value, str) or not _TOOL_NAME.match(value):
        raise _fail(path, "must be a tool name: 1-128 letters, digits, '_', '-', '.', ':'")


def _tool_choice(value: Any, path: str) -> None:
    if isinstance(value, str):
        _choice("none", "auto", "required")(value, path)
        return
    _object(value, path, {"type", "function"}, ("function",))
    _choice("function")(value.get("type", "function"), f"{path}.type")
    fn = _object(value["function"], f"{path}.function", {"name"}, ("name",))
    _tool_name(fn["name"], f"{path}.function.name")


def _messages(value: Any, path: str) -> None:
    if not isinstance(value, list) or not value:
        raise _fail(path, "is required and must be a non-empty list")
    if len(value) > _MAX_MESSAGES:
        raise _fail(path, f"has more than {_MAX_MESSAGES} messages")
    for i, message in enumerate(value):
        _message(message, f"{path}[{i}]")


def _message(message: Any, path: str) -> None:
    if not isinstance(message, dict) or not isinstance(message.get("role"), str):
        raise _fail(path, "must be an object with a string 'role'")
    _object(message, path, _MESSAGE_KEYS)
    role = message["role"]
    _choice(*ROLES)(role, f"{path}.role")
    content = message.get("content")
    if content is None and role != "assistant":
        raise _fail(f"{path}.content", "is required")
    if content is not None:
        _content(content, f"{path}.content")
    if message.get("name") is not None:
        _string(message["name"], f"{path}.name", 64)
    if message.get("tool_calls") is not None:
        if role != "assistant":
            raise _fail(f"{path}.tool_calls", "is only allowed on assistant messages")
        _tool_calls(message["tool_calls"], f"{path}.tool_calls")
    if role == "tool":
        _short_string(message.get("tool_call_id"), f"{path}.tool_call_id")
    elif message.get("tool_call_id") is not None:
        raise _fail(f"{path}.tool_call_id", "is only allowed on tool messages")
    for key in ("refusal", "reasoning_content"):
        if message.get(key) is not None:
            _string(message[key], f"{path}.{key}")
    for key in ("function_call", "audio"):
        if message.get(key) is not None:
            raise _fail(f"{path}.{key}", "must be null (not supported)")
    if message.get("annotations") not in (None, []):
        raise _fail(f"{path}.annotations", "must be null or empty (not supported)")


def _content(content: Any, path: str) -> None:
    if isinstance(content, str):
        return
    if not isinstance(content, list) or len(content) > _MAX_PARTS:
        raise _fail(path, f"must be a string or a list of up to {_MAX_PARTS} content parts")
    for i, part in enumerate(content):
        _content_part(part, f"{path}[{i}]")


def _content_part(part: Any, path: str) -> None:
    if not isinstance(part, dict):
        raise _fail(path, "must be an object")
    kind = part.get("type")
    if kind == "text":
        _object(part, path, {"type", "text"}, ("text",))
        _string(part["text"], f"{path}.text")
    elif kind == "image_url":
        _object(part, path, {"type", "image_url"}, ("image_url",))
        image = part["image_url"]
        url = image if isinstance(image, str) else _object(
            image, f"{path}.image_url", {"url", "detail"}, ("url",)
        )["url"]
        if not isinstance(url, str) or not url.startswith("data:"):
            # Some providers' adapters download image URLs from the driver's host.
            raise _fail(f"{path}.image_url.url", "must be a data: URL (the gateway fetches no URL)")
        if isinstance(image, dict) and image.get("detail") is not None:
            _choice("auto", "low", "high")(image["detail"], f"{path}.image_url.detail")
    elif kind == "input_audio":
        _object(part, path, {"type", "input_audio"}, ("input_audio",))
        audio = _object(part["input_audio"], f"{path}.input_audio", {"data", "format"}, ("data", "format"))
        _string(audio["data"], f"{path}.input_audio.data")
        _choice("wav", "mp3")(audio["format"], f"{path}.input_audio.format")
    else:
        raise _fail(f"{path}.type", "must be one of: text, image_url, input_audio")


def _tool_calls(value: Any, path: str) -> None:
    if not isinstance(value, list) or len(value) > _MAX_PARTS:
        raise _fail(path, f"must be a list of up to {_MAX_PARTS} tool calls")
    for i, call in enumerate(value):
        where = f"{path}[{i}]"
        _object(call, where, {"id", "type", "function", "index"}, ("id", "function"))
        _short_string(call["id"], f"{where}.id")
        _choice("function")(call.get("type", "function"), f"{where}.type")
        if call.get("index") is not None:
            _integer(0, _MAX_TOOLS * 16)(call["index"], f"{where}.index")
        fn = _object(call["function"], f"{where}.function", {"name", "arguments"}, ("name",))
        _tool_name(fn["name"], f"{where}.function.name")
        _string(fn.get("arguments", ""), f"{where}.function.arguments")


def _model(value: Any, path: str) -> None:
    _string(value, path, 4096)  # checked for shape only: the driver's model is used


_CHECKS: dict[str, Callable[[Any, str], None]] = {
    "messages": _messages,
    "model": _model,
    "tools": _tools,
    "tool_choice": _tool_choice,
    "parallel_tool_calls": _boolean,
    "temperature": _number(0, 2),
    "top_p": _number(0, 1),
    "presence_penalty": _number(-2, 2),
    "frequency_penalty": _number(-2, 2),
    "max_tokens": _integer(1, 2**31 - 1),
    "max_completion_tokens": _integer(1, 2**31 - 1),
    "seed": _integer(-_SEED_BOUND, _SEED_BOUND - 1),
    "stop": _stop,
    "response_format": _response_format,
    "reasoning_effort": _choice("minimal", "low", "medium", "high"),
    "user": _short_string,
    "n": _choice(1),
    "stream": _boolean,
    "stream_options": _stream_options,
}


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)
