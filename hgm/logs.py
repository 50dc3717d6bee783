"""What `hgm logs` shows: an evaluation's trajectory and test log, and a node's LLM calls.

A trajectory is written by the agent under evaluation, so it is untrusted: it may be any JSON,
or not JSON at all, nested absurdly deep, or huge. Reading it never raises; every piece of
text is folded to a bounded size with a marker saying how much was left out. The seed agent's
format (see ``hgm/seed_agent/agent/loop.py``) is shown message by message; a trajectory the
harness wrote for an agent that wrote none (``missing_trajectory``) shows the agent's output;
anything else is shown as folded JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from hgm.archive import ArchiveError, Run
from hgm.types import Evaluation
from hgm.views import ViewError, require_node

MAX_ENTRIES = 400  # messages shown from one trajectory; the rest are counted
MAX_CALLS = 300  # LLM calls listed; the earliest beyond this are counted
MAX_CALLS_PER_MESSAGE = 20  # tool calls shown from one message
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # all but \t and \n: no terminal escapes


@dataclass(frozen=True)
class Entry:
    """One step of a trajectory as shown: who (``role``), a one-line ``title``, folded ``text``."""

    role: str
    title: str
    text: str


@dataclass(frozen=True)
class EvalLog:
    """One evaluation with its trajectory and test log, ready to print."""

    evaluation: Evaluation
    header: list[tuple[str, str]]
    entries: list[Entry]
    test_log: str | None
    notes: list[str]  # what could not be read or was left out


@dataclass(frozen=True)
class CallSummary:
    """One LLM call, its request and response summarised in a line each."""

    id: int
    scope: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_s: float
    error: str | None
    request: str
    response: str


@dataclass(frozen=True)
class NodeLogs:
    """`hgm logs`: the node's evaluations, the one shown in full, and optionally its LLM calls."""

    node: int
    evaluations: list[Evaluation]
    shown: EvalLog | None
    calls: list[CallSummary] | None
    calls_left_out: int = 0


# -- folding ----------------------------------------------------------------------------------
def clean(text: str) -> str:
    """Text safe for a terminal: control characters (escape sequences) shown as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def fold(text: str, max_lines: int = 40, max_chars: int = 3000) -> str:
    """``text`` cut to about ``max_lines`` lines and ``max_chars`` characters, head and tail
    kept, with a marker in the middle saying how many lines and characters were folded."""
    text = clean(text)
    if text.count("\n") < max_lines and len(text) <= max_chars:
        return text
    head_lines = max(1, max_lines // 3)
    head_end = min(_after_lines(text, head_lines), max_chars // 3)
    # The tail gets the rest of both budgets and never overlaps the head.
    tail_start = max(_last_lines_start(text, max_lines - head_lines), len(text) - (max_chars - head_end), head_end)
    middle = text[head_end:tail_start]
    if not middle:
        return text
    marker = f"… {len(middle):,} characters ({middle.count(chr(10)):,} lines) folded …"
    head = text[:head_end]
    head = head[:-1] if head.endswith("\n") else head  # the join below puts that newline back
    return "\n".join(p for p in (head, marker, text[tail_start:]) if p)


def _after_lines(text: str, n: int) -> int:
    """The index just past the first ``n`` lines of ``text``."""
    pos = 0
    for _ in range(n):
        found = text.find("\n", pos)
        if found < 0:
            return len(text)
        pos = found + 1
    return pos


def _last_lines_start(text: str, n: int) -> int:
    """The index where the last ``n`` lines of ``text`` begin."""
    pos = len(text) - 1 if text.endswith("\n") else len(text)
    for _ in range(max(1, n)):
        found = text.rfind("\n", 0, pos)
        if found < 0:
            return 0
        pos = found
    return pos + 1


def _dump(value: object, indent: int | None = None) -> str:
    """JSON text of any decoded value; never raises (deep nesting ends in a note)."""
    try:
        return json.dumps(value, indent=indent, default=str, ensure_ascii=False)
    except (RecursionError, ValueError, TypeError):
        return "<a value too deeply nested to print>"


def _too_deep(value: object, limit: int = 200) -> bool:
    """Whether ``value`` nests lists and dicts more than ``limit`` levels (checked without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _as_text(value: object) -> str:
    """Message content as text: a string, a list of content parts, or anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if value and all(isinstance(p, str) for p in value):  # e.g. the seed agent's errors
            return "\n".join(value)
        parts = [p.get("text") if isinstance(p, dict) else None for p in value]
        if parts and all(isinstance(p, str) for p in parts):
            return "\n".join(parts)
    return _dump(value)


def decode(data: bytes) -> object:
    """The artifact as JSON if it is JSON (and not absurdly nested), else as text (never raises)."""
    text = data.decode("utf-8", errors="replace")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return text if _too_deep(value) else value


# -- trajectories -----------------------------------------------------------------------------
_HEADER_KEYS = (
    "model", "steps", "max_steps", "finish_reason", "summary", "usage", "errors",
    "missing_trajectory", "exit_code", "timed_out", "error",
)


def trajectory_view(traj: object) -> tuple[list[tuple[str, str]], list[Entry], list[str]]:
    """Header fields, entries and notes of a decoded trajectory of any shape."""
    if not isinstance(traj, dict):
        text = traj if isinstance(traj, str) else _dump(traj, indent=1)
        return [], [Entry("raw", "trajectory (not in a known format)", fold(text, 200, 20_000))], []
    header = [(k, fold(_as_text(traj[k]), 8, 800)) for k in _HEADER_KEYS if k in traj and traj[k] not in (None, [], "")]
    messages, calls = traj.get("messages"), traj.get("tool_calls")
    if isinstance(messages, list):
        return header, *_capped(messages, _message_entries, "messages")
    if isinstance(calls, list):
        return header, *_capped(calls, _call_entries, "tool calls")
    entries = [Entry(k, k, fold(_as_text(traj[k]), 60, 6000)) for k in ("stdout", "stderr") if traj.get(k)]
    if not entries and not header:
        entries = [Entry("raw", "trajectory (not in a known format)", fold(_dump(traj, indent=1), 200, 20_000))]
    return header, entries, []


def _capped(items: list, build, what: str) -> tuple[list[Entry], list[str]]:
    """Entries of ``items`` until :data:`MAX_ENTRIES`; a note counts the items left out."""
    entries: list[Entry] = []
    for i, item in enumerate(items):
        if len(entries) >= MAX_ENTRIES:
            return entries, [f"{len(items) - i:,} more {what} not shown (see --json)"]
        entries.extend(build(item))
    return entries, []


def _message_entries(message: object) -> list[Entry]:
    if not isinstance(message, dict):
        return [Entry("raw", "message (not an object)", fold(_dump(message), 10, 1000))]
    role = message.get("role")
    role = clean(role)[:40] if isinstance(role, str) and role else "?"
    title = role
    if role == "tool" and message.get("tool_call_id"):
        title = f"tool result ({clean(str(message['tool_call_id']))[:80]})"
    limits = (12, 1500) if role == "system" else (40, 3000)
    entries = []
    text = _as_text(message.get("content"))
    if text or not message.get("tool_calls"):
        entries.append(Entry(role, title, fold(text, *limits)))
    calls = message.get("tool_calls")
    calls = calls if isinstance(calls, list) else []
    for call in calls[:MAX_CALLS_PER_MESSAGE]:
        function = call.get("function") if isinstance(call, dict) else None
        function = function if isinstance(function, dict) else {}
        entries.append(_call_entry(function.get("name"), function.get("arguments")))
    if len(calls) > MAX_CALLS_PER_MESSAGE:
        entries.append(Entry("raw", f"{len(calls) - MAX_CALLS_PER_MESSAGE:,} more tool calls in this message not shown", ""))
    return entries


def _call_entries(call: object) -> list[Entry]:
    """A tool call recorded as {name, arguments, output} (the seed agent's ``tool_calls``)."""
    if not isinstance(call, dict):
        return [Entry("raw", "tool call (not an object)", fold(_dump(call), 10, 1000))]
    entries = [_call_entry(call.get("name"), call.get("arguments"))]
    if "output" in call:
        entries.append(Entry("tool", "tool result", fold(_as_text(call["output"]))))
    return entries


def _call_entry(name: object, arguments: object) -> Entry:
    """A tool call: the name as title, each argument on its own line (long ones folded)."""
    if isinstance(arguments, str):
        arguments = decode(arguments.encode("utf-8", errors="replace"))
    if isinstance(arguments, dict):
        lines = []
        for key, value in arguments.items():
            value = value if isinstance(value, str) else _dump(value)
            sep = "\n" if "\n" in value else " "
            lines.append(f"{clean(str(key))[:80]}:{sep}{fold(value, 20, 2000)}")
        text = fold("\n".join(lines), 80, 8000)  # many arguments: bounded all together too
    else:
        text = fold(_as_text(arguments), 20, 2000)
    title = f"call {clean(name)[:80]}" if isinstance(name, str) and name else "call (no tool name)"
    return Entry("call", title, text)


# -- the command's data -----------------------------------------------------------------------
def node_logs(run: Run, node_id: int, task: str | None = None, llm: bool = False) -> NodeLogs:
    """The node's evaluations and the latest one (of ``task``, when given) in full.

    :class:`ViewError` when the node or the task does not exist, or the node has no
    evaluation to show (unless ``llm``: then its LLM calls are shown alone).
    """
    node = require_node(run, node_id)
    evaluations = run.evaluations(node.id)
    chosen = _choose(run, node.id, evaluations, task, llm)
    shown = None if chosen is None else eval_log(run, chosen)
    calls, left_out = (None, 0)
    if llm:
        rows = run.llm_calls(node.id)
        left_out = max(0, len(rows) - MAX_CALLS)
        calls = [summarise_call(r) for r in rows[left_out:]]
    return NodeLogs(node.id, evaluations, shown, calls, left_out)


def _choose(run: Run, node: int, evaluations: list[Evaluation], task: str | None, llm: bool) -> Evaluation | None:
    if task is not None:
        if task not in run.task_ids:
            raise ViewError(f"run {run.path} has no task {task!r}")
        of_task = [e for e in evaluations if e.task == task]
        if not of_task:
            raise ViewError(f"node {node} has no evaluation of task {task!r}")
        return of_task[-1]
    if not evaluations and not llm:
        raise ViewError(f"node {node} of run {run.path} has no evaluations (try --llm for its LLM calls)")
    return evaluations[-1] if evaluations else None


def _artifact(run: Run, ref: str | None, what: str, notes: list[str]) -> bytes | None:
    if not ref:
        notes.append(f"no {what} was recorded")
        return None
    try:
        return run.artifact(ref)
    except (KeyError, ValueError, OSError, ArchiveError) as e:
        notes.append(f"the {what} cannot be read: {clean(str(e))}")
        return None


def eval_log(run: Run, evaluation: Evaluation) -> EvalLog:
    """One evaluation's trajectory and test log, folded for printing."""
    notes: list[str] = []
    data = _artifact(run, evaluation.trajectory, "trajectory", notes)
    header, entries = [], []
    if data is not None:
        header, entries, more = trajectory_view(decode(data))
        notes.extend(more)
    log = _artifact(run, evaluation.test_log, "test log", notes)
    test_log = None if log is None else fold(log.decode("utf-8", errors="replace"), 120, 12_000)
    return EvalLog(evaluation, header, entries, test_log, notes)


def summarise_call(row: dict) -> CallSummary:
    """An ``llm_calls`` row with its request and response in a line each."""
    return CallSummary(
        id=int(row.get("id") or 0),
        scope=_scope(row.get("scope_kind"), row.get("scope_id")),
        model=clean(str(row.get("model"))),
        prompt_tokens=int(row.get("prompt_tokens") or 0),
        completion_tokens=int(row.get("completion_tokens") or 0),
        cost_usd=float(row.get("cost_usd") or 0.0),
        latency_s=float(row.get("latency_s") or 0.0),
        error=None if not row.get("error") else fold(str(row["error"]), 3, 300),
        request=_request_line(row.get("request")),
        response=_response_line(row.get("response")),
    )


def _scope(kind: object, ref: object) -> str:
    kind, ref = str(kind or "?"), str(ref or "")
    return clean(ref if ref.startswith(kind) else f"{kind} {ref}".strip())


def _line(text: str, limit: int = 160) -> str:
    text = " ".join(clean(text).split())
    return text if len(text) <= limit else text[:limit] + f"… (+{len(text) - limit:,} chars)"


def _request_line(request: object) -> str:
    messages = request.get("messages") if isinstance(request, dict) else None
    if not isinstance(messages, list) or not messages:
        return _line(_dump(request))
    last = messages[-1]
    if not isinstance(last, dict):
        return f"{len(messages)} messages"
    return f"{len(messages)} messages; last {clean(str(last.get('role')))[:20]}: " + _line(_as_text(last.get("content")), 120)


def _response_line(response: object) -> str:
    if response is None:
        return "—"
    choices = response.get("choices") if isinstance(response, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    if not isinstance(message, dict):
        return _line(_dump(response))
    calls = message.get("tool_calls")
    names = []
    for call in calls[:MAX_CALLS_PER_MESSAGE] if isinstance(calls, list) else []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            names.append(f"{function.get('name')}({_line(_as_text(function.get('arguments')), 60)})")
    text = _line(_as_text(message.get("content")), 120)
    return " · ".join(p for p in (text, *(f"→ {_line(n, 80)}" for n in names)) if p) or "(empty)"


def raw_logs(run: Run, node_id: int, task: str | None = None, llm: bool = False) -> dict:
    """`hgm logs --json`: the records unfolded: evaluation rows, the shown evaluation's
    trajectory (``trajectory_content``: decoded JSON when it is JSON, else text) and test log
    (``test_log_content``), and with ``llm`` the node's LLM call rows."""
    node = require_node(run, node_id)
    evaluations = run.evaluations(node.id)
    chosen = _choose(run, node.id, evaluations, task, llm)
    shown = None
    if chosen is not None:
        notes: list[str] = []
        traj = _artifact(run, chosen.trajectory, "trajectory", notes)
        log = _artifact(run, chosen.test_log, "test log", notes)
        decoded = None if traj is None else decode(traj)
        shown = asdict(chosen) | {
            "trajectory_content": decoded,
            "test_log_content": None if log is None else log.decode("utf-8", errors="replace"),
            "notes": notes,
        }
    data = {"node": node.id, "evaluations": [asdict(e) for e in evaluations], "evaluation": shown}
    if llm:
        data["llm_calls"] = run.llm_calls(node.id)
    return data
