"""Export a node's skills to formats other agents load unchanged.

One module per format, each with ``export_<format>(skills, out, ...) -> Exported``:
agent_skills (Agent Skills folders, also Claude Code's ``.claude/skills/``), openai (tool
definitions + a stdlib dispatcher), python (an installable package) and mcp (the config snippet
of ``hgm skills serve``, whose server is :mod:`hgm.skills.export.mcp_server`).
:func:`export` picks the module by name. Tool names and descriptions are shared by the
openai and mcp formats, so a skill's tools are called the same everywhere.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hgm.skills.format import EntryPoint, Skill

FORMATS: dict[str, str] = {
    "agent-skills": "hgm.skills.export.agent_skills:export_agent_skills",
    "mcp": "hgm.skills.export.mcp:export_mcp",
    "openai": "hgm.skills.export.openai:export_openai",
    "python": "hgm.skills.export.python:export_python",
}

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_DESCRIPTION = 1024


class ExportError(ValueError):
    """An export cannot be made (bad destination, unsupported skill); one line for the user."""


@dataclass(frozen=True)
class Exported:
    """What an export wrote: its folder, the files a user opens first, and the skills in it."""

    format: str
    out: Path
    files: tuple[Path, ...]
    skills: tuple[str, ...]


@dataclass(frozen=True)
class ToolSpec:
    """One entry point as a tool: a unique name, the description an LLM reads, its skill."""

    name: str
    skill: Skill
    entry: EntryPoint
    description: str


def export(format: str, skills: Sequence[Skill], out: Path, **options) -> Exported:
    """Run the exporter named ``format`` (a key of :data:`FORMATS`)."""
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; choose one of: {', '.join(FORMATS)}")
    module, _, func = FORMATS[format].partition(":")
    return getattr(importlib.import_module(module), func)(list(skills), Path(out), **options)


def tool_specs(skills: Sequence[Skill]) -> list[ToolSpec]:
    """Every entry point of every skill, named ``<skill>__<function>`` (``-`` kept), made to
    fit ``^[a-zA-Z0-9_-]{1,64}$`` and unique (a short hash replaces what does not fit)."""
    specs: list[ToolSpec] = []
    taken: set[str] = set()
    for skill in skills:
        for entry in skill.entry_points:
            name = _tool_name(skill.name, entry.name, taken)
            taken.add(name)
            specs.append(ToolSpec(name, skill, entry, _description(skill, entry)))
    return specs


def _tool_name(skill: str, function: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-zA-Z0-9_-]", "_", f"{skill}__{function}")
    name = base
    if len(name) > 64 or name in taken:
        digest = hashlib.sha256(f"{skill}/{function}".encode()).hexdigest()
        for size in range(6, 65):
            name = f"{base[: 63 - size]}_{digest[:size]}"
            if name not in taken:
                break
    assert TOOL_NAME.match(name), name
    return name


def _description(skill: Skill, entry: EntryPoint) -> str:
    text = f"{entry.doc.strip()}\n\n(Skill {skill.name}: {skill.description.strip()})"
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 3].rstrip() + "..."


def prepare_out(out: Path) -> Path:
    """``out`` as an absent or empty folder, created; an :class:`ExportError` if it holds files
    (an export never overwrites what is there)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} exists and is not an empty folder; export into a new one")
    out.mkdir(parents=True, exist_ok=True)
    return out


def copy_skill(skill: Skill, dest: Path) -> Path:
    """Copy a skill's folder to ``dest`` (absent), without caches."""
    shutil.copytree(skill.folder, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), symlinks=True)
    return dest


def optional_import(module: str, purpose: str):
    """Import an optional dependency, or an :class:`ExportError` naming the extra that has it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExportError(f"{purpose} needs the {module!r} package: pip install 'hgm[skills]'") from None


def module_name(skill: Skill) -> str:
    """The import name of a skill's module (``run-tests`` -> ``run_tests``)."""
    return Path(skill.module_file).stem


__all__ = [
    "FORMATS",
    "ExportError",
    "Exported",
    "ToolSpec",
    "copy_skill",
    "export",
    "module_name",
    "optional_import",
    "prepare_out",
    "tool_specs",
]
