"""The agent's tools: bash, view, create_file, str_replace, finish, and the skill tools
(search_skills, read_skill, run_skill; see agent/skills.py).

Every tool works inside one workspace directory. A tool never raises to the loop: bad
arguments, unknown tools and failing commands all come back as a ToolResult with
``ok=False`` and a message the model can act on.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agent.skill_search import SKILLS_DIR, EmbeddingClient
from agent.skills import RUN_TIMEOUT_S, SKILL_TOOL_SPECS, SkillLibrary, SkillRefused, json_object

# The most lines `view` shows of one file. Longer files are cut off with a marker.
VIEW_MAX_LINES = 100
# The most characters of command output returned to the model.
OUTPUT_LIMIT = 10_000
DEFAULT_TIMEOUT_S = 60
MAX_TIMEOUT_S = 600

TOOL_SPECS = [
    {
        "name": "bash",
        "description": "Run a bash command in the workspace directory and return its output "
        "(stdout and stderr together) and exit code.",
        "parameters": {
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "The command to run."},
                "timeout": {
                    "type": "integer",
                    "description": f"Seconds before the command is killed (default {DEFAULT_TIMEOUT_S}).",
                },
            },
            "required": ["command"],
        },
    },
    {
        "name": "view",
        "description": "Show a file with line numbers, or list a directory. "
        f"Shows at most the first {VIEW_MAX_LINES} lines of a file.",
        "parameters": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Path relative to the workspace."}
            },
            "required": ["path"],
        },
    },
    {
        "name": "create_file",
        "description": "Create a file, or overwrite it, with the given content.",
        "parameters": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Path relative to the workspace."},
                "content": {"type": "string", "description": "The full new content."},
            },
            "required": ["path", "content"],
        },
    },
    {
        "name": "str_replace",
        "description": "Replace the text `old` with `new` in a file. `old` must occur exactly "
        "once; include enough surrounding lines to make it unique.",
        "parameters": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Path relative to the workspace."},
                "old": {"type": "string", "description": "The exact text to replace."},
                "new": {"type": "string", "description": "The replacement text."},
            },
            "required": ["path", "old", "new"],
        },
    },
    {
        "name": "finish",
        "description": "Stop working. Call this once the task is done, with a short summary.",
        "parameters": {
            "type": "object",
            "properties": {"summary": {"type": "string", "description": "What was done and why."}},
            "required": ["summary"],
        },
    },
    *SKILL_TOOL_SPECS,
]


@dataclass(frozen=True)
class ToolResult:
    output: str
    ok: bool = True
    finished: bool = False


class ToolError(Exception):
    """A tool could not do what was asked; the message goes back to the model."""


class Tools:
    """The tools of one run, bound to a workspace directory."""

    def __init__(
        self,
        workspace: Path | str,
        output_limit: int = OUTPUT_LIMIT,
        skills_dir: Path = SKILLS_DIR,
        embeddings: EmbeddingClient | None = None,
    ):
        self.workspace = Path(workspace).resolve()
        self.output_limit = output_limit
        self.skills = SkillLibrary(self.workspace, skills_dir, embeddings)

    def specs(self) -> list[dict]:
        """Tool definitions in the chat-completions ``tools`` format."""
        return [{"type": "function", "function": spec} for spec in TOOL_SPECS]

    def call(self, name: str, arguments: str | dict | None) -> ToolResult:
        """Run one tool call; never raises."""
        handler = getattr(self, "_tool_" + str(name), None)
        if handler is None:
            known = ", ".join(spec["name"] for spec in TOOL_SPECS)
            return ToolResult(f"Error: unknown tool {name!r}. Available tools: {known}.", ok=False)
        try:
            args = _parse_arguments(arguments)
            _check_arguments(name, args)
            return handler(**args)
        except (ToolError, SkillRefused) as e:
            return ToolResult(f"Error: {e}", ok=False)
        except Exception as e:  # a tool bug must not end the run
            return ToolResult(f"Error: {name} failed: {type(e).__name__}: {e}", ok=False)

    # -- tools --------------------------------------------------------------------------
    def _tool_bash(self, command: str, timeout: int | float = DEFAULT_TIMEOUT_S) -> ToolResult:
        timeout = min(max(float(timeout), 1.0), MAX_TIMEOUT_S)
        # A new session lets us kill the whole process group on timeout, including
        # background children that would otherwise keep the output pipe open.
        proc = subprocess.Popen(
            ["bash", "-c", command],
            cwd=self.workspace,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
            status = f"[exit code: {proc.returncode}]"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            status = f"[killed: command timed out after {timeout:g} s]"
        except BaseException:
            # Stopped mid-command (e.g. SIGTERM): do not leave the command running.
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        text = self._truncate(out.decode("utf-8", errors="replace"))
        return ToolResult(f"{text}\n{status}" if text else status, ok=proc.returncode == 0)

    def _tool_view(self, path: str) -> ToolResult:
        target = self._resolve(path)
        if target.is_dir():
            entries = sorted(target.iterdir(), key=lambda p: p.name)
            lines = [p.name + ("/" if p.is_dir() else "") for p in entries]
            return ToolResult("\n".join(lines) if lines else "(empty directory)")
        if not target.is_file():
            raise ToolError(f"{path} does not exist")
        lines = target.read_text(encoding="utf-8", errors="replace").splitlines()
        shown = [f"{i:6d}\t{line}" for i, line in enumerate(lines[:VIEW_MAX_LINES], start=1)]
        if len(lines) > VIEW_MAX_LINES:
            shown.append(
                f"[truncated: file has {len(lines)} lines; only the first {VIEW_MAX_LINES} shown]"
            )
        return ToolResult(self._truncate("\n".join(shown)) if shown else "(empty file)")

    def _tool_create_file(self, path: str, content: str) -> ToolResult:
        target = self._resolve(path)
        if target.is_dir():
            raise ToolError(f"{path} is a directory")
        existed = target.exists()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        verb = "Overwrote" if existed else "Created"
        return ToolResult(f"{verb} {path} ({len(content.splitlines())} lines).")

    def _tool_str_replace(self, path: str, old: str, new: str) -> ToolResult:
        target = self._resolve(path)
        if not target.is_file():
            raise ToolError(f"{path} does not exist or is not a file")
        if not old:
            raise ToolError("`old` must not be empty")
        text = target.read_text(encoding="utf-8")
        count = text.count(old)
        if count == 0:
            raise ToolError(f"`old` was not found in {path}; view the file and copy it exactly")
        if count > 1:
            raise ToolError(
                f"`old` occurs {count} times in {path}; include more context so it occurs once"
            )
        target.write_text(text.replace(old, new), encoding="utf-8")
        return ToolResult(f"Replaced 1 occurrence in {path}.")

    def _tool_finish(self, summary: str) -> ToolResult:
        return ToolResult(summary, finished=True)

    def _tool_search_skills(self, query: str, k: int | float = 5) -> ToolResult:
        return ToolResult(self._truncate(self.skills.search(query, k)))

    def _tool_read_skill(self, name: str) -> ToolResult:
        return ToolResult(self._truncate(self.skills.read(name)))

    def _tool_run_skill(
        self,
        name: str,
        function: str,
        arguments: dict | str | None = None,
        timeout: int | float = RUN_TIMEOUT_S,
    ) -> ToolResult:
        out = self.skills.run(name, function, arguments, timeout)
        return ToolResult(self._truncate(out.text), ok=out.ok)

    # -- helpers ------------------------------------------------------------------------
    def _resolve(self, path: str) -> Path:
        if not isinstance(path, str) or not path:
            raise ToolError("`path` must be a non-empty string")
        target = (self.workspace / path).resolve()
        if not target.is_relative_to(self.workspace):
            raise ToolError(f"{path} is outside the workspace")
        return target

    def _truncate(self, text: str) -> str:
        if len(text) <= self.output_limit:
            return text
        half = self.output_limit // 2
        omitted = len(text) - 2 * half
        return f"{text[:half]}\n[output truncated: {omitted} characters omitted]\n{text[-half:]}"


def _check_arguments(name: str, args: dict) -> None:
    schema = next(spec["parameters"] for spec in TOOL_SPECS if spec["name"] == name)
    missing = [key for key in schema["required"] if key not in args]
    unknown = [key for key in args if key not in schema["properties"]]
    if missing or unknown:
        expected = ", ".join(schema["properties"])
        problems = [f"missing {', '.join(missing)}"] if missing else []
        problems += [f"unexpected {', '.join(unknown)}"] if unknown else []
        raise ToolError(f"bad arguments for {name} ({'; '.join(problems)}); expected: {expected}")
    for key, value in args.items():
        wanted = schema["properties"][key]["type"]
        if wanted == "string" and not isinstance(value, str):
            raise ToolError(f"argument {key} of {name} must be a string")
        if wanted == "integer" and not isinstance(value, int | float):
            raise ToolError(f"argument {key} of {name} must be a number")
        if wanted == "object" and not isinstance(value, dict | str):
            raise ToolError(f"argument {key} of {name} must be a JSON object")


def _parse_arguments(arguments: str | dict | None) -> dict:
    try:
        return json_object(arguments, "tool arguments")
    except ValueError as e:
        raise ToolError(str(e)) from None
