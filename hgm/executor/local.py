"""A pool of worker threads in the driver process.

Jobs spend their time waiting on sandboxed subprocesses and HTTP, so threads are enough;
the GIL is released while they wait.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hgm-worker")

    def submit(self, job: Callable[[], Any]) -> Future:
        return self._pool.submit(job)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)
