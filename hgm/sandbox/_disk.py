"""Size-capped tmpfs folders on the host, for the local backend's writable mounts.

Mounting a filesystem on the host needs root (CAP_SYS_ADMIN in the host's mount namespace):
:func:`unavailable` says whether it works here. A command that fills such a folder gets
ENOSPC (or EDQUOT) and goes on; the host's disk never sees the writes. What a command writes
there is memory, charged to its cgroup like any tmpfs page.
"""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from pathlib import Path

INODES = 262_144
"""Files (and folders) a collected tree may hold, as on the docker backend; the tmpfs allows a
few more, so that a command that makes too many gets a limit, not ENOSPC mid-work."""
_INODE_SLACK = 1024


def mount(folder: Path, size_mb: int, files: int = INODES) -> None:
    """Mount a tmpfs of ``size_mb`` MiB (and a few more inodes than ``files``) on the
    existing ``folder``.

    Raises OSError if the mount fails.
    """
    opts = f"size={size_mb}m,nr_inodes={files + _INODE_SLACK},mode=0700,nosuid,nodev"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "hgm-sandbox", str(folder)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise OSError(f"cannot mount a tmpfs on {folder}: {done.stderr.strip()}")


def unmount(folder: Path) -> None:
    """Unmount what :func:`mount` put on ``folder`` (lazily: nothing may still use it)."""
    subprocess.run(["umount", "--lazy", str(folder)], capture_output=True,
                   stdin=subprocess.DEVNULL, check=False)  # fmt: skip


@functools.cache
def unavailable() -> str | None:
    """None if this process can mount capped tmpfs folders, else why not (tried once)."""
    if os.geteuid() != 0:
        return f"mounting a size-capped tmpfs needs root; hgm runs as uid {os.geteuid()}"
    with tempfile.TemporaryDirectory(prefix="hgm-disk-probe-") as probe:
        try:
            mount(Path(probe), 1)
        except OSError as exc:
            return str(exc)
        unmount(Path(probe))
    return None
