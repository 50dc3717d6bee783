"""Agent Skills export: one folder per skill, as the skills-ref validator and Claude Code read them.

The output folder holds ``<name>/SKILL.md`` (+ the module and its tests) for every skill and
nothing else, so it can be used as it is as a project's ``.claude/skills/`` or a user's
``~/.claude/skills/``. Each folder is checked with the skills-ref validator after copying.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hgm.skills.export import Exported, ExportError, copy_skill, optional_import, prepare_out
from hgm.skills.format import Skill


def export_agent_skills(skills: Sequence[Skill], out: Path) -> Exported:
    """Copy ``skills`` into ``out/<name>/``; ExportError if the validator rejects one."""
    validate = optional_import("skills_ref", "the agent-skills export").validate
    out = prepare_out(out)
    files = []
    for skill in skills:
        folder = copy_skill(skill, out / skill.name)
        problems = validate(folder)
        if problems:
            raise ExportError(f"skill {skill.name!r} fails the Agent Skills validator: {'; '.join(problems)}")
        files.append(folder / "SKILL.md")
    return Exported("agent-skills", out, tuple(files), tuple(s.name for s in skills))
