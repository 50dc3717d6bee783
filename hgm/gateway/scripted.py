"""Scripted models: deterministic backends for tests, demos and dry runs (no API, no network).

Specs (after the ``scripted:`` prefix), each optionally followed by ``?cost_usd=0.002``:

``NAME``
    A model registered in :data:`SCRIPTED_MODELS` (``"name" -> "module:attr"``, imported
    lazily). Ships with ``echo`` (replies with the text of the last user message) and
    ``finisher`` (calls a tool named ``finish`` whenever tools are offered, else says "done"),
    and ``demo`` (:class:`hgm.testing.DemoModel`, which drives the seed agent through a run).
    Other modules add entries with :func:`register_scripted`.
``module:attr``
    A Python object. A class is instantiated with the spec's parameters; an object with a
    ``complete`` method is used as the backend; any other callable is a reply function
    ``fn(request: ChatRequest, scope: Scope) -> dict | ChatResult`` where a dict is an assistant
    message (``content`` and/or ``tool_calls``) and is charged the default cost.
``path/to/script.yaml``
    A YAML script::

        cost_usd: 0.001          # optional: the default cost of each reply
        model: my-script         # optional: the model name reported in replies
        replies:                 # consumed in order, separately for each Scope
          - content: "Let me look."
            tool_calls:
              - name: bash
                arguments: {command: "ls"}      # a mapping is sent as JSON
          - tool_calls:
              - name: finish
                arguments: '{"summary": "bro'   # a string is sent as is (malformed on purpose)
            cost_usd: 0.01                      # optional: this reply's cost
          - error: "the model refused"          # raise ModelError (permanent)
          - transient_error: "rate limited"     # raise TransientModelError (retried)
        when:                    # optional rules, tried first, in order, never consumed
          - contains: "Traceback"               # a substring (or a list: any of them) of the
            kind: evaluation                    # last message's text; optional scope kind
            reply: {content: "Fix the error."}

    ``replies`` may also be a mapping from scope kind (``expansion``, ``evaluation``,
    ``diagnosis``, ``other``) to a list, with ``default`` for the kinds not listed; the top
    level may be just the list of replies. When a scope's replies run out the model raises
    :class:`ModelError`.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from hgm.gateway import (
    ChatRequest,
    ChatResult,
    ModelBackend,
    ModelError,
    Scope,
    TransientModelError,
    spec_params,
)
from hgm.gateway.openai_format import estimate_tokens, message_text

DEFAULT_COST_USD = 0.001

SCRIPTED_MODELS: dict[str, str] = {
    "echo": "hgm.gateway.scripted:EchoModel",
    "finisher": "hgm.gateway.scripted:FinisherModel",
    # The deterministic model that drives the seed agent through a whole demo run.
    "demo": "hgm.testing:DemoModel",
}


def register_scripted(name: str, target: str) -> None:
    """Make ``scripted:NAME`` resolve to ``target`` (``"module:attr"``, imported on first use)."""
    if ":" not in target:
        raise ValueError(f"target must look like 'module:attr', got {target!r}")
    SCRIPTED_MODELS[name] = target


class ScriptedModel:
    """Base of scripted backends: subclasses write :meth:`reply`; this adds cost and tokens."""

    name = "scripted"

    def __init__(self, cost_usd: float = DEFAULT_COST_USD, name: str | None = None) -> None:
        self.cost_usd = float(cost_usd)
        if name:
            self.name = name
        self._ids = itertools.count(1)

    def reply(self, request: ChatRequest, scope: Scope) -> dict | ChatResult:
        raise NotImplementedError

    def max_cost_usd(self, request: ChatRequest) -> float | None:
        """The most a call may cost, which the gateway reserves from the budget before it.

        A scripted reply costs ``cost_usd`` whatever its length. A reply function that returns
        its own :class:`ChatResult` may charge otherwise; the gateway then settles what it says.
        """
        return self.cost_usd

    def complete(self, request: ChatRequest, scope: Scope) -> ChatResult:
        out = self.reply(request, scope)
        if isinstance(out, ChatResult):
            return out
        return self.result(out, request)

    def result(
        self, reply: dict, request: ChatRequest, cost_usd: float | None = None
    ) -> ChatResult:
        """Turn a short reply (content, tool_calls with name + arguments) into a ChatResult."""
        if not isinstance(reply, dict):
            raise ModelError(f"scripted model {self.name!r} replied with {type(reply).__name__}")
        calls = [self._tool_call(c) for c in reply.get("tool_calls") or []]
        message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
        if calls:
            message["tool_calls"] = calls
        prompt = json.dumps(request.messages, default=str)
        completion = json.dumps(message, default=str)
        return ChatResult(
            message=message,
            finish_reason="tool_calls" if calls else "stop",
            prompt_tokens=estimate_tokens(prompt),
            completion_tokens=estimate_tokens(completion),
            cost_usd=self.cost_usd if cost_usd is None else float(cost_usd),
            model=self.name,
        )

    def _tool_call(self, call: Any) -> dict:
        if not isinstance(call, dict):
            raise ModelError(f"scripted model {self.name!r}: a tool call must be a mapping")
        fn = call.get("function", call)
        args = fn.get("arguments", {})
        return {
            "id": call.get("id") or f"call_{next(self._ids)}",
            "type": "function",
            "function": {
                "name": fn.get("name"),
                "arguments": args if isinstance(args, str) else json.dumps(args),
            },
        }


class EchoModel(ScriptedModel):
    """Replies with the text of the last user message."""

    name = "echo"

    def reply(self, request: ChatRequest, scope: Scope) -> dict:
        users = [m for m in request.messages if m.get("role") == "user"]
        return {"content": message_text(users[-1]) if users else ""}


class FinisherModel(ScriptedModel):
    """Calls ``finish`` whenever tools are offered, filling its required string fields."""

    name = "finisher"

    def reply(self, request: ChatRequest, scope: Scope) -> dict:
        if not request.tools:
            return {"content": "done"}
        return {"tool_calls": [{"name": "finish", "arguments": _finish_arguments(request.tools)}]}


def _finish_arguments(tools: list[dict]) -> dict:
    for tool in tools:
        fn = tool.get("function", tool)
        if fn.get("name") == "finish":
            params = fn.get("parameters") or {}
            props = params.get("properties") or {}
            return {
                k: "done"
                for k in params.get("required", [])
                if props.get(k, {}).get("type", "string") == "string"
            }
    return {}


class CallableModel(ScriptedModel):
    """Wraps a reply function ``fn(request, scope) -> dict | ChatResult``."""

    def __init__(
        self, fn: Callable[..., Any], name: str, cost_usd: float = DEFAULT_COST_USD
    ) -> None:
        super().__init__(cost_usd, name)
        self._fn = fn

    def reply(self, request: ChatRequest, scope: Scope) -> dict | ChatResult:
        return self._fn(request, scope)


# --- YAML scripts -------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ToolCallSpec(_Spec):
    name: str
    arguments: dict | str = {}
    id: str | None = None


class ReplySpec(_Spec):
    content: str | None = None
    tool_calls: list[ToolCallSpec] | None = None
    cost_usd: float | None = None
    error: str | None = None
    transient_error: str | None = None


class RuleSpec(_Spec):
    contains: str | list[str] | None = None
    kind: str | None = None
    reply: ReplySpec

    def matches(self, text: str, scope: Scope) -> bool:
        if self.kind is not None and self.kind != scope.kind:
            return False
        needles = [self.contains] if isinstance(self.contains, str) else self.contains
        return needles is None or any(n in text for n in needles)


class ScriptSpec(_Spec):
    cost_usd: float = DEFAULT_COST_USD
    model: str | None = None
    replies: list[ReplySpec] | dict[str, list[ReplySpec]] = []
    when: list[RuleSpec] = []


class YamlScriptModel(ScriptedModel):
    """Replies from a YAML script, in order per scope (see the module docstring)."""

    def __init__(self, path: Path, cost_usd: float | None = None) -> None:
        script = load_script(path)
        super().__init__(
            script.cost_usd if cost_usd is None else cost_usd, script.model or path.stem
        )
        self.script = script
        self._next: dict[Scope, int] = {}
        self._lock = threading.Lock()

    def max_cost_usd(self, request: ChatRequest) -> float | None:
        """The dearest reply the script can give (its default or any reply's own cost)."""
        replies = self.script.replies
        pools = replies.values() if isinstance(replies, dict) else [replies]
        costs = [r.cost_usd for pool in pools for r in pool]
        costs += [rule.reply.cost_usd for rule in self.script.when]
        return max([self.cost_usd, *(c for c in costs if c is not None)])

    def complete(self, request: ChatRequest, scope: Scope) -> ChatResult:
        spec = self._pick(request, scope)
        if spec.transient_error is not None:
            raise TransientModelError(spec.transient_error)
        if spec.error is not None:
            raise ModelError(spec.error)
        reply = spec.model_dump(include={"content", "tool_calls"}, exclude_none=True)
        return self.result(reply, request, spec.cost_usd)

    def _pick(self, request: ChatRequest, scope: Scope) -> ReplySpec:
        text = message_text(request.messages[-1]) if request.messages else ""
        for rule in self.script.when:
            if rule.matches(text, scope):
                return rule.reply
        replies = self.script.replies
        if isinstance(replies, dict):
            replies = replies.get(scope.kind, replies.get("default", []))
        with self._lock:
            i = self._next.get(scope, 0)
            self._next[scope] = i + 1
        if i >= len(replies):
            raise ModelError(
                f"scripted model {self.name!r} has no reply left for {scope} "
                f"(its script has {len(replies)} for this scope)"
            )
        return replies[i]


def load_script(path: Path) -> ScriptSpec:
    """Read and check a YAML script; a bad script raises ValueError naming the file."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ValueError(f"cannot read scripted model {path}: {e}") from None
    if isinstance(data, list):
        data = {"replies": data}
    try:
        return ScriptSpec.model_validate(data or {})
    except ValidationError as e:
        raise ValueError(f"bad scripted model {path}: {e}") from None


# --- resolution ---------------------------------------------------------------------------


def scripted_backend(spec: str) -> ModelBackend:
    """Build the backend for ``scripted:<spec>`` (see the module docstring)."""
    target, _, query = spec.partition("?")
    params = spec_params(query)
    if target.endswith((".yaml", ".yml")):
        path = Path(target).expanduser()
        if not path.is_file():
            raise ValueError(f"scripted model script not found: {path}")
        return YamlScriptModel(path, **params)
    if ":" in target:
        return _from_object(target, target, params)
    if target in SCRIPTED_MODELS:
        return _from_object(SCRIPTED_MODELS[target], target, params)
    raise ValueError(
        f"unknown scripted model {target!r}; choose one of: {', '.join(sorted(SCRIPTED_MODELS))}, "
        "or give 'module:function' or a path to a .yaml script"
    )


def _from_object(target: str, name: str, params: dict[str, Any]) -> ModelBackend:
    module_name, _, attr = target.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load scripted model {target!r}: {e}") from None
    if inspect.isclass(obj):
        return obj(**params)
    if callable(getattr(obj, "complete", None)):
        return obj
    if callable(obj):
        return CallableModel(obj, name, **params)
    raise ValueError(f"scripted model {target!r} is neither a backend nor a callable")
