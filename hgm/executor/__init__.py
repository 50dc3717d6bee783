"""Where expansions and evaluations run.

An executor runs jobs (plain callables returning a result) and hands back futures; the loop
waits for the first to finish and asks the policy again the moment a worker is free. The
driver never shares its archive with a job: jobs return results, the driver records them.

Executors are named by string: ``local`` (a thread pool in the driver process).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Executor(Protocol):
    name: str
    workers: int

    def submit(self, job: Callable[[], Any]) -> Future: ...

    def shutdown(self, wait: bool = True) -> None: ...


EXECUTORS = {"local": "hgm.executor.local:LocalExecutor"}


def get_executor(spec: str, workers: int) -> Executor:
    name = spec.partition("?")[0]
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; choose one of: {', '.join(sorted(EXECUTORS))}")
    module, _, attr = EXECUTORS[name].partition(":")
    return getattr(importlib.import_module(module), attr)(workers=workers)
