"""The starter skill library and node 0's tree.

The starter skills live in the repository's top-level ``skills/`` folder; a wheel carries the
same folder as ``hgm/starter_skills`` (a hatch force-include in pyproject.toml). A new run's
node 0 is the seed agent plus skills in its ``skills/`` folder. The rule (docs/skills.md, "The
starter library"):

- hgm's own seed agent (no ``seed_agent`` in the config): node 0 is a copy of it with every
  starter skill added to its ``skills/``;
- a user's own ``seed_agent``: its tree as it is, with its own ``skills/`` (or none); the
  starter skills are not added, so a seed is never changed behind its author's back.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import hgm

PACKAGED = "starter_skills"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


def starter_skills_dir() -> Path:
    """The folder of starter skills: the packaged copy (``hgm/starter_skills``, in a wheel
    install), else the checkout's top-level ``skills/`` (an editable install)."""
    package = Path(hgm.__file__).resolve().parent
    packaged = package / PACKAGED
    if packaged.is_dir():
        return packaged
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "skills").is_dir():
        return checkout / "skills"
    raise FileNotFoundError(
        f"no starter skills: neither {packaged} nor {checkout / 'skills'} exists (a broken install?)"
    )


def starter_skill_folders() -> list[Path]:
    """Every starter skill's folder, sorted by name."""
    root = starter_skills_dir()
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "SKILL.md").is_file())


def seed_tree_with_skills(seed: Path, dest: Path, skills: Sequence[Path]) -> list[str]:
    """Copy the agent tree ``seed`` to ``dest`` (absent; bytecode left out) and add each skill
    folder as ``dest/skills/<folder name>``, except a name the seed already has: the seed's own
    skill wins. Returns the names added, in order."""
    shutil.copytree(seed, dest, ignore=_IGNORED, symlinks=True)
    added: list[str] = []
    for folder in skills:
        target = dest / "skills" / folder.name
        if target.exists():
            continue
        target.parent.mkdir(exist_ok=True)
        shutil.copytree(folder, target, ignore=_IGNORED, symlinks=True)
        added.append(folder.name)
    return added
