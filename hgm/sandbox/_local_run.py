"""Pieces of one local sandbox run: the seccomp fd, the shared relay and socket, results."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from hgm.sandbox import RunResult, _proc, _seccomp


def seccomp_fd() -> int | None:
    """A fresh read-only fd holding the seccomp program (bwrap reads it to the end), or None
    on a machine without one."""
    program = _seccomp.program()
    if program is None:
        return None
    fd = os.memfd_create("hgm-seccomp", os.MFD_CLOEXEC)  # pass_fds makes it inheritable
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def share_with_user(root: Path, relay: Path, socket: Path | None) -> tuple[Path, Path | None]:
    """The relay and the gateway socket where an unprivileged user can reach them.

    The relay is copied into ``root``. The socket gets a hard link there (its folder may be
    closed to others; connecting needs only the socket's own 0666 mode); where no link can
    be made (another filesystem), the original path is used.
    """
    relay_copy = root / "relay.py"
    shutil.copyfile(relay, relay_copy)
    if socket is None:
        return relay_copy, None
    link = root / "gateway.sock"
    try:
        os.link(socket, link)
    except OSError:
        return relay_copy, socket
    return relay_copy, link


def note_oom(outcome: _proc.Outcome, kills: int, memory_mb: int | None) -> _proc.Outcome:
    """Say on stderr when the kernel killed processes for the run's memory limit."""
    if not kills:
        return outcome
    note = (f"\nhgm sandbox: the memory limit ({memory_mb} MiB for all processes together) "
            f"killed {kills} process(es)\n").encode()  # fmt: skip
    return dataclasses.replace(outcome, stderr=outcome.stderr + note)


def result(
    outcome: _proc.Outcome,
    outputs: dict[str, Path],
    error: str | None = None,
    limit: str | None = None,
) -> RunResult:
    code = outcome.returncode
    if code is not None and code < 0:
        code = 128 - code  # as a shell reports death by signal
    return RunResult(
        exit_code=None if outcome.timed_out or error else code,
        timed_out=outcome.timed_out,
        stdout=outcome.stdout.decode("utf-8", "replace"),
        stderr=outcome.stderr.decode("utf-8", "replace"),
        stdout_truncated=outcome.stdout_truncated,
        stderr_truncated=outcome.stderr_truncated,
        duration_s=outcome.duration_s,
        outputs=outputs,
        error=error,
        limit=limit,
    )


def limited(message: str) -> RunResult:
    """A result for a run refused because its files break a limit (the command's doing)."""
    outcome = _proc.Outcome(None, False, False, b"", b"", False, False, 0.0)
    return result(outcome, {}, limit=message)


def failed(message: str, outcome: _proc.Outcome | None = None) -> RunResult:
    """A result for a run the sandbox could not carry out (or collect)."""
    if outcome is None:
        outcome = _proc.Outcome(None, False, False, b"", b"", False, False, 0.0)
    return result(outcome, {}, error=message)
