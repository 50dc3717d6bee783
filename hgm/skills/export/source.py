"""The skills of one node of a run, checked out for exporting or serving.

A node's skills are the folders under ``skills/`` of its git tree; they are checked out into a
temporary folder that lives as long as the ``with`` block (a server keeps it while it runs).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hgm.archive import Run
from hgm.skills.format import Skill, find_skills


class NoSkills(ValueError):
    """The node has no valid skill to export; the message is one line for the user."""


@dataclass(frozen=True)
class NodeSkills:
    """A node's valid skills (sorted by name) and one line per skill folder that is not valid."""

    run: Path
    node: int
    skills: tuple[Skill, ...]
    problems: tuple[str, ...]


def pick_node(run: Run, node: int | None, best: bool, min_evals: int | None = None) -> int:
    """``node`` when given (it must exist), else the node ``hgm best [--min-evals N]`` names.

    Raises :class:`hgm.views.ViewError` (no such node, no best node yet).
    """
    from hgm.views import ViewError, qualified_best, require_node

    if node is not None and best:
        raise ViewError("give --node N or --best, not both")
    if node is not None:
        return require_node(run, node).id
    try:
        return qualified_best(run, min_evals).node
    except ViewError as e:
        raise ViewError(f"{e}; or name a node with --node N") from None


@contextmanager
def node_skills(run: Run, node: int) -> Iterator[NodeSkills]:
    """Check out ``node`` and read its skills; :class:`NoSkills` when it has none that is valid."""
    with tempfile.TemporaryDirectory(prefix=f"hgm-node{node}-") as tmp:
        tree = run.checkout(node, Path(tmp) / "tree")
        skills, problems = find_skills(tree)
        if not skills:
            why = f" ({len(problems)} invalid: {problems[0]})" if problems else ""
            raise NoSkills(f"node {node} of {run.path} has no valid skills in skills/{why}; nothing to export")
        yield NodeSkills(run.path, node, tuple(skills), tuple(problems))
