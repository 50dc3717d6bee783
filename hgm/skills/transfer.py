"""Skills travel between runs: ``hgm run --skills-from RUN[:NODE]`` (docs/skills.md, "The index").

The new run's node 0 carries the verified skills that node of the other run carries (default:
the node ``hgm best`` names), copied from its commit. Each keeps its provenance in the new
run's index: origin ``imported`` with the run, node and skill id it came from, its original
origin, and the tasks it was distilled from (never counted for its lift in the new run either).

The other run's ``verified`` flag is not trusted: a run folder is data that may come from
anywhere and its hgm.db can be edited. Every imported skill is verified again, as a new skill
is (:func:`hgm.skills.verify.verify_skill`: its static checks, then its tests in the new run's
sandbox), and one that fails is refused with the reason: the run is not created.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from hgm.sandbox import Sandbox, SandboxError
from hgm.skills.index import SkillEntry, entries_from_tree
from hgm.skills.library import skill_files
from hgm.skills.verify import verify_skill


class TransferError(ValueError):
    """A ``--skills-from`` that cannot be honoured; the message says why on one line."""


class TransferSandboxError(RuntimeError):
    """The sandbox failed while re-verifying an imported skill: nobody's verdict on the skill."""


@dataclass(frozen=True)
class Reverify:
    """Where and how imported skills are verified again: the new run's sandbox and the limits
    its skill expansions verify with."""

    sandbox: Sandbox
    timeout_s: float = 120.0
    memory_mb: int = 1024


@dataclass
class Imported:
    origins: dict[str, dict] = field(default_factory=dict)
    source_tasks: dict[str, list[str]] = field(default_factory=dict)


def parse_spec(spec: str) -> tuple[Path, int | None]:
    """``RUN`` or ``RUN:NODE`` as (run folder, node or None)."""
    head, sep, tail = spec.rpartition(":")
    if sep and tail.isdigit():
        return Path(head), int(tail)
    return Path(spec), None


def import_skills(specs: list[str], tree: Path, reverify: Reverify) -> Imported:
    """Copy the verified skills of each spec's node into ``tree/skills/`` (a later spec wins a
    name both have), each verified again with ``reverify``; returns their provenance.
    TransferError names a skill that fails; TransferSandboxError says the sandbox failed."""
    imported = Imported()
    for spec in specs:
        path, node = parse_spec(spec)
        for name, files, origin, tasks in _verified_skills(spec, path, node):
            folder = tree / "skills" / name
            if folder.exists():
                shutil.rmtree(folder)
            for rel, text in files.items():
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                (folder / rel).write_text(text, encoding="utf-8")
            _check(spec, path, name, folder, reverify)
            imported.origins[name] = origin
            imported.source_tasks[name] = tasks
    return imported


def seed_entries(tree: Path, imported: Imported) -> list[SkillEntry]:
    """Node 0's index entries: imported skills with their provenance, the rest as seed skills."""
    return entries_from_tree(tree, origins=imported.origins, verified=list(imported.origins),
                             source_tasks=imported.source_tasks)


def _check(spec: str, path: Path, name: str, folder: Path, reverify: Reverify) -> None:
    try:
        verdict = verify_skill(folder, reverify.sandbox, timeout_s=reverify.timeout_s, memory_mb=reverify.memory_mb)
    except SandboxError as e:
        raise TransferSandboxError(f"--skills-from {spec}: {e}") from None
    if not verdict.ok:
        why = (verdict.reason or "failed").splitlines()[0]
        raise TransferError(f"--skills-from {spec}: skill {name!r} of run {path} fails verification "
                            f"and is refused: {why}")


def _verified_skills(spec: str, path: Path, node: int | None):
    from hgm.archive import ArchiveError, Run
    from hgm.views import best_choice

    try:
        run = Run.open(path, readonly=True)
    except ArchiveError as e:
        raise TransferError(f"--skills-from {spec}: {e}") from None
    with run:
        if node is None:
            choice = best_choice(run)
            if choice is None:
                raise TransferError(f"--skills-from {spec}: no node of that run has been evaluated; name one as RUN:NODE")
            node = choice.node
        if not run.query("SELECT 1 FROM nodes WHERE id = ?", (node,)):
            raise TransferError(f"--skills-from {spec}: node {node} does not exist in {path}")
        rows = run.query(
            "SELECT s.id, s.name, s.node, s.origin, s.source_tasks FROM node_skills ns "
            "JOIN skills s ON s.id = ns.skill WHERE ns.node = ? AND s.verified = 1 ORDER BY s.name",
            (node,))
        if not rows:
            raise TransferError(f"--skills-from {spec}: node {node} carries no verified skills")
        commit = run.node(node).commit
        for r in rows:
            origin = {"how": "imported", "run": str(path.resolve()), "node": node, "skill": r["id"],
                      "introduced_by": r["node"], "origin": json.loads(r["origin"] or "{}")}
            yield r["name"], skill_files(run.repo, commit, r["name"]), origin, json.loads(r["source_tasks"] or "[]")
