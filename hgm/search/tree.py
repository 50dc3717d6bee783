"""Incremental tree statistics and the read-only snapshot that policies decide on.

The driver owns one :class:`TreeStats`. Every recorded event updates it in O(depth) (an
evaluation touches the node and its ancestors) or O(1) (a new node, a dispatched task), so a
policy never has to walk the tree: it reads per-node arrays indexed by node id.

Tasks are named by their index into the run's task list. Every node works through the tasks
in the same run-wide order (``task_order``), so nodes are compared on the same tasks first;
a task whose evaluation ended in an infrastructure error goes back on the node's retry list
and is handed out again before new ones. A policy may also take any task the node has not
taken yet (``taken`` tells which), as the HGM paper's preset does with a random one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hgm.types import Outcome

_ARRAYS = (
    "parent",
    "depth",
    "valid",
    "children",
    "pending_children",
    "failed_children",
    "own_pass",
    "own_fail",
    "clade_pass",
    "clade_fail",
    "in_flight",
    "issued",
    "next_task",
)


@dataclass(frozen=True)
class Snapshot:
    """A read-only view of the tree for one decision.

    Arrays are indexed by node id and have length ``n_nodes``; they are views of the live
    statistics marked read-only, valid until the driver records the next event (call
    :meth:`copy` to keep one longer). ``next_task[i]`` is the task index node ``i`` would be
    evaluated on next, or -1 when it has none left (all issued, or the node is invalid).
    """

    n_nodes: int
    n_tasks: int
    parent: np.ndarray
    depth: np.ndarray
    valid: np.ndarray
    children: np.ndarray
    pending_children: np.ndarray
    failed_children: np.ndarray
    own_pass: np.ndarray
    own_fail: np.ndarray
    clade_pass: np.ndarray
    clade_fail: np.ndarray
    in_flight: np.ndarray
    issued: np.ndarray
    next_task: np.ndarray
    evals_done: int
    evals_in_flight: int
    pending_expansions: int
    failed_expansions: int
    budget_fraction: float
    evals_left: float | None = None
    """Evaluations the run can still pay for, if the driver knows (None: no such budget)."""
    taken: np.ndarray | None = None
    """``taken[i, t]``: node ``i`` has been dispatched task ``t`` (one that ended in an error
    stays taken; it waits on the node's retry list, and ``next_task`` hands it out first);
    shape ``(n_nodes, n_tasks)``."""

    def copy(self) -> Snapshot:
        fields = {name: getattr(self, name).copy() for name in _ARRAYS}
        if self.taken is not None:
            fields["taken"] = self.taken.copy()
        for a in fields.values():
            a.flags.writeable = False
        return Snapshot(
            n_nodes=self.n_nodes,
            n_tasks=self.n_tasks,
            evals_done=self.evals_done,
            evals_in_flight=self.evals_in_flight,
            pending_expansions=self.pending_expansions,
            failed_expansions=self.failed_expansions,
            budget_fraction=self.budget_fraction,
            evals_left=self.evals_left,
            **fields,
        )

    def own_evals(self) -> np.ndarray:
        return self.own_pass + self.own_fail


class TreeStats:
    """Mutable per-node statistics, updated incrementally by the driver.

    Use :meth:`add_node` when a node is recorded, :meth:`start_expansion` /
    :meth:`end_expansion` around an expansion, :meth:`take_task` when an evaluation is
    dispatched and :meth:`record_eval` when it completes. Replaying the same calls in the
    same order rebuilds the same state, which is how a resumed run recovers it.
    """

    def __init__(self, n_tasks: int, task_order: np.ndarray | None = None, capacity: int = 64):
        if n_tasks < 0:
            raise ValueError("n_tasks must be >= 0")
        order = np.arange(n_tasks) if task_order is None else np.asarray(task_order, dtype=np.int64)
        if sorted(order.tolist()) != list(range(n_tasks)):
            raise ValueError("task_order must be a permutation of range(n_tasks)")
        self.n_tasks = n_tasks
        self.task_order = order
        self.n_nodes = 0
        self.evals_done = 0
        self.evals_in_flight = 0
        self.pending_expansions = 0
        self.failed_expansions = 0
        self.budget_fraction = 0.0
        self.evals_left: float | None = None
        self._retry: dict[int, list[int]] = {}
        self._alloc(max(capacity, 1))

    # -- storage ----------------------------------------------------------------------
    def _alloc(self, capacity: int) -> None:
        old = {name: getattr(self, "_" + name, None) for name in _ARRAYS}
        for name in _ARRAYS:
            dtype = bool if name == "valid" else np.int64
            new = np.zeros(capacity, dtype=dtype)
            if name == "next_task":
                new[:] = -1
            if old[name] is not None:
                new[: self.n_nodes] = old[name][: self.n_nodes]
            setattr(self, "_" + name, new)
        old_taken, old_cursor = getattr(self, "_taken", None), getattr(self, "_cursor", None)
        self._taken = np.zeros((capacity, self.n_tasks), dtype=bool)
        self._cursor = np.zeros(capacity, dtype=np.int64)  # first maybe-untaken place in order
        if old_taken is not None:
            self._taken[: self.n_nodes] = old_taken[: self.n_nodes]
            self._cursor[: self.n_nodes] = old_cursor[: self.n_nodes]
        self._capacity = capacity

    def snapshot(self) -> Snapshot:
        n = self.n_nodes
        views = {}
        for name in _ARRAYS:
            v = getattr(self, "_" + name)[:n]
            v.flags.writeable = False
            views[name] = v
        taken = self._taken[:n]
        taken.flags.writeable = False
        return Snapshot(
            taken=taken,
            n_nodes=n,
            n_tasks=self.n_tasks,
            evals_done=self.evals_done,
            evals_in_flight=self.evals_in_flight,
            pending_expansions=self.pending_expansions,
            failed_expansions=self.failed_expansions,
            budget_fraction=self.budget_fraction,
            evals_left=self.evals_left,
            **views,
        )

    # -- events -----------------------------------------------------------------------
    def add_node(self, parent: int | None, valid: bool = True) -> int:
        """Append a node (ids are dense: 0, 1, 2, ...) and return its id."""
        if parent is not None and not 0 <= parent < self.n_nodes:
            raise ValueError(f"unknown parent node {parent}")
        if self.n_nodes == self._capacity:
            self._alloc(self._capacity * 2)
        i = self.n_nodes
        self._parent[i] = -1 if parent is None else parent
        self._depth[i] = 0 if parent is None else self._depth[parent] + 1
        self._valid[i] = valid
        self._next_task[i] = self.task_order[0] if valid and self.n_tasks else -1
        if parent is not None:
            self._children[parent] += 1
        self.n_nodes += 1
        return i

    def start_expansion(self, parent: int) -> None:
        self._check(parent)
        self.pending_expansions += 1
        self._pending_children[parent] += 1

    def end_expansion(self, parent: int, failed: bool = False) -> None:
        """The expansion of ``parent`` finished: a child will be added, or (``failed``) none.

        Failed attempts are counted: they cost budget like any expansion, and a policy that
        ignored them would try the same hopeless expansion forever.
        """
        self._check(parent)
        if self._pending_children[parent] <= 0:
            raise ValueError(f"node {parent} has no expansion in flight")
        self.pending_expansions -= 1
        self._pending_children[parent] -= 1
        if failed:
            self.failed_expansions += 1
            self._failed_children[parent] += 1

    def take_task(self, node: int, task: int | None = None) -> int:
        """Mark a task of ``node`` as dispatched and return its index.

        Without ``task`` the node's next task is taken. With it, that exact task is
        taken: one on the node's retry list, or any task the node has not taken yet.
        """
        self._check(node)
        if not self._valid[node]:
            raise ValueError(f"node {node} is invalid and cannot be evaluated")
        retry = self._retry.get(node)
        if task is None:
            task = int(self._next_task[node])
            if task < 0:
                raise ValueError(f"node {node} has no task left")
        if retry and task in retry:
            retry.remove(task)
            if not retry:
                del self._retry[node]
        else:
            if not 0 <= task < self.n_tasks:
                raise ValueError(f"unknown task {task} (the run has {self.n_tasks})")
            if self._taken[node, task]:
                raise ValueError(f"task {task} of node {node} was taken already")
            self._taken[node, task] = True
            self._issued[node] += 1
        self._in_flight[node] += 1
        self.evals_in_flight += 1
        self._refresh_next(node)
        return task

    def record_eval(self, node: int, task: int, outcome: Outcome | str) -> None:
        """A dispatched evaluation completed. O(depth): updates the node and its ancestors."""
        self._check(node)
        outcome = Outcome(outcome)
        if self._in_flight[node] <= 0:
            raise ValueError(f"node {node} has no evaluation in flight")
        self._in_flight[node] -= 1
        self.evals_in_flight -= 1
        if outcome is Outcome.ERROR:
            self._retry.setdefault(node, []).append(task)
            self._refresh_next(node)
            return
        self.evals_done += 1
        own, clade = (
            (self._own_pass, self._clade_pass)
            if outcome is Outcome.PASS
            else (self._own_fail, self._clade_fail)
        )
        own[node] += 1
        i = node
        parent = self._parent
        while i >= 0:
            clade[i] += 1
            i = int(parent[i])

    def release_task(self, node: int, task: int) -> None:
        """Give back a dispatched task whose work was abandoned (e.g. on shutdown)."""
        self.record_eval(node, task, Outcome.ERROR)

    # -- helpers ------------------------------------------------------------------------
    def _refresh_next(self, node: int) -> None:
        retry = self._retry.get(node)
        if retry:
            self._next_task[node] = retry[0]
            return
        cursor, taken, order = int(self._cursor[node]), self._taken[node], self.task_order
        while cursor < self.n_tasks and taken[order[cursor]]:
            cursor += 1
        self._cursor[node] = cursor
        self._next_task[node] = order[cursor] if cursor < self.n_tasks else -1

    def _check(self, node: int) -> None:
        if not 0 <= node < self.n_nodes:
            raise ValueError(f"unknown node {node}")

    def ancestors(self, node: int) -> list[int]:
        """The node's ancestors, nearest first."""
        out, i = [], int(self._parent[node])
        while i >= 0:
            out.append(i)
            i = int(self._parent[i])
        return out
