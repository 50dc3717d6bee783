"""One evaluation: a node's agent works on a task in a sandbox, then hidden tests decide.

The agent's code is mounted read-only and the task's workspace read-write. Only after the
agent has exited are the hidden tests copied into (a copy of) the workspace it left behind,
and the task's test command run in a fresh sandbox without network: the agent never sees the
tests and cannot touch the harness.
"""

from __future__ import annotations

import dataclasses
import shlex
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hgm.bench import inject_hidden_tests
from hgm.jobs.files import copy_clean, guard_test_runner
from hgm.sandbox import Mount, RunResult, RunSpec, Sandbox
from hgm.scratch import prefix as scratch_prefix
from hgm.types import Outcome, Task

AGENT_COMMAND = (
    'python3 "$HGM_AGENT/run_agent.py" --workspace "$HGM_WORKSPACE" '
    '--task-file "$HGM_TASK/task.md" --trajectory "$HGM_OUT/trajectory.json" '
    "--max-steps {max_steps} --model {model}"
)


@dataclass(frozen=True)
class AgentLimits:
    """Limits of one sandboxed agent run."""

    max_steps: int = 30
    time_limit_s: float = 600
    memory_mb: int = 2048


@dataclass(frozen=True)
class AgentRun:
    """What an agent run left behind."""

    result: RunResult
    workspace: Path | None
    trajectory: bytes


@dataclass(frozen=True)
class EvalResult:
    outcome: Outcome
    duration_s: float
    trajectory: bytes
    test_log: str
    reason: str | None = None


def run_agent(
    sandbox: Sandbox,
    agent_dir: Path,
    workspace: Path,
    instructions: str,
    scratch: Path,
    *,
    token: str,
    model: str,
    gateway_socket: Path,
    limits: AgentLimits,
) -> AgentRun:
    """Run the agent in ``agent_dir`` on ``workspace`` with ``instructions`` as its task."""
    task_dir = scratch / "task"
    task_dir.mkdir()
    (task_dir / "task.md").write_text(instructions)
    out_dir = scratch / "out"
    out_dir.mkdir()
    spec = RunSpec(
        command=AGENT_COMMAND.format(max_steps=limits.max_steps, model=shlex.quote(model)),
        mounts=(
            Mount(agent_dir, "/agent", writable=False, env="HGM_AGENT"),
            Mount(workspace, "/work", writable=True, env="HGM_WORKSPACE"),
            Mount(task_dir, "/task", writable=False, env="HGM_TASK"),
            Mount(out_dir, "/out", writable=True, env="HGM_OUT"),
        ),
        workdir="/work",
        env={"HGM_TOKEN": token, "HGM_MODEL": model},
        time_limit_s=limits.time_limit_s,
        memory_mb=limits.memory_mb,
        network="gateway",
        gateway_socket=gateway_socket,
    )
    result = sandbox.run(spec, scratch / "collected")
    collected_out = result.outputs.get("/out")
    trajectory_file = collected_out / "trajectory.json" if collected_out else None
    if trajectory_file is not None and trajectory_file.is_file() and not trajectory_file.is_symlink():
        trajectory = trajectory_file.read_bytes()
    else:
        trajectory = _fallback_trajectory(result)
    return AgentRun(result=result, workspace=result.outputs.get("/work"), trajectory=trajectory)


def _fallback_trajectory(result: RunResult) -> bytes:
    """When the agent wrote no trajectory, keep what it printed so a failure can be diagnosed."""
    import json

    return json.dumps(
        {
            "missing_trajectory": True,
            "exit_code": result.exit_code,
            "timed_out": result.timed_out,
            "stdout": result.stdout[-20_000:],
            "stderr": result.stderr[-20_000:],
            "error": result.error,
        },
        indent=1,
    ).encode()


def run_hidden_tests(sandbox: Sandbox, task: Task, workspace: Path, scratch: Path, time_limit_s: float) -> RunResult:
    """Inject the hidden tests into a copy of the agent's workspace and run the test command.

    Before the tests go in, :func:`~hgm.jobs.files.guard_test_runner` takes out what the
    agent could have planted for the test runner to import instead of its own code; what
    it changed is printed first on the test command's stderr, so it shows in the test log.
    """
    judged = copy_clean(workspace, scratch / "judged")
    changes = guard_test_runner(judged, task.workspace)
    inject_hidden_tests(task, judged)
    spec = RunSpec(
        command=task.test_command,
        # writable: test runners write caches and temp files next to the tests
        mounts=(Mount(judged, "/work", writable=True, env="HGM_WORKSPACE"),),
        workdir="/work",
        time_limit_s=time_limit_s,
        network="none",
    )
    result = sandbox.run(spec, scratch / "judged-out")
    if changes:
        note = "".join(f"[hgm harness] {line}\n" for line in changes)
        result = dataclasses.replace(result, stderr=note + result.stderr)
    return result


def evaluate(
    sandbox: Sandbox,
    agent_dir: Path,
    task: Task,
    *,
    token: str,
    model: str,
    gateway_socket: Path,
    limits: AgentLimits,
    test_time_limit_s: float,
    budget_exhausted=lambda: False,
) -> EvalResult:
    """Run one evaluation end to end. Infrastructure failures come back as ``error``."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=scratch_prefix("eval")) as tmp:
        scratch = Path(tmp)
        workspace = copy_clean(task.workspace, scratch / "workspace")
        run = run_agent(
            sandbox, agent_dir, workspace, task.instructions, scratch,
            token=token, model=model, gateway_socket=gateway_socket, limits=limits,
        )
        if run.result.error or run.workspace is None:
            return EvalResult(
                Outcome.ERROR, time.monotonic() - start, run.trajectory, "",
                reason=f"sandbox failed: {run.result.error or 'no workspace collected'}",
            )
        if budget_exhausted():
            return EvalResult(
                Outcome.ERROR, time.monotonic() - start, run.trajectory, "",
                reason="the run's dollar budget ran out during the evaluation",
            )
        tests = run_hidden_tests(sandbox, task, run.workspace, scratch, test_time_limit_s)
    log = _test_log(task, tests)
    duration = time.monotonic() - start
    if tests.error:
        return EvalResult(Outcome.ERROR, duration, run.trajectory, log, reason=f"test harness failed: {tests.error}")
    if tests.timed_out:
        return EvalResult(Outcome.FAIL, duration, run.trajectory, log, reason="hidden tests timed out")
    if tests.exit_code == 0:
        return EvalResult(Outcome.PASS, duration, run.trajectory, log)
    reason = "agent timed out; hidden tests failed" if run.result.timed_out else "hidden tests failed"
    return EvalResult(Outcome.FAIL, duration, run.trajectory, log, reason=reason)


def _test_log(task: Task, tests: RunResult) -> str:
    parts = [f"$ {task.test_command}", f"exit code: {tests.exit_code}"]
    if tests.timed_out:
        parts.append("timed out")
    parts += ["--- stdout ---", tests.stdout, "--- stderr ---", tests.stderr]
    return "\n".join(parts)
