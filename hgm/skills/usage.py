"""Which skills an evaluation searched, read and ran, parsed from its trajectory.

The trajectory is written by the agent (the seed agent's format is in
``hgm/seed_agent/agent/loop.py``: a JSON object whose ``tool_calls`` list holds every call with
its ``name``, ``arguments`` (a JSON string), ``ok`` and ``output``). A later agent may change
that format, and any agent may write anything at all, so :func:`skill_usage` reads defensively
and never raises: malformed JSON, wrong types, deep nesting or a huge file give what can be
read, or nothing.

Counted:
- ``searched``: the ``query`` of each ``search_skills`` call.
- ``read``: the skill of each ``read_skill`` call the agent's tool did not refuse (an answer
  starting with ``Error:`` means no such skill was read), and ``bash`` commands that print a
  skill's SKILL.md.
- ``ran``: the skill of each ``run_skill`` call that was not refused (a call whose skill raised
  still ran), and ``bash`` commands that mention ``skills/<name>`` and start python, pytest
  or a shell, or a program in the skill's folder.
Each list keeps the first occurrence of each entry, in order, and is capped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_TRAJECTORY_BYTES = 64 << 20
"""A longer trajectory is not parsed (hgm keeps trajectories far shorter; see RunConfig)."""
MAX_ENTRIES = 100
"""At most this many queries, and skill names, per list."""
MAX_QUERY_CHARS = 300
MAX_COMMAND_CHARS = 100_000

_NAME = r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?"
NAME_RE = re.compile(rf"^{_NAME}$")
# skills/<name> at the start of a path (or after a / of a longer one), followed by / or an end.
_SKILL_PATH = re.compile(rf"(?:^|(?<=[\s'\"=:(/]))skills/({_NAME})(?![a-z0-9-])")
_SEGMENTS = re.compile(r"&&|\|\||[;|&()\n`]")
_RUNNERS = re.compile(r"^(?:python[0-9.]*|pytest|py\.test|bash|sh)$")
_VIEWERS = frozenset({"cat", "head", "tail", "less", "more", "sed", "awk", "grep", "bat"})
_PREFIXES = frozenset({"env", "time", "exec", "nohup", "command", "timeout", "sudo"})


@dataclass(frozen=True)
class SkillUsage:
    """What one evaluation did with skills (see the module docstring)."""

    searched: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    ran: tuple[str, ...] = ()

    @property
    def used(self) -> tuple[str, ...]:
        """The skills read or ran, each once."""
        return tuple(dict.fromkeys(self.read + self.ran))


@dataclass(frozen=True)
class _Call:
    name: str
    arguments: dict[str, Any]
    output: str | None


def skill_usage(trajectory: bytes) -> SkillUsage:
    """The skills searched, read and ran in ``trajectory`` (a trajectory.json's bytes).

    Never raises: what cannot be read counts as no use.
    """
    try:
        return _usage(_calls(_load(trajectory)))
    except Exception:  # noqa: BLE001 - agent-written input: a parser bug must not stop a run
        return SkillUsage()


def _usage(calls: Iterator[_Call]) -> SkillUsage:
    searched: dict[str, None] = {}
    read: dict[str, None] = {}
    ran: dict[str, None] = {}
    for call in calls:
        refused = call.output is not None and call.output.lstrip().startswith("Error:")
        skill = call.arguments.get("name")
        if call.name == "search_skills" and isinstance(call.arguments.get("query"), str):
            _add(searched, " ".join(call.arguments["query"].split())[:MAX_QUERY_CHARS])
        elif call.name == "read_skill" and _is_name(skill) and not refused:
            _add(read, skill)
        elif call.name == "run_skill" and _is_name(skill) and not refused:
            _add(ran, skill)
        elif call.name == "bash" and isinstance(call.arguments.get("command"), str):
            command = call.arguments["command"][:MAX_COMMAND_CHARS]
            names = _SKILL_PATH.findall(command)
            programs = _programs(command) if names else []
            if any(_RUNNERS.match(p) or _SKILL_PATH.search(p) for p in programs):
                for name in names:
                    _add(ran, name)
            elif "SKILL.md" in command and any(p in _VIEWERS for p in programs):
                for name in names:
                    _add(read, name)
    return SkillUsage(tuple(searched), tuple(read), tuple(ran))


def _programs(command: str) -> list[str]:
    """The program each simple command of a shell line starts (a guess: no real parsing).

    A runner (python, pytest, sh) is named by its base name; a program given by a path that
    runs from a skill's folder keeps its path, so it can be told apart.
    """
    programs = []
    for segment in _SEGMENTS.split(command):
        words = [w.strip("'\"") for w in segment.split()]
        while words and ("=" in words[0] or words[0] in _PREFIXES or words[0].isdigit()):
            words.pop(0)
        if words:
            program = words[0]
            programs.append(program if _SKILL_PATH.search(program) else program.rsplit("/", 1)[-1])
    return programs


def _add(seen: dict[str, None], item: str) -> None:
    if item and len(seen) < MAX_ENTRIES:
        seen.setdefault(item, None)


def _is_name(value: object) -> bool:
    return isinstance(value, str) and NAME_RE.match(value) is not None


# -- reading the trajectory ------------------------------------------------------------------
def _load(trajectory: object) -> object:
    """The parsed JSON, or, for a trajectory hgm cut short, the calls that survive whole."""
    if isinstance(trajectory, bytes | bytearray | memoryview):
        if len(trajectory) > MAX_TRAJECTORY_BYTES:
            return None
        text = bytes(trajectory).decode("utf-8", errors="replace")
    elif isinstance(trajectory, str):
        if len(trajectory) > MAX_TRAJECTORY_BYTES:
            return None
        text = trajectory
    else:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return {"tool_calls": _salvage_tool_calls(text)}


def _salvage_tool_calls(text: str) -> list:
    """The complete entries of the ``tool_calls`` list of a truncated trajectory."""
    start = text.find('"tool_calls": [')
    if start < 0:
        return []
    decoder, i, calls = json.JSONDecoder(), start + len('"tool_calls": ['), []
    while len(calls) < 100_000:
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        if i >= len(text) or text[i] != "{":
            break
        try:
            call, i = decoder.raw_decode(text, i)
        except (ValueError, RecursionError):
            break
        calls.append(call)
    return calls


def _calls(data: object) -> Iterator[_Call]:
    """Every tool call: from ``tool_calls`` when it is a list, else from the messages."""
    if not isinstance(data, dict):
        return
    records = data.get("tool_calls")
    if isinstance(records, list):
        for record in records:
            if isinstance(record, dict) and isinstance(record.get("name"), str):
                output = record.get("output")
                yield _Call(
                    record["name"],
                    _arguments(record.get("arguments")),
                    output if isinstance(output, str) else None,
                )
        return
    yield from _calls_from_messages(data.get("messages"))


def _calls_from_messages(messages: object) -> Iterator[_Call]:
    if not isinstance(messages, list):
        return
    results = {}
    for m in messages:
        if isinstance(m, dict) and m.get("role") == "tool" and isinstance(m.get("content"), str):
            results[str(m.get("tool_call_id"))] = m["content"]
    for m in messages:
        calls = (
            m.get("tool_calls") if isinstance(m, dict) and m.get("role") == "assistant" else None
        )
        for call in calls if isinstance(calls, list) else []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("name"), str):
                output = results.get(str(call.get("id")))
                yield _Call(function["name"], _arguments(function.get("arguments")), output)


def _arguments(arguments: object) -> dict[str, Any]:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments[: MAX_COMMAND_CHARS * 2])
        except (ValueError, RecursionError):
            return {}
    return arguments if isinstance(arguments, dict) else {}
