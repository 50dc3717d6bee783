"""Typed records shared across modules.

These are the values that cross module boundaries: the archive returns them, the loop
passes them around, the CLI and the web page render them. They are frozen so a record read
from the archive cannot be changed by accident on its way to a view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

NodeId = int


class NodeKind(StrEnum):
    SEED = "seed"
    EDIT = "edit"
    SKILL = "skill"


class NodeStatus(StrEnum):
    VALID = "valid"
    INVALID = "invalid"


class Outcome(StrEnum):
    """The result of one evaluation.

    ``ERROR`` means the infrastructure failed (sandbox, gateway, the harness's own timeout):
    it is retried and never counted as the agent's failure.
    """

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"


@dataclass(frozen=True)
class Node:
    """One agent version: a git commit at ``refs/nodes/<id>`` of the run's agents.git."""

    id: NodeId
    parent: NodeId | None
    commit: str
    kind: NodeKind
    status: NodeStatus
    proposal: str = ""
    reason: str | None = None
    cost_usd: float = 0.0
    created_at: float = 0.0
    meta: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Evaluation:
    """One run of one node on one task."""

    id: int
    node: NodeId
    task: str
    task_index: int
    outcome: Outcome
    duration_s: float = 0.0
    cost_usd: float = 0.0
    trajectory: str | None = None
    test_log: str | None = None
    reason: str | None = None
    created_at: float = 0.0


@dataclass(frozen=True)
class Expansion:
    """One attempt to make a child of ``parent``; failed attempts are recorded too."""

    id: int
    parent: NodeId
    child: NodeId | None
    status: str  # "valid" | "invalid" | "failed"
    problem_statement: str = ""
    reason: str | None = None
    cost_usd: float = 0.0
    created_at: float = 0.0


@dataclass(frozen=True)
class Task:
    """One benchmark task in the ``dir`` format (see docs/tasks.md)."""

    id: str
    instructions: str
    workspace: Path
    tests: Path
    test_command: str
    time_limit_s: float = 600.0
    language: str = "python"
    solution: Path | None = None
    image: str | None = None
    """A container image the agent and the hidden tests run in instead of the sandbox's own
    (e.g. a SWE-bench instance image); only a backend that runs images (docker) can run it."""
    workdir: str = "/work"
    """Where the workspace is mounted in the sandbox, and where commands start (a SWE-bench
    instance image has its repository at ``/testbed``)."""
    tries: int = 1
    """Attempts the agent gets: after a failed one it runs again on what it left, with the
    hidden tests' output added to its instructions (Aider's protocol, ``?tries=2``)."""
