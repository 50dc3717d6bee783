"""Decision pieces shared by the policies: owed evaluations, and waiting or stopping."""

from __future__ import annotations

import numpy as np

from hgm.search import Action, Evaluate, Stop, Wait
from hgm.search.tree import Snapshot


def wait_or_stop(snap: Snapshot, reason: str = "nothing left to expand or evaluate") -> Action:
    """Wait while work is in flight (its results may enable more), else stop."""
    if snap.evals_in_flight > 0 or snap.pending_expansions > 0:
        return Wait()
    return Stop(reason)


def owed_evaluation(snap: Snapshot, quota: int | np.ndarray) -> Evaluate | None:
    """Evaluate the lowest-id valid node with fewer than ``quota`` evaluations done or
    dispatched and a task left; None when no node is owed one.

    ``quota`` is one number for every node or an array indexed by node id. Evaluations
    that ended in an infrastructure error are neither done nor dispatched, so they are
    owed again.
    """
    if snap.n_nodes == 0:
        return None
    dispatched = snap.own_pass + snap.own_fail + snap.in_flight
    owes = snap.valid & (snap.next_task >= 0) & (dispatched < quota)
    i = int(np.argmax(owes))
    return Evaluate(i, int(snap.next_task[i])) if owes[i] else None


def evaluated_nodes(snap: Snapshot, quota: int | np.ndarray) -> np.ndarray:
    """Ids of valid nodes with at least ``quota`` completed evaluations."""
    return np.flatnonzero(snap.valid & (snap.own_pass + snap.own_fail >= quota))
