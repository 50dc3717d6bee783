"""Tool calls in the raw text of an open model, turned into OpenAI ``tool_calls``.

A local model (the ``hf:`` backend) answers with text; its chat template taught it one of a few
conventions for calling tools. :func:`parse_tool_calls` recognises the common families:

- Hermes / Qwen: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, any number;
- Llama 3: the whole reply is one JSON object ``{"name": ..., "parameters": {...}}``
  (optionally after ``<|python_tag|>``), or several separated by ``;``;
- Mistral: ``[TOOL_CALLS] [{"name": ..., "arguments": {...}}, ...]``.

A reply that looks like a tool call but cannot be read (bad JSON, no name, arguments that are
not an object) comes back as plain text with ``error`` saying what was wrong, as an API would
return a model's malformed output: the agent sees it and can try again.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field

_HERMES = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_MISTRAL = "[TOOL_CALLS]"
_PYTHON_TAG = "<|python_tag|>"


@dataclass(frozen=True)
class ParsedReply:
    """What a model's text says: the text left over, the tool calls, and why a call that was
    attempted could not be read (None when nothing was wrong)."""

    content: str
    tool_calls: list[dict] = field(default_factory=list)
    error: str | None = None


class _Malformed(ValueError):
    pass


def parse_tool_calls(text: str) -> ParsedReply:
    """Split a model's raw reply into text and OpenAI-format tool calls (see module docstring)."""
    try:
        if "<tool_call>" in text:
            return _hermes(text)
        stripped = text.strip()
        if stripped.startswith(_MISTRAL):
            return ParsedReply("", _calls(_load(stripped[len(_MISTRAL):]), "arguments"))
        if stripped.startswith(_PYTHON_TAG):
            return _llama(stripped[len(_PYTHON_TAG):], strict=True)
        if stripped.startswith("{") and stripped.endswith("}"):
            return _llama(stripped, strict=False)
    except _Malformed as e:
        return ParsedReply(text, [], f"the model's tool call could not be read: {e}")
    return ParsedReply(text)


def _hermes(text: str) -> ParsedReply:
    calls = []
    for raw in _HERMES.findall(text):
        calls.extend(_calls(_load(raw), "arguments"))
    content = _HERMES.sub("", text).strip()
    return ParsedReply(content, calls)


def _llama(text: str, *, strict: bool) -> ParsedReply:
    """A Llama 3 reply: JSON objects with ``name`` and ``parameters``. Without the python tag, a
    JSON object that has no ``name`` is just a JSON answer, not a tool call."""
    parts = [p for p in _split_top_level(text, ";") if p.strip()]
    try:
        objects = [_load(p) for p in parts]
    except _Malformed:
        if strict:
            raise
        return ParsedReply(text)
    if not strict and not all(isinstance(o, dict) and "name" in o for o in objects):
        return ParsedReply(text)
    calls = []
    for obj in objects:
        calls.extend(_calls(obj, "parameters" if "parameters" in obj else "arguments"))
    return ParsedReply("", calls)


def _load(raw: str) -> object:
    try:
        return json.loads(raw.strip())
    except json.JSONDecodeError as e:
        raise _Malformed(f"not JSON ({e.msg} at character {e.pos})") from None


def _calls(value: object, arguments_key: str) -> list[dict]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _Malformed("an empty list of tool calls")
    return [_one(item, arguments_key) for item in items]


def _one(item: object, arguments_key: str) -> dict:
    if not isinstance(item, dict):
        raise _Malformed(f"a tool call must be a JSON object, got {type(item).__name__}")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise _Malformed("a tool call has no name")
    arguments = item.get(arguments_key, item.get("arguments", {}))
    if isinstance(arguments, str):  # some templates emit the arguments already encoded
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            raise _Malformed(f"the arguments of {name} are not JSON") from None
    if not isinstance(arguments, dict):
        raise _Malformed(f"the arguments of {name} must be an object, got {type(arguments).__name__}")
    return {
        "id": f"call_{uuid.uuid4().hex[:24]}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def _split_top_level(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside JSON strings, brackets and braces."""
    parts, depth, start, in_string, escaped = [], 0, 0, False, False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts
