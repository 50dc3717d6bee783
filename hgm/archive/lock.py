"""One driver per run: an exclusive ``flock`` on ``<run>/driver.lock``, held for the driver's life.

The kernel drops a ``flock`` when the last descriptor of its open file closes, which a
process always does when it dies, even by SIGKILL: a dead driver never leaves a stale
lock. The holder writes its pid into the file so that a second driver can say who holds
the run. Readers (``hgm status``, ``tree``, ``show``, the web page) never take the lock:
they open the run read-only.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hgm.archive.git import ArchiveError

LOCK = "driver.lock"


class RunLocked(ArchiveError):
    """Another live process drives this run; ``pid`` is its process id when known."""

    def __init__(self, path: Path, pid: int | None):
        self.path, self.pid = Path(path), pid
        who = f"process {pid}" if pid is not None else "another process (pid not written yet)"
        super().__init__(
            f"run {path} is held by {who}: one driver per run; wait for it to stop "
            f"(or stop it) and resume then"
        )


@contextmanager
def driver_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run's driver lock for the block; RunLocked at once if another process has it.

    ``run_dir`` must exist. The lock file stays (empty of meaning once its holder is gone).
    """
    path = Path(run_dir) / LOCK
    # O_CLOEXEC: a sandbox or git child must not inherit the descriptor and keep the lock
    # alive after the driver dies.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(run_dir, _read_pid(fd)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None
