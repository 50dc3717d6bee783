"""Where expansions and evaluations run.

An executor runs jobs (plain callables returning a result) and hands back futures; the loop
waits for the first to finish and asks the policy again the moment a worker is free. The
driver never shares its archive with a job: jobs return results, the driver records them.

Executors are named by string: ``local`` (a thread pool in the driver process) and ``ray``
(Ray tasks on the nodes of a cluster, ``ray?address=auto&num_cpus_per_job=1``: docs/ray.md).
An executor may also have ``gateway_listen`` (keyword arguments for the gateway, so that other
machines reach it) and ``bind(worker, sandbox_spec, gateway_port)`` (the run's worker made to
build jobs it can run); :func:`hgm.runner` uses both when present.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl

LOST_MARK = " [the machine running it was lost]"
"""Ends the reason of a job lost with its machine (a Ray node that died): the error is the
cluster's, so the loop never counts it toward an agent's repeated errors (also on resume)."""


@runtime_checkable
class Executor(Protocol):
    name: str
    workers: int

    def submit(self, job: Callable[[], Any]) -> Future: ...

    def shutdown(self, wait: bool = True) -> None: ...


EXECUTORS = {"local": "hgm.executor.local:LocalExecutor", "ray": "hgm.executor.ray:RayExecutor"}


def check_executor_spec(spec: str) -> None:
    """Raise ValueError unless ``spec`` names a known executor (nothing is imported or started)."""
    name = spec.partition("?")[0]
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; choose one of: {', '.join(sorted(EXECUTORS))}")


def get_executor(spec: str, workers: int) -> Executor:
    check_executor_spec(spec)
    name, _, query = spec.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True))
    module, _, attr = EXECUTORS[name].partition(":")
    try:
        return getattr(importlib.import_module(module), attr)(workers=workers, **params)
    except TypeError as e:  # an unknown parameter
        raise ValueError(f"executor {spec!r}: {e}") from None
