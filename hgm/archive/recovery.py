"""Recovering a run after its process stopped: repair what it left, replay what it did.

:func:`repair` makes agents.git agree with hgm.db (the source of truth) and removes the
temporary files of writes that a killed process never finished. :func:`replay` rebuilds the
search statistics from the records, so a resumed run trusts no saved in-memory state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hgm.archive.artifacts import ArtifactStore
from hgm.archive.git import AgentsRepo, ArchiveError, node_ref
from hgm.search.tree import TreeStats
from hgm.types import Evaluation, Node, NodeStatus


def repair(
    recorded: dict[int, str], repo: AgentsRepo, store: ArtifactStore, root: Path
) -> dict[str, list[str]]:
    """Fix refs against ``recorded`` ({node id: commit sha}); return what was done.

    A ref for a recorded node is recreated (or reset) from the recorded sha; a ref under
    refs/nodes/ with no recorded node is deleted. A recorded commit that is missing from
    agents.git cannot be repaired here; ``check_run`` reports it. Only safe while no other
    process writes the run.
    """
    done: dict[str, list[str]] = {}
    leftovers = repo.remove_leftovers() + store.remove_leftovers()
    if leftovers:
        done["removed_files"] = sorted(str(p.relative_to(root)) for p in leftovers)
    refs = repo.node_refs()
    wanted = {node_ref(i): sha for i, sha in recorded.items()}
    for name in sorted(set(refs) - set(wanted)):
        repo.delete_ref(name)
        done.setdefault("deleted_refs", []).append(name)
    present = repo.object_types(wanted.values())
    for node_id, sha in recorded.items():
        ref = node_ref(node_id)
        if refs.get(ref) == sha or present.get(sha) != "commit":
            continue
        repo.set_ref(node_id, sha)
        done.setdefault("recreated_refs" if ref not in refs else "reset_refs", []).append(ref)
    return done


def replay(
    n_tasks: int,
    task_order: list[int],
    nodes: list[Node],
    evaluations: list[Evaluation],
    failed_expansion_parents: list[int] = (),
) -> TreeStats:
    """Rebuild :class:`TreeStats` from recorded nodes and evaluations (in id order).

    Evaluations are recorded as they complete, which need not be the order their tasks were
    handed out, and a policy may take any untried task (the HGM paper preset takes a random
    one): each row takes its own task. A task the run-wide order reached before a recorded
    one but that has no row of its own was in flight when the run stopped (or never
    dispatched); it stays untried and is handed out first, as ``next_task`` follows the
    order.
    """
    stats = TreeStats(n_tasks, np.asarray(task_order, dtype=np.int64), capacity=len(nodes) + 1)
    for n in nodes:
        stats.add_node(n.parent, n.status is NodeStatus.VALID)
    for parent in failed_expansion_parents:
        stats.start_expansion(parent)
        stats.end_expansion(parent, failed=True)
    for ev in evaluations:
        _take(stats, ev)
        stats.record_eval(ev.node, ev.task_index, ev.outcome)
    return stats


def _take(stats: TreeStats, ev: Evaluation) -> None:
    """Take the evaluation's task (any untried one, or one waiting for a retry)."""
    try:
        stats.take_task(ev.node, ev.task_index)
    except ValueError as e:
        raise ArchiveError(f"evaluation {ev.id} cannot be replayed: {e}") from None
