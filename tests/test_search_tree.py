"""TreeStats: incremental clade counts, task hand-out and retry, replay, snapshots."""

from __future__ import annotations

import numpy as np
import pytest

from hgm.search.tree import TreeStats


def _random_history(seed: int, n_nodes: int = 40, n_events: int = 400, n_tasks: int = 12):
    """A random but legal sequence of TreeStats calls, as (method, args) pairs."""
    rng = np.random.default_rng(seed)
    probe = TreeStats(n_tasks, task_order=rng.permutation(n_tasks), capacity=2)
    calls = [("__init__", (n_tasks, probe.task_order.copy()))]

    def do(name, *args):
        calls.append((name, args))
        return getattr(probe, name)(*args)

    do("add_node", None, True)
    in_flight: list[tuple[int, int]] = []
    for _ in range(n_events):
        r = rng.random()
        snap = probe.snapshot()
        if r < 0.15 and probe.n_nodes < n_nodes:
            do("add_node", int(rng.integers(probe.n_nodes)), bool(rng.random() < 0.85))
        elif r < 0.6:
            ready = np.flatnonzero(snap.next_task >= 0)
            if ready.size:
                node = int(rng.choice(ready))
                task = probe.take_task(node)
                # A resumed run replays the exact task it recorded, so the history names it.
                calls.append(("take_task", (node, task)))
                in_flight.append((node, task))
        elif in_flight:
            node, task = in_flight.pop(int(rng.integers(len(in_flight))))
            do("record_eval", node, task, str(rng.choice(["pass", "fail", "error"])))
    return calls, probe


def _replay(calls) -> TreeStats:
    (_, init_args), *rest = calls
    stats = TreeStats(*init_args, capacity=2)
    for name, args in rest:
        getattr(stats, name)(*args)
    return stats


def test_clade_counts_equal_a_full_recount_after_random_events():
    _, stats = _random_history(seed=1)
    snap = stats.snapshot()
    expected_pass = np.zeros(snap.n_nodes, dtype=np.int64)
    expected_fail = np.zeros(snap.n_nodes, dtype=np.int64)
    for node in range(snap.n_nodes):
        for i in [node, *stats.ancestors(node)]:
            expected_pass[i] += snap.own_pass[node]
            expected_fail[i] += snap.own_fail[node]
    assert snap.own_pass.sum() + snap.own_fail.sum() == snap.evals_done
    np.testing.assert_array_equal(snap.clade_pass, expected_pass)
    np.testing.assert_array_equal(snap.clade_fail, expected_fail)


def test_replaying_the_same_calls_rebuilds_the_same_state():
    calls, original = _random_history(seed=2)
    replayed = _replay(calls)
    a, b = original.snapshot(), replayed.snapshot()
    for name in ("parent", "depth", "valid", "children", "own_pass", "own_fail"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for name in ("clade_pass", "clade_fail", "in_flight", "issued", "next_task"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.evals_done, a.evals_in_flight) == (b.evals_done, b.evals_in_flight)


def test_replay_with_explicit_tasks_accepts_a_retried_task():
    stats = TreeStats(3)
    stats.add_node(None)
    first = stats.take_task(0, 0)
    stats.record_eval(0, first, "error")
    assert stats.take_task(0, 0) == 0  # the errored task, named explicitly
    assert stats.take_task(0, 1) == 1


def test_errored_task_is_handed_out_again_before_fresh_ones():
    stats = TreeStats(5, task_order=np.array([4, 3, 2, 1, 0]))
    stats.add_node(None)
    t0 = stats.take_task(0)
    t1 = stats.take_task(0)
    assert (t0, t1) == (4, 3)
    stats.record_eval(0, t1, "error")
    assert stats.snapshot().next_task[0] == 3
    assert stats.take_task(0) == 3
    assert stats.take_task(0) == 2


def test_errors_count_neither_as_failure_nor_as_done():
    stats = TreeStats(4)
    stats.add_node(None)
    stats.add_node(0)
    stats.record_eval(1, stats.take_task(1), "error")
    snap = stats.snapshot()
    assert (snap.own_fail[1], snap.clade_fail[0], snap.evals_done) == (0, 0, 0)
    assert (snap.in_flight[1], snap.evals_in_flight) == (0, 0)


def test_evaluation_updates_the_node_and_every_ancestor_only():
    stats = TreeStats(4)
    for parent in (None, 0, 1, 0):
        stats.add_node(parent)
    stats.record_eval(2, stats.take_task(2), "pass")
    snap = stats.snapshot()
    assert snap.clade_pass.tolist() == [1, 1, 1, 0]
    assert snap.own_pass.tolist() == [0, 0, 1, 0]


def test_invalid_node_has_no_task_and_cannot_be_evaluated():
    stats = TreeStats(4)
    stats.add_node(None)
    stats.add_node(0, valid=False)
    assert stats.snapshot().next_task[1] == -1
    with pytest.raises(ValueError, match="invalid"):
        stats.take_task(1)


def test_node_without_tasks_left_refuses_another():
    stats = TreeStats(1)
    stats.add_node(None)
    stats.take_task(0)
    assert stats.snapshot().next_task[0] == -1
    with pytest.raises(ValueError, match="no task left"):
        stats.take_task(0)


def test_any_untaken_task_may_be_taken_and_a_taken_one_is_refused():
    stats = TreeStats(4, task_order=np.array([3, 2, 1, 0]))
    stats.add_node(None)
    stats.take_task(0, 2)  # out of the run-wide order
    assert stats.snapshot().next_task[0] == 3
    assert stats.snapshot().taken[0].tolist() == [False, False, True, False]
    with pytest.raises(ValueError, match="taken already"):
        stats.take_task(0, 2)
    with pytest.raises(ValueError, match="unknown task"):
        stats.take_task(0, 4)
    assert [stats.take_task(0) for _ in range(3)] == [3, 1, 0]  # the order skips task 2
    assert stats.snapshot().next_task[0] == -1 and stats.snapshot().issued[0] == 4


def test_an_errored_task_is_retried_and_stays_taken():
    stats = TreeStats(3)
    stats.add_node(None)
    stats.take_task(0, 1)
    stats.record_eval(0, 1, "error")
    snap = stats.snapshot()
    assert snap.next_task[0] == 1 and snap.taken[0, 1]
    assert stats.take_task(0, 1) == 1 and stats.snapshot().next_task[0] == 0


def test_snapshot_arrays_are_read_only_and_copy_survives_later_events():
    stats = TreeStats(3)
    stats.add_node(None)
    snap = stats.snapshot()
    with pytest.raises(ValueError):
        snap.own_pass[0] = 5
    kept = snap.copy()
    stats.record_eval(0, stats.take_task(0), "pass")
    assert kept.own_pass[0] == 0 and stats.snapshot().own_pass[0] == 1


def test_growing_past_capacity_keeps_every_count():
    stats = TreeStats(2, capacity=1)
    stats.add_node(None)
    stats.record_eval(0, stats.take_task(0), "pass")
    for i in range(1, 100):
        stats.add_node(i - 1)
    snap = stats.snapshot()
    assert snap.n_nodes == 100 and snap.depth[99] == 99
    assert snap.own_pass[0] == 1 and snap.next_task[99] == 0


def test_expansion_bookkeeping_counts_pending_children():
    stats = TreeStats(2)
    stats.add_node(None)
    stats.start_expansion(0)
    assert (stats.snapshot().pending_expansions, stats.snapshot().pending_children[0]) == (1, 1)
    stats.end_expansion(0)
    assert stats.snapshot().pending_expansions == 0
    with pytest.raises(ValueError, match="no expansion in flight"):
        stats.end_expansion(0)


def test_task_order_must_be_a_permutation():
    with pytest.raises(ValueError, match="permutation"):
        TreeStats(3, task_order=np.array([0, 0, 1]))
