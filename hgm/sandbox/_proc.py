"""Run one process group with a wall-clock limit and capped output.

The child gets its own session (so its process group can be killed as a whole) and, as its
stdin, the write end of a "ready" pipe: the launcher inside the sandbox writes ``ready`` there
right before it starts the user's command, which is how an infrastructure failure (bwrap could
not set up, the relay did not start) is told apart from the command's own exit status.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

READY = b"ready\n"
_READ_SIZE = 1 << 16
# After the main process is gone, how long to keep reading pipes still held by stragglers.
_DRAIN_GRACE_S = 5.0
# How long a killed process may take to disappear before we stop waiting for it.
_KILL_GRACE_S = 10.0


@dataclass(frozen=True)
class Outcome:
    """What one capped process run produced."""

    returncode: int | None
    timed_out: bool
    ready: bool
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    duration_s: float


class _Capped:
    """Keeps the first ``limit`` bytes of a stream and counts nothing else."""

    def __init__(self, limit: int) -> None:
        self.data = bytearray()
        self.limit = limit
        self.truncated = False

    def add(self, chunk: bytes) -> None:
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        if len(chunk) > room:
            self.truncated = True


def kill_group(pgid: int) -> None:
    """SIGKILL a whole process group, ignoring a group that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


@contextlib.contextmanager
def _pinned(cpus: frozenset[int] | None) -> Iterator[None]:
    """Pin the calling thread to ``cpus`` while a child is forked, so the child inherits it.

    Affinity is per thread on Linux (pid 0 is the calling thread), so other driver threads
    are unaffected; setting it in the child instead would need a preexec_fn, which is unsafe
    in a threaded driver.
    """
    if not cpus:
        yield
        return
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, saved)


def _exited(pid: int) -> bool:
    # WNOWAIT leaves the zombie in place, so its pid (= the group id) cannot be reused
    # before we have killed the rest of the group.
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def run_capped(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str,
    time_limit_s: float,
    output_limit_bytes: int,
    cpus: frozenset[int] | None = None,
    on_start: Callable[[int], None] = lambda pid: None,
    kill: Callable[[int], None] = kill_group,
    pass_fds: Sequence[int] = (),
) -> Outcome:
    """Run ``argv`` in a new session; kill its group at the limit or when it exits.

    ``cpus``: the cores the process (and all it starts) may run on. ``kill(pid)`` is called at
    the time limit and again after the main process exits (so background leftovers die too);
    ``on_start(pid)`` lets the caller track the process; ``pass_fds`` stay open in the child.
    """
    ready_r, ready_w = os.pipe()
    start = time.monotonic()
    try:
        with _pinned(cpus):
            proc = subprocess.Popen(
                list(argv),
                stdin=ready_w,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(env),
                cwd=cwd,
                start_new_session=True,
                pass_fds=tuple(pass_fds),
            )
    except BaseException:
        os.close(ready_r)
        raise
    finally:
        os.close(ready_w)
    on_start(proc.pid)
    streams = {
        proc.stdout.fileno(): _Capped(output_limit_bytes),
        proc.stderr.fileno(): _Capped(output_limit_bytes),
    }
    ready = bytearray()
    try:
        timed_out = _pump(proc.pid, streams, ready_r, ready, start + time_limit_s, kill)
    finally:
        os.close(ready_r)
        proc.stdout.close()
        proc.stderr.close()
    try:
        returncode = proc.wait(timeout=_KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        returncode = None
    out, err = streams.values()
    return Outcome(
        returncode=returncode,
        timed_out=timed_out,
        ready=bytes(ready).startswith(READY),
        stdout=bytes(out.data),
        stderr=bytes(err.data),
        stdout_truncated=out.truncated,
        stderr_truncated=err.truncated,
        duration_s=time.monotonic() - start,
    )


def _pump(
    pid: int,
    streams: dict[int, _Capped],
    ready_fd: int,
    ready: bytearray,
    deadline: float,
    kill: Callable[[int], None],
) -> bool:
    """Read the pipes until the process is gone and they are drained; True if timed out."""
    sel = selectors.DefaultSelector()
    for fd in (*streams, ready_fd):
        sel.register(fd, selectors.EVENT_READ)
    try:
        pidfd = os.pidfd_open(pid)  # readable once the process exits: no polling needed
        sel.register(pidfd, selectors.EVENT_READ)
    except (AttributeError, OSError):
        pidfd = None
    timed_out = False
    exited_at: float | None = None
    try:
        while True:
            now = time.monotonic()
            if exited_at is None and now >= deadline:
                if timed_out:
                    break  # killed but still not gone (uninterruptible sleep): stop waiting
                kill(pid)
                timed_out, deadline = True, now + _KILL_GRACE_S
            if exited_at is not None:
                open_streams = [k.fd for k in sel.get_map().values() if k.fd in streams]
                if not open_streams or now >= exited_at + _DRAIN_GRACE_S:
                    break
            wait = max((deadline if exited_at is None else exited_at + _DRAIN_GRACE_S) - now, 0)
            for key, _ in sel.select(wait if pidfd is not None else min(wait, 0.1)):
                data = b"" if key.fd == pidfd else os.read(key.fd, _READ_SIZE)
                if not data:
                    sel.unregister(key.fd)
                elif key.fd == ready_fd:
                    ready += data
                else:
                    streams[key.fd].add(data)
            if exited_at is None and _exited(pid):
                kill(pid)  # whatever it left running in its group
                exited_at = time.monotonic()
    finally:
        sel.close()
        if pidfd is not None:
            os.close(pidfd)
    return timed_out
