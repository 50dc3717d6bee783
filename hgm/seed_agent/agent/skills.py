"""The skill tools, with progressive disclosure: search_skills finds skills by a query,
read_skill shows one skill's SKILL.md and entry points, run_skill calls an entry point.

A skill's code runs in a subprocess (never in the agent's own process), in the workspace,
with its folder on sys.path and the arguments as keyword arguments; its JSON result or its
error comes back, and whatever it printed is shown after it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from agent.skill_search import (
    NAME_RE,
    SKILLS_DIR,
    EmbeddingClient,
    SkillInfo,
    load_catalogue,
    load_skill,
    rank,
)

DEFAULT_K = 5
MAX_K = 50
RUN_TIMEOUT_S = 120
MAX_RUN_TIMEOUT_S = 600
MAX_LISTED_FILES = 50

SKILL_TOOL_SPECS = [
    {
        "name": "search_skills",
        "description": "Search your skill library (reusable, tested helpers in your skills/ "
        "folder) for skills relevant to a query. Returns names, descriptions and scores.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What you want to do, in words."},
                "k": {"type": "integer", "description": f"How many skills (default {DEFAULT_K})."},
            },
            "required": ["query"],
        },
    },
    {
        "name": "read_skill",
        "description": "Show a skill's SKILL.md (when and how to use it), its files and its "
        "entry points (the functions run_skill can call).",
        "parameters": {
            "type": "object",
            "properties": {"name": {"type": "string", "description": "The skill's name."}},
            "required": ["name"],
        },
    },
    {
        "name": "run_skill",
        "description": "Call one entry point of a skill in a subprocess, in the workspace, and "
        "return its JSON result (or its error).",
        "parameters": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "The skill's name."},
                "function": {"type": "string", "description": "The entry point to call."},
                "arguments": {
                    "type": "object",
                    "description": "Keyword arguments of the call, as a JSON object.",
                },
                "timeout": {
                    "type": "integer",
                    "description": f"Seconds before the call is killed (default {RUN_TIMEOUT_S}).",
                },
            },
            "required": ["name", "function"],
        },
    },
]

# Runs in the subprocess: argv = skill folder, module, function; stdin = the arguments (JSON).
# What the skill prints, or the programs it starts, goes to stderr (file descriptor 1 is made a
# copy of 2), so the saved stdout carries only the result.
RUNNER = """\
import importlib, json, os, sys, traceback
folder, module, function = sys.argv[1:4]
sys.path.insert(0, folder)
out = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr
try:
    value = getattr(importlib.import_module(module), function)(**json.load(sys.stdin))
    text = json.dumps({"result": value}, default=repr)
except BaseException as e:
    traceback.print_exc()
    text = json.dumps({"error": f"{type(e).__name__}: {e}"})
out.write(text)
out.flush()
"""


class SkillRefused(Exception):
    """The call cannot be made as asked (unknown skill or function, bad arguments)."""


@dataclass(frozen=True)
class SkillOutput:
    text: str
    ok: bool


class SkillLibrary:
    """The skills in ``skills_dir``, used from ``workspace``; ``embeddings`` ranks searches."""

    def __init__(self, workspace: Path, skills_dir: Path = SKILLS_DIR,
                 embeddings: EmbeddingClient | None = None):  # fmt: skip
        self.workspace = Path(workspace)
        self.skills_dir = Path(skills_dir)
        self.embeddings = embeddings

    def search(self, query: str, k: int | float = DEFAULT_K) -> str:
        skills = load_catalogue(self.skills_dir)
        if not skills:
            return f"No skills: {self.skills_dir} holds none."
        k = min(max(int(k), 1), MAX_K)
        ranking = rank(query, skills, k, self.embeddings)
        lines = [f"ranking: {ranking.note}"]
        lines += [
            f"{i}. {h.name} (score {h.score:.4f}): {h.description}"
            for i, h in enumerate(ranking.hits, 1)
        ]
        if not ranking.hits:
            lines.append(f"No skill matches; the library has: {', '.join(s.name for s in skills)}.")
        lines.append(
            "Read a skill with read_skill(name); call one with run_skill(name, function, arguments)."
        )
        return "\n".join(lines)

    def read(self, name: str) -> str:
        skill = self._skill(name)
        body = (skill.folder / "SKILL.md").read_text(encoding="utf-8", errors="replace")
        files = sorted(
            p.relative_to(skill.folder).as_posix()
            for p in skill.folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        )
        shown = files[:MAX_LISTED_FILES] + (
            [f"... {len(files) - MAX_LISTED_FILES} more"] if len(files) > MAX_LISTED_FILES else []
        )
        calls = [f"- {e.name}{e.signature}: {e.summary}" for e in skill.entry_points]
        return "\n".join([
            f"# skill {skill.name} (folder {skill.folder})", body.rstrip(), "",
            f"Files: {', '.join(shown)}",
            "Entry points (run_skill(name, function, arguments) calls them; module "
            f"{skill.module}, importable with the skill folder on sys.path):",
            *(calls or ["(none found: the module has no __all__ functions)"]),
        ])  # fmt: skip

    def run(self, name: str, function: str, arguments: dict | str | None = None,
            timeout: int | float = RUN_TIMEOUT_S) -> SkillOutput:  # fmt: skip
        skill = self._skill(name)
        if function not in {e.name for e in skill.entry_points}:
            known = ", ".join(e.name for e in skill.entry_points) or "none"
            raise SkillRefused(
                f"skill {name} has no entry point {function!r}; its entry points: {known}"
            )
        try:
            kwargs = json_object(arguments, "arguments (the keyword arguments)")
        except ValueError as e:
            raise SkillRefused(str(e)) from None
        timeout = min(max(float(timeout), 1.0), MAX_RUN_TIMEOUT_S)
        proc = subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(skill.folder), skill.module, function],
            cwd=self.workspace,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(json.dumps(kwargs).encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            out = json.dumps({"error": f"timed out after {timeout:g} s and was killed"}).encode()
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        return _output(
            out.decode("utf-8", errors="replace"),
            err.decode("utf-8", errors="replace"),
            proc.returncode,
        )

    def _skill(self, name: str) -> SkillInfo:
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise SkillRefused(f"{name!r} is not a skill name (lowercase letters, digits, hyphens)")
        folder = self.skills_dir / name
        if not (folder / "SKILL.md").is_file():
            names = ", ".join(s.name for s in load_catalogue(self.skills_dir)) or "none"
            raise SkillRefused(f"no skill named {name!r}; the skills are: {names}")
        return load_skill(folder)


def json_object(value: dict | str | None, what: str) -> dict:
    """``value`` as a dict: a JSON object, given parsed or as text; nothing means ``{}``.

    Raises ValueError with a message the model can act on."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise ValueError(f"{what} are not valid JSON ({e}); send a JSON object") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


def _output(out: str, err: str, returncode: int | None) -> SkillOutput:
    """The result line the runner wrote, and after it what the skill printed."""
    try:
        result = json.loads(out)
    except json.JSONDecodeError:
        result = {"error": f"the skill's process exited with status {returncode} without a result"}
    if not isinstance(result, dict):
        result = {"error": "the skill's process wrote no result object"}
    text = json.dumps(result, indent=1)
    if err.strip():
        text += f"\n[printed by the skill]\n{err.strip()}"
    return SkillOutput(text, ok="error" not in result)
