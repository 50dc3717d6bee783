"""Call a skill's function in a sandbox, never in the caller's process.

Skill code is written by an LLM, so ``hgm skills serve`` runs every call as its own sandboxed
``python3`` process (:mod:`hgm.sandbox`, network none): the skill folder and the call are
mounted read-only, a scratch folder is the working directory unless a workspace is given
(mounted read-only at /workspace), and the answer is one line of JSON on the process's
stdout (see :mod:`hgm.skills.export._call`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hgm.sandbox import Mount, RunSpec, Sandbox
from hgm.skills.export import module_name
from hgm.skills.format import Skill

CALL_SCRIPT = Path(__file__).with_name("_call.py")


@dataclass(frozen=True)
class CallResult:
    """A call's answer: ``result`` when ``ok``, else ``error`` (one line); ``log`` is stderr."""

    ok: bool
    result: object = None
    error: str | None = None
    log: str = ""


@dataclass(frozen=True)
class CallLimits:
    """Limits of one sandboxed call."""

    time_limit_s: float = 60.0
    memory_mb: int = 1024
    output_limit_bytes: int = 4_000_000


def call_skill(
    sandbox: Sandbox,
    skill: Skill,
    function: str,
    arguments: dict,
    *,
    limits: CallLimits = CallLimits(),
    workspace: Path | None = None,
) -> CallResult:
    """Run ``skill``'s ``function(**arguments)`` in ``sandbox`` and return its JSON answer."""
    with tempfile.TemporaryDirectory(prefix="hgm-skill-call-") as tmp:
        scratch = Path(tmp)
        call_dir, work_dir = scratch / "call", scratch / "work"
        call_dir.mkdir()
        work_dir.mkdir()
        shutil.copyfile(CALL_SCRIPT, call_dir / "_call.py")
        request = {"module": module_name(skill), "function": function, "arguments": arguments}
        (call_dir / "call.json").write_text(json.dumps(request), encoding="utf-8")
        mounts = [
            Mount(work_dir, "/work", writable=True, env="HGM_WORK"),
            Mount(Path(skill.folder), "/skill", writable=False, env="HGM_SKILL"),
            Mount(call_dir, "/call", writable=False, env="HGM_CALL"),
        ]
        if workspace is not None:
            mounts.append(Mount(Path(workspace), "/workspace", writable=False, env="HGM_WORKSPACE"))
        spec = RunSpec(
            command='python3 "$HGM_CALL/_call.py"',
            mounts=tuple(mounts),
            workdir="/work",
            time_limit_s=limits.time_limit_s,
            memory_mb=limits.memory_mb,
            output_limit_bytes=limits.output_limit_bytes,
            network="none",
        )
        result = sandbox.run(spec, scratch / "collected")
    return _answer(result)


def _answer(result) -> CallResult:
    log = result.stderr
    if result.error:
        return CallResult(False, error=f"the sandbox failed: {result.error}", log=log)
    if result.timed_out:
        return CallResult(False, error="the call ran past its time limit", log=log)
    if result.limit:
        return CallResult(False, error=f"the call broke a limit: {result.limit}", log=log)
    lines = result.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict) or "ok" not in answer:
        tail = log.strip().splitlines()[-1:] or [f"exit code {result.exit_code}"]
        return CallResult(False, error=f"the skill process gave no answer: {tail[0]}", log=log)
    if result.stdout_truncated:
        return CallResult(False, error="the result is larger than the output limit", log=log)
    if answer["ok"]:
        return CallResult(True, result=answer.get("result"), log=log)
    return CallResult(False, error=str(answer.get("error")), log=log)
