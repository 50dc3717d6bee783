"""Search policies: pure functions from a tree snapshot to the next action.

A policy is an object with a ``name`` and ``decide(snapshot, rng) -> Action``. It does no I/O
and reads no clock; all randomness comes from the ``rng`` it is given, so the same snapshot
and the same generator state give the same action.

Policies are named by string (``"hgm"``, ``"dgm"``, ``"greedy"``, ``"random"``), optionally
with parameters: ``"hgm?alpha=0.6&sharpen=1"``. Any policy takes staged evaluation as the
parameter ``staged=STAGE1,THRESHOLD[,STAGE2]`` (``"hgm?staged=5,0.4"``; see
:mod:`hgm.search.staged`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qsl

import numpy as np

from hgm.search.tree import Snapshot, TreeStats


@dataclass(frozen=True)
class Expand:
    """Make a child of ``node`` (self-modification)."""

    node: int


@dataclass(frozen=True)
class Evaluate:
    """Run ``node`` on the task with index ``task``."""

    node: int
    task: int


@dataclass(frozen=True)
class Wait:
    """Nothing useful to start until in-flight work completes."""


@dataclass(frozen=True)
class Stop:
    """Nothing more can be done (the policy's own verdict; budgets are the loop's)."""

    reason: str


Action = Expand | Evaluate | Wait | Stop


@runtime_checkable
class Policy(Protocol):
    name: str

    def decide(self, snap: Snapshot, rng: np.random.Generator) -> Action: ...


POLICIES: dict[str, str] = {
    "hgm": "hgm.search.hgm:HGMPolicy",
    "dgm": "hgm.search.dgm:DGMPolicy",
    "greedy": "hgm.search.greedy:GreedyPolicy",
    "random": "hgm.search.random_policy:RandomPolicy",
}


def get_policy(spec: str) -> Policy:
    """Build a policy from a spec such as ``"hgm"``, ``"hgm?alpha=0.5"`` or
    ``"hgm?staged=5,0.4"``.

    Parameter values are parsed as numbers where they look like numbers. ``staged`` is
    taken off and wraps the policy in :class:`hgm.search.staged.StagedPolicy`.
    """
    name, _, query = spec.partition("?")
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; choose one of: {', '.join(sorted(POLICIES))}")
    module_name, _, cls_name = POLICIES[name].partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    params = {k: _number(v) for k, v in parse_qsl(query, strict_parsing=bool(query))}
    staged = params.pop("staged", None)
    try:
        policy = cls(**params)
    except TypeError as e:
        raise ValueError(f"bad parameters for policy {name!r}: {e}") from None
    if staged is None:
        return policy
    from hgm.search.staged import parse_staged

    return parse_staged(policy, str(staged))


def _number(text: str) -> int | float | str:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


__all__ = [
    "Action",
    "Evaluate",
    "Expand",
    "POLICIES",
    "Policy",
    "Snapshot",
    "Stop",
    "TreeStats",
    "Wait",
    "get_policy",
]
