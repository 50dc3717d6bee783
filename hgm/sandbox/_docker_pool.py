"""Containers started ahead of need, so that a run does not wait for one to start.

Starting a container is most of a trivial run's cost (~200 ms). Runs come in a few shapes
(the agent run, the hidden tests: same mount targets, limits and network each time), so after
a run takes a container of a shape, another of that shape is started in the background for
the next one. A run's ``preload`` (shared read-only content: target, digest, tar bytes) is
copied into a container as it is started, and is part of the shape: a run only ever gets a
container holding exactly its own shared content. Each container still serves exactly one
run; idle ones are removed on close, and the oldest is dropped when more than ``max_idle``
wait.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from hgm.sandbox import RunSpec

log = logging.getLogger(__name__)

Slot = TypeVar("Slot")
Preload = tuple[tuple[str, str, bytes], ...]
"""Shared read-only content put into a container when it starts: (target, digest, tar)."""


def shape(spec: RunSpec) -> Hashable:
    """Everything of ``spec`` that is fixed when its container is created."""
    socket = None
    if spec.network == "gateway" and spec.gateway_socket is not None:
        st = os.stat(spec.gateway_socket)
        # A socket recreated at the same path is a new file the old bind mount does not see.
        socket = (str(spec.gateway_socket), st.st_dev, st.st_ino)
    mounts = tuple((m.target, m.writable) for m in spec.mounts)
    return (spec.image, mounts, spec.network, socket, spec.memory_mb, spec.cpus, spec.pids)


class _Start:
    """A container being started in the background; ``claimed`` once a run waits for it."""

    def __init__(self) -> None:
        self.future: Future | None = None
        self.claimed = False


class Pool(Generic[Slot]):
    """Started containers by shape; ``start(spec, preload)`` makes one, ``remove(slot)``
    disposes of one."""

    def __init__(
        self,
        start: Callable[[RunSpec, Preload], Slot],
        remove: Callable[[Slot], None],
        *,
        ahead: int,
        max_idle: int = 4,
    ) -> None:
        self._start = start
        self._remove = remove
        self._ahead = ahead
        self._max_idle = max_idle
        self._lock = threading.Lock()
        self._idle: dict[Hashable, list[Slot]] = {}
        self._order: list[tuple[Hashable, Slot]] = []  # oldest first
        self._pending: dict[Hashable, list[_Start]] = {}  # unclaimed, oldest first
        self._closed = False
        self._starter = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hgm-docker-start")
        self._remover = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hgm-docker-rm")

    def take(self, spec: RunSpec, preload: Preload = ()) -> Slot:
        """A started container for ``spec`` holding ``preload``: a waiting one, one being
        started, or a new one."""
        key = (shape(spec), tuple((target, digest) for target, digest, _ in preload))
        slot, claimed = None, None
        with self._lock:
            waiting, pending = self._idle.get(key), self._pending.setdefault(key, [])
            if waiting:
                slot = waiting.pop(0)
                self._order.remove((key, slot))
            elif pending:
                claimed = pending.pop(0)  # half started already: cheaper than starting anew
                claimed.claimed = True
            want = self._ahead - len(self._idle.get(key, ())) - len(pending)
            for _ in range(want if not self._closed else 0):
                ahead = _Start()
                pending.append(ahead)
                ahead.future = self._starter.submit(self._prepare, key, spec, preload, ahead)
        if slot is None and claimed is not None:
            slot = claimed.future.result()  # None if that start failed
        return slot if slot is not None else self._start(spec, preload)

    def discard(self, slot: Slot) -> None:
        """Remove a used container, in the background."""
        with self._lock:
            if not self._closed:
                self._remover.submit(self._remove, slot)
                return
        self._remove(slot)

    def flush(self) -> None:
        """Remove the idle containers (after an engine restart they are dead)."""
        with self._lock:
            idle = [slot for _, slot in self._order]
            self._idle.clear()
            self._order.clear()
        for slot in idle:
            self._remove(slot)

    def close(self) -> None:
        """Stop starting containers, finish pending removals, remove the idle ones."""
        with self._lock:
            self._closed = True
        self._starter.shutdown(wait=True)
        self._remover.shutdown(wait=True)
        self.flush()

    def _prepare(self, key: Hashable, spec: RunSpec, preload: Preload, ahead: _Start) -> Slot | None:
        """Start a container; hand it to the run that claimed it, else keep it idle."""
        try:
            slot = self._start(spec, preload)
        except Exception as exc:  # the run that needs it will start its own and report
            log.debug("could not start a container ahead: %s", exc)
            slot = None
        evicted = []
        with self._lock:
            if ahead.claimed:
                return slot
            self._pending[key].remove(ahead)
            if slot is not None and self._closed:
                evicted.append(slot)
            elif slot is not None:
                self._idle.setdefault(key, []).append(slot)
                self._order.append((key, slot))
                while len(self._order) > self._max_idle:
                    old_key, old = self._order.pop(0)
                    self._idle[old_key].remove(old)
                    evicted.append(old)
        for old in evicted:
            self._remove(old)
        return None
