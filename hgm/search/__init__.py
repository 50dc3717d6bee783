"""Search policies: pure functions from a tree snapshot to the next action.

A policy is an object with a ``name`` and ``decide(snapshot, rng) -> Action``. It does no I/O
and reads no clock; all randomness comes from the ``rng`` it is given, so the same snapshot
and the same generator state give the same action.

Policies are named by string (``"hgm"``, ``"dgm"``, ``"greedy"``, ``"random"``), optionally
with parameters: ``"hgm?alpha=0.6&sharpen=1"``. A ``preset`` parameter picks another
implementation of the same policy (:data:`PRESETS`): ``"hgm?preset=paper"`` is the HGM
paper's reference algorithm, minus its bugs. Any policy takes staged evaluation as the
parameter ``staged=STAGE1,THRESHOLD[,STAGE2]`` (``"hgm?staged=5,0.4"``; see
:mod:`hgm.search.staged`).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, fields
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


PRESETS: dict[tuple[str, str], str] = {
    ("hgm", "paper"): "hgm.search.hgm_paper:PaperHGMPolicy",
}


def get_policy(spec: str) -> Policy:
    """Build a policy from a spec such as ``"hgm"``, ``"hgm?alpha=0.5"`` or
    ``"hgm?staged=5,0.4"``.

    Each parameter is converted to the type of the policy's field of that name; a value
    of the wrong type, an unknown parameter or a value the policy refuses is a ValueError
    whose one-line message names the policy and the parameter. ``staged`` is taken off and
    wraps the policy in :class:`hgm.search.staged.StagedPolicy`.
    """
    name, _, query = spec.strip().partition("?")
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; choose one of: {', '.join(sorted(POLICIES))}")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ValueError(f"policy {name}: malformed parameters {query!r} (expected key=value&...)") from None
    params = dict(pairs)
    if len(params) != len(pairs):
        raise ValueError(f"policy {name}: a parameter is given twice in {spec!r}")
    target = POLICIES[name]
    if "preset" in params:
        presets = sorted(p for n, p in PRESETS if n == name)
        if (name, params["preset"]) not in PRESETS:
            raise ValueError(f"policy {name}: unknown preset {params['preset']!r} "
                             f"(valid: {', '.join(presets) or 'none'})")  # fmt: skip
        target = PRESETS[(name, params["preset"])]
    module_name, _, cls_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    staged = params.pop("staged", None)
    kwargs = _typed_params(name, cls, params)
    try:
        policy = cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ValueError(f"policy {name}: {e}") from None
    if staged is None:
        return policy
    from hgm.search.staged import parse_staged

    try:
        return parse_staged(policy, staged)
    except ValueError as e:
        raise ValueError(f"policy {name}: {e}") from None


_CONVERTERS = {"int": int, "float": float, "str": str}
_KIND = {"int": "a whole number", "float": "a number", "str": "text"}


def _typed_params(name: str, cls: type, params: dict[str, str]) -> dict:
    """``params`` (text) converted to the types of ``cls``'s dataclass fields."""
    types = {f.name: str(f.type) for f in fields(cls) if f.init and f.name != "name"}
    typed = {}
    for key, text in params.items():
        if key not in types:
            valid = ", ".join([*types, "staged"])
            raise ValueError(f"policy {name}: bad parameters: it has no {key!r} (valid: {valid})")
        convert = _CONVERTERS.get(types[key].removeprefix("builtins."), str)
        try:
            value = convert(text)
        except ValueError:
            raise ValueError(
                f"policy {name}: {key} must be {_KIND.get(types[key], types[key])}, not {text!r}"
            ) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"policy {name}: {key} must be a finite number, not {text!r}")
        typed[key] = value
    return typed


__all__ = [
    "Action",
    "Evaluate",
    "Expand",
    "POLICIES",
    "PRESETS",
    "Policy",
    "Snapshot",
    "Stop",
    "TreeStats",
    "Wait",
    "get_policy",
]
