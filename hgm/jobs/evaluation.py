"""One evaluation: a node's agent works on a task in a sandbox, then hidden tests decide.

The agent's code is mounted read-only and the task's workspace read-write. Only after the
agent has exited are the hidden tests copied into (a copy of) the workspace it left behind,
and the task's test command run in a fresh sandbox without network: the agent never sees the
tests and cannot touch the harness. A Python unittest command runs under hgm's own runner,
and the verdict needs every expected test reported passed (:mod:`hgm.jobs.verdict`).

What the agent causes is its result: a workspace too deep, too large or with too many files
to collect, or a limit its run broke, is a ``fail`` with the reason. ``error`` is only for
what does not depend on the agent (the sandbox failed, the agent's source cannot even start).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import shlex
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hgm.bench import hidden_tests_dir, inject_hidden_tests
from hgm.jobs._attempts import join_trajectories, retry_instructions
from hgm.jobs.expected_tests import expected_tests
from hgm.jobs.files import (
    TreeLimits,
    TreeTooLarge,
    cap_bytes,
    copy_clean,
    guard_test_runner,
    read_capped,
    scratch_dir,
)
from hgm.jobs.verdict import (
    RUNNER,
    TESTS_FAILED,
    Verdict,
    exit_code_verdict,
    judge,
    parse_test_command,
)
from hgm.sandbox import Mount, RunResult, RunSpec, Sandbox
from hgm.skills.usage import SkillUsage, skill_usage
from hgm.timing import Phases
from hgm.types import Outcome, Task

# The task's own files are trusted: only what the agent leaves behind is bounded.
_UNBOUNDED = TreeLimits(max_depth=10_000, max_entries=10**9, max_bytes=1 << 62, what="the task's workspace")

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
class Bounds:
    """Caps on what an agent leaves behind; RunConfig documents each one."""

    trajectory_bytes: int = 4 << 20
    test_log_bytes: int = 1 << 20
    eval_artifact_bytes: int = 8 << 20
    """Per evaluation: trajectory and test log together."""
    workspace: TreeLimits = field(default_factory=lambda: TreeLimits(what="the workspace"))
    agent_tree: TreeLimits = field(
        default_factory=lambda: TreeLimits(max_depth=32, max_entries=5_000, max_bytes=20 << 20, what="the agent's source")
    )


def bounds_from_config(config) -> Bounds:
    """The :class:`Bounds` a run's config (``hgm.config.RunConfig``) sets."""
    return Bounds(
        trajectory_bytes=config.max_trajectory_bytes,
        test_log_bytes=config.max_test_log_bytes,
        eval_artifact_bytes=config.max_eval_artifact_bytes,
        workspace=TreeLimits(config.max_tree_depth, config.max_workspace_files, config.max_workspace_bytes, "the workspace"),
        agent_tree=TreeLimits(
            config.max_tree_depth, config.max_agent_tree_files, config.max_agent_tree_bytes, "the agent's source"
        ),
    )


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
    skill_usage: SkillUsage = field(default_factory=SkillUsage)
    """The skills the agent searched, read and ran, from its trajectory (hgm.skills.usage)."""
    timings: Mapping[str, float] = field(default_factory=dict)
    """Wall seconds per part, for accounting (benchmarks/throughput.py): ``prepare`` (the
    workspace copied, the hidden tests put into a copy of what the agent left), ``agent.*``
    and ``tests.*`` (the two sandbox runs' :attr:`~hgm.sandbox.RunResult.phases`: ``start``,
    ``copy_in``, ``command``, ``copy_out``), ``judge`` (reading the verdict) and ``total``."""


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
    trajectory_cap: int = Bounds.trajectory_bytes,
    workdir: str = "/work",
    image: str | None = None,
) -> AgentRun:
    """Run the agent in ``agent_dir`` on ``workspace`` with ``instructions`` as its task.

    The workspace is mounted at ``workdir``; ``image``, when given, is the container image
    to run in instead of the sandbox's own (a task's :attr:`~hgm.types.Task.image`).

    The trajectory is read with a cap: a longer one (say a 4 GiB sparse file) is kept
    truncated, with a marker, never read whole.
    """
    task_dir = scratch / "task"
    task_dir.mkdir()
    (task_dir / "task.md").write_text(instructions)
    out_dir = scratch / "out"
    out_dir.mkdir()
    spec = RunSpec(
        command=AGENT_COMMAND.format(max_steps=limits.max_steps, model=shlex.quote(model)),
        mounts=(
            Mount(agent_dir, "/agent", writable=False, env="HGM_AGENT"),
            Mount(workspace, workdir, writable=True, env="HGM_WORKSPACE"),
            Mount(task_dir, "/task", writable=False, env="HGM_TASK"),
            Mount(out_dir, "/out", writable=True, env="HGM_OUT"),
        ),
        workdir=workdir,
        image=image,
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
        trajectory = read_capped(trajectory_file, trajectory_cap)
    else:
        trajectory = _fallback_trajectory(result)
    return AgentRun(result=result, workspace=result.outputs.get(workdir), trajectory=trajectory)


def _fallback_trajectory(result: RunResult) -> bytes:
    """When the agent wrote no trajectory, keep what it printed so a failure can be diagnosed."""
    return json.dumps(
        {
            "missing_trajectory": True,
            "exit_code": result.exit_code,
            "timed_out": result.timed_out,
            "stdout": result.stdout[-20_000:],
            "stderr": result.stderr[-20_000:],
            "error": result.error,
            "limit": result.limit,
        },
        indent=1,
    ).encode()


@dataclass(frozen=True)
class HiddenTestRun:
    """A run of the hidden tests and hgm's verdict on it."""

    result: RunResult
    verdict: Verdict


def run_hidden_tests(sandbox: Sandbox, task: Task, workspace: Path, scratch: Path, time_limit_s: float) -> RunResult:
    """The run of :func:`judge_hidden_tests` without its verdict (what the command did)."""
    return judge_hidden_tests(sandbox, task, workspace, scratch, time_limit_s).result


def judge_hidden_tests(
    sandbox: Sandbox,
    task: Task,
    workspace: Path,
    scratch: Path,
    time_limit_s: float,
    limits: TreeLimits = _UNBOUNDED,
    phases: Phases | None = None,
) -> HiddenTestRun:
    """Inject the hidden tests into a copy of the agent's workspace, run them, judge the run.

    Before the tests go in, :func:`~hgm.jobs.files.guard_test_runner` takes out what the
    agent could have planted for the test runner to import instead of its own code; what
    it changed is printed first on the test command's stderr, so it shows in the test log.
    A Python unittest command runs under hgm's runner (:mod:`hgm.jobs.verdict`); any other
    is judged by its exit status. Raises :class:`TreeTooLarge` when ``workspace`` breaks
    ``limits``. ``phases``, when given, gets the time of each part (see :class:`EvalResult`).
    """
    phases = phases if phases is not None else Phases()
    with phases("prepare"):
        judged = copy_clean(workspace, scratch / "judged", limits)
        changes = guard_test_runner(judged, task.workspace)
        hidden_dir = hidden_tests_dir(task)
        inject_hidden_tests(task, judged, hidden_dir)
    plan = parse_test_command(task.test_command)
    mounts = [Mount(judged, task.workdir, writable=True, env="HGM_WORKSPACE")]  # writable: caches, temp files
    env, command, nonce = {}, task.test_command, secrets.token_hex(16)
    if plan is not None:
        runner_dir, verdict_dir = scratch / "verdict", scratch / "verdict-out"
        runner_dir.mkdir()
        verdict_dir.mkdir()
        shutil.copyfile(RUNNER, runner_dir / "runner.py")
        mounts += [
            Mount(runner_dir, "/hgm_verdict", writable=False, env="HGM_VERDICT", shared=True),
            Mount(verdict_dir, "/hgm_verdict_out", writable=True, env="HGM_VERDICT_OUT"),
        ]
        env = {"HGM_VERDICT_NONCE": nonce}
        command = plan.command('"$HGM_VERDICT/runner.py"')
    spec = RunSpec(command=command, mounts=tuple(mounts), workdir=task.workdir, env=env,
                   time_limit_s=time_limit_s, network="none", image=task.image)  # fmt: skip
    result = sandbox.run(spec, scratch / "judged-out")
    phases.merge(result.phases, "tests.")
    judging = time.perf_counter()
    if changes:
        note = "".join(f"[hgm harness] {line}\n" for line in changes)
        result = dataclasses.replace(result, stderr=note + result.stderr)
    if plan is None:
        verdict = exit_code_verdict(result, "the test command is not a Python unittest command hgm's runner runs")
    else:
        expected = expected_tests(plan, Path(task.tests), hidden_dir, Path(task.workspace))
        out = result.outputs.get("/hgm_verdict_out")
        verdict = judge(result, out, expected, nonce)
    phases.add("judge", time.perf_counter() - judging)
    return HiddenTestRun(result, verdict)


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
    bounds: Bounds = Bounds(),
) -> EvalResult:
    """Run one evaluation end to end.

    Infrastructure failures come back as ``error``; whatever the agent causes (a workspace
    that cannot be collected, a limit it breaks, tampering with the tests) is a ``fail``
    with the reason.
    """
    start = time.monotonic()
    phases = Phases()

    def done(outcome: Outcome, trajectory: bytes, log: str, reason: str | None) -> EvalResult:
        trajectory, log_bytes = _within_quota(trajectory, log.encode(errors="replace"), bounds)
        phases.add("total", time.monotonic() - start)
        return EvalResult(outcome, time.monotonic() - start, trajectory, log_bytes.decode(errors="replace"), reason,
                          skill_usage(trajectory), phases.rounded())  # fmt: skip

    if not (Path(agent_dir) / "run_agent.py").is_file():
        return done(Outcome.ERROR, b"", "", "the agent cannot start: its source has no run_agent.py")
    with scratch_dir("eval") as scratch:
        with phases("prepare"):
            workspace = copy_clean(task.workspace, scratch / "workspace", _UNBOUNDED)
        instructions, trajectories, logs = task.instructions, [], []
        for attempt in range(1, max(1, task.tries) + 1):
            here = scratch / f"attempt{attempt}" if attempt > 1 else scratch
            here.mkdir(exist_ok=True)
            run = run_agent(
                sandbox, agent_dir, workspace, instructions, here,
                token=token, model=model, gateway_socket=gateway_socket, limits=limits,
                trajectory_cap=bounds.trajectory_bytes, workdir=task.workdir, image=task.image,
            )  # fmt: skip
            trajectories.append(run.trajectory)
            trajectory = join_trajectories(trajectories)
            phases.merge(run.result.phases, "agent.")
            if run.result.error:
                return done(Outcome.ERROR, trajectory, "", f"sandbox failed: {run.result.error}")
            limit = run.result.limit
            if limit:
                return done(Outcome.FAIL, trajectory, "", f"the agent's run broke a limit: {limit}")
            if run.workspace is None:
                return done(Outcome.ERROR, trajectory, "", "sandbox failed: no workspace collected")
            if budget_exhausted():
                return done(Outcome.ERROR, trajectory, "", "the run's dollar budget ran out during the evaluation")
            try:
                tests = judge_hidden_tests(sandbox, task, run.workspace, here, test_time_limit_s, bounds.workspace,
                                           phases)  # fmt: skip
            except TreeTooLarge as e:
                return done(Outcome.FAIL, trajectory, "", f"the workspace cannot be collected: {e}")
            logs.append(_test_log(task, tests.result, tests.verdict))
            if tests.verdict.outcome is not Outcome.FAIL or attempt == task.tries:
                break
            instructions = retry_instructions(task, tests.result, attempt + 1)
            workspace = run.workspace
    verdict = tests.verdict
    log = logs[0] if len(logs) == 1 else "".join(f"=== attempt {i} ===\n{text}\n" for i, text in enumerate(logs, 1))
    reason = verdict.reason
    if verdict.outcome is Outcome.FAIL and reason == TESTS_FAILED and run.result.timed_out:
        reason = "agent timed out; hidden tests failed"
    return done(verdict.outcome, trajectory, log, reason)


def _within_quota(trajectory: bytes, log: bytes, bounds: Bounds) -> tuple[bytes, bytes]:
    """Both artifacts within their own caps, and together within the evaluation's quota."""
    log = cap_bytes(log, bounds.test_log_bytes)  # the trajectory was read with its cap
    room = max(0, bounds.eval_artifact_bytes - len(log))
    if len(trajectory) > room:
        trajectory = cap_bytes(trajectory, room)
    return trajectory, log


def _test_log(task: Task, tests: RunResult, verdict: Verdict) -> str:
    parts = [f"$ {task.test_command}", f"exit code: {tests.exit_code}"]
    if tests.timed_out:
        parts.append("timed out")
    parts += ["--- stdout ---", tests.stdout, "--- stderr ---", tests.stderr, "--- hgm verdict ---"]
    parts += [*verdict.notes, f"verdict: {verdict.outcome.value}" + (f" ({verdict.reason})" if verdict.reason else "")]
    return "\n".join(parts)
