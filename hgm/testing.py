"""Fakes shipped with the package, for tests and offline demos: the scripted ``demo`` model and
tree builders.

:class:`DemoModel` is a test fixture, not a language model. It plays all three roles of a run
(evaluation, diagnosis, expansion) deterministically so that the whole self-improvement loop
can be exercised without an API: the seed agent fails tasks whose files are longer than its
``view`` tool shows, diagnosis names that weakness, and expansion makes the agent raise its
limit through its own tools, after which those tasks pass. On about half the tasks whose
workspace has tests (:func:`demo_uses_skills`), an agent that offers the skill tools first
searches its skills, reads the best match and runs one of its entry points (e.g. the starter
skill run-tests on the workspace's tests), as a careful model would. Use it as
``--model scripted:demo`` (optionally ``scripted:demo?benchmark=dir:PATH`` to solve tasks of
another benchmark).
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path

from hgm.gateway import ChatRequest, Scope
from hgm.gateway.openai_format import message_text
from hgm.gateway.scripted import DEFAULT_COST_USD, ScriptedModel
from hgm.pyast import parse as ast_parse
from hgm.search.tree import TreeStats
from hgm.testing_skills import demo_skill_reply, is_distil_request
from hgm.types import Outcome, Task

# What the seed agent's view tool says when it cuts a file off.
TRUNCATION_MARKER = "[truncated: file has"
# The view limit the demo's self-modification sets (at least): longer than any task file.
DEMO_VIEW_LIMIT = 2000
SELF_CHECK = "python3 -m unittest discover -s tests -t ."

VIEW_PROBLEM = (
    "The agent's `view` tool truncates long files: it shows only the first lines of a file and "
    "ends with '[truncated: file has N lines; only the first K shown]', and it offers no way to "
    "see the rest. On this task the agent needed to change a file longer than that limit, could "
    "not read it completely, and so could not safely rewrite it. Change the agent so it can see "
    "whole files: raise the view tool's line limit so that typical source files fit, or add a "
    "way to view a given line range. Keep the agent's own tests passing."
)
GENERIC_PROBLEM = (
    "The agent stopped without making the hidden tests pass. Make it check its work before "
    "finishing: run the tests the workspace has and read their output."
)

# The change the demo makes for GENERIC_PROBLEM.
TESTING_RULE = "Before you call finish, run the tests the workspace has and read their output."

# What the demo looks for in the agent's skills on a task with tests, and how many of the hits
# it reads to find an entry point it can call: one whose required parameters it can all fill,
# a folder with the workspace (".") and a command with the workspace's test command.
SKILL_QUERY = "run the tests and summarise which ones fail"
SKILL_READS = 3
TEST_COMMAND = "python3 -m unittest discover -s tests -q"
FOLDER_PARAMS = frozenset(
    {"path", "root", "directory", "dir", "folder", "workspace", "repo", "cwd", "base"}
)
PARAM_VALUES = {**dict.fromkeys(FOLDER_PARAMS, "."), "command": TEST_COMMAND}


class DemoModel(ScriptedModel):
    """A deterministic stand-in for an LLM that drives the seed agent (a test fixture).

    Stateless between calls: each reply is decided from the conversation so far and the
    scope. ``benchmark`` names where evaluation tasks (``scope.task``) and their reference
    solutions are looked up.
    """

    name = "demo"

    def __init__(self, benchmark: str = "builtin", cost_usd: float = DEFAULT_COST_USD) -> None:
        super().__init__(cost_usd)
        self.benchmark = benchmark
        self._tasks: dict[str, Task] | None = None

    def reply(self, request: ChatRequest, scope: Scope) -> dict:
        if scope.kind == "evaluation":
            return self._solve(request, scope)
        if scope.kind == "diagnosis":
            return self._diagnose(request)
        if scope.kind == "expansion" and is_distil_request(request):
            return demo_skill_reply(request, self._solution_files_of)
        if scope.kind == "expansion":
            return self._improve(request)
        return {"content": "The demo model only plays evaluation, diagnosis and expansion."}

    # -- evaluation: solve a task from its reference solution, like a careful model ---------
    def _solve(self, request: ChatRequest, scope: Scope) -> dict:
        task = self._task(scope.task)
        if task is None or task.solution is None:
            return _finish(f"I do not know how to solve task {scope.task!r}.")
        done = _tool_history(request.messages)
        plan = _solution_files(Path(task.solution))
        if not _called(done, "view", "."):
            return _call("view", path=".")
        listing = _result_of(done, "view", ".") or ""
        has_tests = "tests/" in listing.split()
        if has_tests and demo_uses_skills(task.id) and _offers(request, "search_skills"):
            step = _use_skills(done)
            if step is not None:
                return step
        for rel in plan:
            seen = _result_of(done, "view", rel)
            if seen is None:
                return _call("view", path=rel)
            if TRUNCATION_MARKER in seen:
                marker = next(line for line in seen.splitlines() if TRUNCATION_MARKER in line)
                return _finish(
                    f"I could not see the whole file {rel}; the view tool said {marker.strip()}. "
                    "Rewriting a file I have not fully read could break it, so I stop here."
                )
        for rel in plan:
            if not _called(done, "create_file", rel):
                content = (Path(task.solution) / rel).read_text(encoding="utf-8")
                return _call("create_file", path=rel, content=content)
        if "tests/" in listing.split() and not _called(done, "bash"):
            return _call("bash", command=f"{TEST_COMMAND} 2>&1 | tail -5")
        return _finish(f"Fixed the bug by rewriting {', '.join(plan)}.")

    def _solution_files_of(self, task_id: str) -> list[str]:
        task = self._task(task_id)
        return _solution_files(Path(task.solution)) if task and task.solution else []

    def _task(self, task_id: str | None) -> Task | None:
        if self._tasks is None:
            from hgm.bench import get_benchmark

            self._tasks = {t.id: t for t in get_benchmark(self.benchmark).tasks()}
        return self._tasks.get(task_id or "")

    # -- diagnosis: name the weakness the trajectory shows ------------------------------------
    def _diagnose(self, request: ChatRequest) -> dict:
        text = "\n".join(message_text(m) for m in request.messages if m.get("role") == "user")
        return {"content": VIEW_PROBLEM if TRUNCATION_MARKER in text else GENERIC_PROBLEM}

    # -- expansion: the agent changes its own view limit through its tools --------------------
    def _improve(self, request: ChatRequest) -> dict:
        task = "\n".join(message_text(m) for m in request.messages if m.get("role") == "user")
        done = _tool_history(request.messages)
        if "check its work" in task:
            return self._add_testing_rule(done)
        if "truncat" not in task.lower() or "view" not in task.lower():
            return _finish("I could not identify a specific change to make from this statement.")
        tools_file = "agent/tools.py"
        seen = _result_of(done, "view", tools_file)
        if seen is None:
            return _call("view", path=tools_file)
        if not _called(done, "str_replace", tools_file):
            match = re.search(r"^\s*\d+\t(VIEW_MAX_LINES = (\d+)\b.*)$", seen, re.MULTILINE)
            if match is None:
                return _finish(f"I could not find the view limit in {tools_file}.")
            old_limit = int(match.group(2))
            new_limit = max(DEMO_VIEW_LIMIT, 4 * old_limit)
            new = f"VIEW_MAX_LINES = {new_limit}  # was {old_limit}: whole source files must fit"
            return _call("str_replace", path=tools_file, old=match.group(1), new=new)
        if (_result_of(done, "str_replace", tools_file) or "").startswith("Error"):
            return _finish(f"I could not change the view limit in {tools_file}.")
        if not _called(done, "bash"):
            return _call("bash", command=f"{SELF_CHECK} 2>&1 | tail -5")
        if "OK" not in (_result_of(done, "bash") or ""):
            return _finish("I raised the view limit, but the agent's own tests now fail.")
        return _finish(
            "Raised the view tool's line limit so whole source files can be seen instead of "
            "being cut off; the agent's own tests pass."
        )


    def _add_testing_rule(self, done: list) -> dict:
        """The change for GENERIC_PROBLEM: a rule in the system prompt (no effect on the demo)."""
        prompt_file = "agent/system_prompt.md"
        seen = _result_of(done, "view", prompt_file)
        if seen is None:
            return _call("view", path=prompt_file)
        if TESTING_RULE in seen:
            return _finish("The system prompt already tells the agent to run the tests.")
        if not _called(done, "bash"):
            return _call("bash", command=f"printf '\\n%s\\n' '{TESTING_RULE}' >> {prompt_file} && {SELF_CHECK} 2>&1 | tail -3")
        return _finish("Added a rule to the system prompt: run the tests before finishing.")


# -- evaluation: skills ------------------------------------------------------------------------
def demo_uses_skills(task_id: str) -> bool:
    """Whether the demo reaches for skills on this task: about half the tasks, fixed by the id,
    so that a run has evaluations of the same node with and without skills to compare."""
    return hashlib.sha256(task_id.encode()).digest()[0] % 2 == 0


def _use_skills(done: list) -> dict | None:
    """The next skill call (search, read the hits in turn, run one entry point), or None."""
    found = _result_of(done, "search_skills")
    if found is None:
        return _call("search_skills", query=SKILL_QUERY)
    if _called(done, "run_skill"):
        return None
    for name in re.findall(r"^\d+\. ([a-z0-9-]+) \(score", found, re.MULTILINE)[:SKILL_READS]:
        shown = next((r for c, a, r in done if c == "read_skill" and a.get("name") == name), None)
        if shown is None:
            return _call_with("read_skill", {"name": name})
        entry = _callable_entry_point(shown)
        if entry is not None:
            function, arguments = entry
            call = {"name": name, "function": function, "arguments": arguments}
            return _call_with("run_skill", call)
    return None


def _callable_entry_point(shown: str) -> tuple[str, dict] | None:
    """The first entry point read_skill listed whose required parameters the demo can fill."""
    for match in re.finditer(r"^- ([A-Za-z_]\w*)(\(.*)$", shown, re.MULTILINE):
        args = _parameters(match.group(2))
        if args is None:
            continue
        positional = args.posonlyargs + args.args
        required = [a.arg for a in positional[: len(positional) - len(args.defaults)]]
        keyword = zip(args.kwonlyargs, args.kw_defaults, strict=True)
        required += [a.arg for a, default in keyword if default is None]
        if all(name in PARAM_VALUES for name in required):
            return match.group(1), {name: PARAM_VALUES[name] for name in required}
    return None


def _parameters(text: str) -> ast.arguments | None:
    """The parameters of the shortest prefix ``(...)`` of ``text`` that parses as a signature."""
    for end in (i for i, ch in enumerate(text) if ch == ")"):
        try:
            function = ast_parse(f"def f{text[: end + 1]}: pass").body[0]
        except SyntaxError:
            continue
        if isinstance(function, ast.FunctionDef):
            return function.args
    return None


def _offers(request: ChatRequest, tool: str) -> bool:
    return any((t.get("function") or t).get("name") == tool for t in request.tools or [])


# -- conversation helpers ----------------------------------------------------------------------
def _tool_history(messages: list[dict]) -> list[tuple[str, dict, str | None]]:
    """(tool name, arguments, result text or None) for every tool call made so far."""
    results = {m.get("tool_call_id"): message_text(m) for m in messages if m.get("role") == "tool"}
    history = []
    for message in messages:
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            try:
                args = json.loads(function.get("arguments") or "{}")
            except (TypeError, ValueError):
                args = {}
            history.append((function.get("name"), args, results.get(call.get("id"))))
    return history


def _norm(path: str) -> str:
    return str(Path(path)) if path else path


def _result_of(history: list, name: str, path: str | None = None) -> str | None:
    for called, args, result in reversed(history):
        if called == name and (path is None or _norm(args.get("path", "")) == _norm(path)):
            return result
    return None


def _called(history: list, name: str, path: str | None = None) -> bool:
    return any(
        called == name and (path is None or _norm(args.get("path", "")) == _norm(path))
        for called, args, _ in history
    )


def _call(name: str, **arguments: str) -> dict:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def _call_with(name: str, arguments: dict) -> dict:
    """A tool call whose arguments may be named like ``_call``'s own parameter (``name``)."""
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def _finish(summary: str) -> dict:
    return _call("finish", summary=summary)


def _solution_files(solution: Path) -> list[str]:
    return sorted(
        str(p.relative_to(solution))
        for p in solution.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    )


# -- tree builders ------------------------------------------------------------------------------
def build_stats(
    edges: str,
    evals: dict[int, str | tuple[int, int]] | None = None,
    *,
    n_tasks: int | None = None,
    invalid: set[int] | frozenset[int] = frozenset(),
) -> TreeStats:
    """Build tree statistics in one line: ``build_stats("0>1>2, 0>3", evals={1: "ppf"})``.

    ``edges`` lists parent>child chains; node ids must be dense, with every parent id lower
    than its child's. ``evals`` gives each node's completed evaluations, as a string of
    ``p``/``f`` outcomes or a ``(passes, fails)`` pair. ``n_tasks`` defaults to the most
    evaluations any node has.
    """
    parents: dict[int, int | None] = {0: None}
    for chain in filter(None, (c.strip() for c in edges.split(","))):
        ids = [int(part) for part in chain.split(">")]
        for parent, child in zip(ids, ids[1:], strict=False):
            if child <= parent or parents.get(child, parent) != parent:
                raise ValueError(f"bad edge {parent}>{child} in {edges!r}")
            parents[child] = parent
        parents.setdefault(ids[0], None)
    if sorted(parents) != list(range(len(parents))):
        raise ValueError(f"node ids must be 0..N without gaps, got {sorted(parents)}")
    outcomes = {node: _outcomes(spec) for node, spec in (evals or {}).items()}
    most = max((len(o) for o in outcomes.values()), default=0)
    stats = TreeStats(n_tasks=most if n_tasks is None else n_tasks)
    for node in range(len(parents)):
        stats.add_node(parents[node], valid=node not in invalid)
    for node, results in outcomes.items():
        for outcome in results:
            stats.record_eval(node, stats.take_task(node), outcome)
    return stats


def _outcomes(spec: str | tuple[int, int]) -> list[Outcome]:
    if isinstance(spec, tuple):
        passes, fails = spec
        return [Outcome.PASS] * passes + [Outcome.FAIL] * fails
    codes = {"p": Outcome.PASS, "f": Outcome.FAIL}
    return [codes[c] for c in spec.replace(" ", "")]


__all__ = ["DEMO_VIEW_LIMIT", "TRUNCATION_MARKER", "DemoModel", "build_stats", "demo_uses_skills"]
