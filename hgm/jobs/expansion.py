"""One expansion: diagnose a failure, let the agent change its own source, self-check the child.

Self-modification is just another coding task: the parent agent (mounted read-only) works on
a copy of its own source (the workspace) with a problem statement as its task. What comes
back, with junk removed, is the child's tree. The child must pass its own unit tests in a
sandbox without network to be valid; otherwise it is recorded as invalid with the reason.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

from hgm.gateway import ChatRequest, Gateway, Scope
from hgm.jobs.evaluation import AgentLimits, Bounds, run_agent
from hgm.jobs.files import (
    TreeLimits,
    TreeTooLarge,
    copy_clean,
    prompt,
    remove_tree,
    scratch_dir,
    shorten,
    trees_equal,
)
from hgm.sandbox import Mount, RunSpec, Sandbox


class InfrastructureError(RuntimeError):
    """A job could not be done for a reason outside the agent (the sandbox failed); its
    message is the whole story, recorded without a traceback."""

SELF_CHECK_COMMAND = "python3 -m unittest discover -s tests -t ."
# The parent is a committed node: its size was checked when it was made.
_PARENT = TreeLimits(max_depth=10_000, max_entries=10**9, max_bytes=1 << 62, what="the parent's source")


@dataclass(frozen=True)
class FailureCase:
    """A failed evaluation of the parent, shown to the diagnosing LLM."""

    task: str
    instructions: str
    trajectory: str
    test_log: str


@dataclass(frozen=True)
class ExpansionResult:
    """A child (valid or not) as a tree or an already written commit, or none (both None)."""

    problem_statement: str
    tree: Path | None
    valid: bool
    reason: str | None
    trajectory: bytes = b""
    commit: str | None = None  # the child's commit, when the job has already written it
    kind: str = "edit"  # or "skill" (hgm.jobs.skill_expansion)
    skills: tuple | None = None  # the child's skills for the index (hgm.skills.index.SkillEntry)


def diagnose(gateway: Gateway, model: str, scope: Scope, failure: FailureCase | None) -> str:
    """Ask the LLM what to change in the agent; returns the problem statement."""
    if failure is None:
        user = prompt("diagnose_nofailure")
    else:
        user = prompt("diagnose_user").format(
            instructions=shorten(failure.instructions, 4_000),
            trajectory=shorten(failure.trajectory, 16_000),
            test_log=shorten(failure.test_log, 6_000),
        )
    request = ChatRequest(
        model=model,
        messages=[
            {"role": "system", "content": prompt("diagnose_system")},
            {"role": "user", "content": user},
        ],
    )
    result = gateway.complete(request, scope)
    text = (result.message.get("content") or "").strip()
    if not text:
        raise ValueError("the diagnosis came back empty")
    return text


def self_check(sandbox: Sandbox, tree: Path, scratch: Path, time_limit_s: float, memory_mb: int) -> str | None:
    """Run the child's own tests; returns None when they pass, else the reason."""
    spec = RunSpec(
        command=SELF_CHECK_COMMAND,
        mounts=(Mount(tree, "/agent", writable=True, env="HGM_AGENT"),),
        workdir="/agent",
        time_limit_s=time_limit_s,
        memory_mb=memory_mb,
        network="none",
    )
    result = sandbox.run(spec, scratch / "self-check-out")
    if result.error:
        raise InfrastructureError(f"sandbox failed during the self-check: {result.error}")
    if result.timed_out:
        return f"self-check timed out after {time_limit_s:.0f} s"
    if result.limit:
        return f"self-check broke a sandbox limit: {result.limit}"
    if result.exit_code != 0:
        output = result.stderr + result.stdout
        # Views show a reason's first line: make it say why (unittest ends with its verdict).
        last = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "")
        summary = shorten(last, 200) if last else f"exit code {result.exit_code}, no output"
        return f"self-check failed ({summary}):\n" + shorten(output, 3_000)
    return None


def expand(
    sandbox: Sandbox,
    gateway: Gateway,
    parent_dir: Path,
    failure: FailureCase | None,
    dest: Path,
    *,
    model: str,
    scope: Scope,
    token: str,
    limits: AgentLimits,
    self_check_time_limit_s: float,
    bounds: Bounds | None = None,
) -> ExpansionResult:
    """Make one child of the agent in ``parent_dir``; the child's tree is written to ``dest``.

    A changed source that breaks ``bounds.agent_tree`` (too deep, too many files, too many
    bytes: every descendant's evaluation would copy it) is no child, with the reason.
    """
    bounds = bounds or Bounds()
    if not (Path(parent_dir) / "run_agent.py").is_file():
        raise InfrastructureError("the agent cannot start: its source has no run_agent.py")
    diag_scope = Scope(kind="diagnosis", node=scope.node, ref=scope.ref, task=failure.task if failure else None)
    statement = diagnose(gateway, model, diag_scope, failure)
    instructions = prompt("self_modify").format(problem_statement=statement)
    with scratch_dir("expand") as scratch:
        workspace = copy_clean(parent_dir, scratch / "workspace", _PARENT)
        run = run_agent(
            sandbox, parent_dir, workspace, instructions, scratch,
            token=token, model=model, gateway_socket=gateway.socket_path, limits=limits,
            trajectory_cap=bounds.trajectory_bytes,
        )  # fmt: skip
        if run.result.error or run.workspace is None:
            raise InfrastructureError(f"sandbox failed: {run.result.error or 'no workspace collected'}")
        limit = run.result.limit
        if limit:
            return ExpansionResult(statement, None, False, f"the agent's run broke a limit: {limit}", run.trajectory)
        if gateway.budget_exhausted:
            return ExpansionResult(statement, None, False, "the dollar budget ran out during the expansion", run.trajectory)
        try:
            child = copy_clean(run.workspace, dest, bounds.agent_tree)
        except TreeTooLarge as e:
            remove_tree(dest)
            dest.mkdir()
            return ExpansionResult(statement, None, False, f"the changed source is too large: {e}", run.trajectory)
        if trees_equal(child, parent_dir, _PARENT):
            return ExpansionResult(statement, None, False, "the agent made no change to its source", run.trajectory)
        reason = self_check(sandbox, child, scratch, self_check_time_limit_s, limits.memory_mb)
    return ExpansionResult(statement, dest, reason is None, reason, run.trajectory)


def failure_from_records(instructions: str, task: str, trajectory: bytes | None, test_log: bytes | None) -> FailureCase:
    """Build a FailureCase from archived artifacts, rendering JSON trajectories compactly."""
    text = (trajectory or b"").decode(errors="replace")
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(text), indent=1)[:200_000]
    return FailureCase(task, instructions, text, (test_log or b"").decode(errors="replace"))
