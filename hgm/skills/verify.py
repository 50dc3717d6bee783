"""Verify a skill: its static problems (:func:`hgm.skills.format.skill_problems`), then its own
unittest tests in a sandbox without network.

The skill's folder is copied into the sandbox at ``/skill`` and its tests run there with
``python3 -S -m unittest discover -s tests -t .``: ``-S`` leaves site-packages off
``sys.path``, so a module that slips a non-standard import past the static check (a computed
name) fails at run time too. The sandbox (any :class:`hgm.sandbox.Sandbox`) decides what the
code can see: with the local bubblewrap backend or docker, the host's files (the run folder,
/root, /etc/shadow) are not there, so a test that reads them fails, and the verdict says the
skill tried to reach outside its sandbox. A sandbox that itself fails raises
:class:`hgm.sandbox.SandboxError`: that is nobody's verdict on the skill.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hgm.sandbox import Mount, RunSpec, Sandbox, SandboxError
from hgm.skills.format import skill_problems

MOUNT = "/skill"
TEST_COMMAND = "python3 -S -m unittest discover -s tests -t ."
ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "PYTHONHASHSEED": "0"}
MAX_LOG = 20_000
# unittest's exit status when it found no tests (Python 3.12+; 3.11 says "Ran 0 tests" and OK).
NO_TESTS_EXIT = 5
_OS_ERROR = re.compile(
    r"(PermissionError|FileNotFoundError|NotADirectoryError|IsADirectoryError|OSError): "
    r"\[Errno \d+\] [^\n']*'(/[^'\n]*)'"
)
_FAILED_TEST = re.compile(r"^(?:FAIL|ERROR): (\S+)(?: \(([^)\s]+)\))?", re.MULTILINE)
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit)\b.*)$", re.MULTILINE)
_PRIVATE_ROOTS = ("/tmp", "/hgm/home")


@dataclass(frozen=True)
class SkillVerdict:
    """``ok`` when the skill has no static problem and its tests pass in the sandbox; else
    ``reason`` says why in its first line. ``log`` holds the static problems or the tests'
    output (shortened to its start and end)."""

    ok: bool
    reason: str | None
    log: str


def verify_skill(
    folder: Path,
    sandbox: Sandbox,
    *,
    timeout_s: float = 120.0,
    memory_mb: int = 1024,
    scratch: Path | None = None,
) -> SkillVerdict:
    """Check the skill in ``folder`` statically, then run its tests in ``sandbox`` with network
    "none", ``timeout_s`` and ``memory_mb``. ``scratch`` holds the sandbox's collected copy
    (a temporary folder, removed afterwards, when None). Raises SandboxError when the sandbox
    fails (not the skill's doing)."""
    folder = Path(folder)
    problems = skill_problems(folder)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        return SkillVerdict(False, f"invalid skill: {problems[0]}{more}", "\n".join(problems))
    spec = RunSpec(
        command=TEST_COMMAND,
        mounts=(Mount(folder.resolve(), MOUNT, writable=True, env="HGM_SKILL"),),
        workdir=MOUNT,
        env=ENV,
        time_limit_s=timeout_s,
        memory_mb=memory_mb,
        pids=128,
        network="none",
    )
    if scratch is not None:
        return _run(folder.name, sandbox, spec, Path(scratch))
    with tempfile.TemporaryDirectory(prefix="hgm-skill-") as tmp:
        return _run(folder.name, sandbox, spec, Path(tmp))


def _run(name: str, sandbox: Sandbox, spec: RunSpec, scratch: Path) -> SkillVerdict:
    result = sandbox.run(spec, scratch / "skill-out")
    if result.error:
        raise SandboxError(f"sandbox failed while verifying skill {name!r}: {result.error}")
    log = _shorten(result.stderr + result.stdout)
    if result.timed_out:
        return SkillVerdict(False, f"{name}: tests timed out after {spec.time_limit_s:.0f} s", log)
    if result.limit:
        return SkillVerdict(False, f"{name}: tests broke a sandbox limit: {result.limit}", log)
    ran = re.findall(r"^Ran (\d+) tests?", result.stderr, flags=re.MULTILINE)
    if result.exit_code == NO_TESTS_EXIT or (result.exit_code == 0 and ran in ([], ["0"])):
        reason = f"{name}: no tests ran (tests/test_*.py must hold unittest test cases)"
        return SkillVerdict(False, reason, log)
    if result.exit_code != 0:
        reason = _failure(result.stderr + result.stdout, result.exit_code)
        return SkillVerdict(False, f"{name}: {reason}", log)
    return SkillVerdict(True, None, log)


def _failure(output: str, exit_code: int | None) -> str:
    """One line: what failed, and why when the output shows it."""
    outside = _outside_path(output)
    if outside:
        return f"tests failed: the skill tried to reach {outside}, outside its sandbox"
    last = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "")
    failed = [long or short for short, long in _FAILED_TEST.findall(output)]
    which = f" in {', '.join(failed[:3])}" + (" ..." if len(failed) > 3 else "") if failed else ""
    cause = _last_exception(output)
    summary = last[:200] if last else f"exit code {exit_code}, no output"
    return f"tests failed{which} ({summary})" + (f": {cause}" if cause else "")


def _outside_path(output: str) -> str | None:
    """A path outside the skill's own folder that the tests failed to open, if any: anywhere
    but /skill, except a path in the sandbox's private /tmp or home that the host does not
    have either (the skill's own file, missing through its own bug)."""
    for match in _OS_ERROR.finditer(output):
        path = match.group(2)
        if _under(path, (MOUNT,)):
            continue
        if not _under(path, _PRIVATE_ROOTS) or os.path.lexists(path):
            return path
    return None


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root + "/") for root in roots)


def _last_exception(output: str) -> str | None:
    """The last ``SomeError: message`` line of a traceback in the output."""
    lines = _EXCEPTION_LINE.findall(output)
    return lines[-1][:200] if lines else None


def _shorten(text: str) -> str:
    if len(text) <= MAX_LOG:
        return text
    half = MAX_LOG // 2
    return f"{text[:half]}\n[... {len(text) - MAX_LOG} characters left out ...]\n{text[-half:]}"
