"""The bubblewrap command line for one run of the local backend."""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

HOME = "/hgm/home"
RELAY = "/hgm/relay.py"
GATEWAY_SOCKET = "/hgm/gateway.sock"
SHM_BYTES = 64 << 20
"""The size of /dev/shm."""

_TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# Masked whatever their permissions say: credentials and host keys.
_ETC_SECRETS = (
    "shadow",
    "shadow-",
    "gshadow",
    "gshadow-",
    "sudoers",
    "sudoers.d",
    "ssh",
    "ssl/private",
    "security/opasswd",
)


@dataclass(frozen=True)
class Bind:
    """One host folder (or file) bound at ``target`` inside the sandbox."""

    source: Path
    target: str
    writable: bool


@functools.cache
def etc_masks() -> tuple[tuple[str, bool], ...]:
    """(path, is_folder) under /etc that the sandbox must not read.

    Everything an unprivileged host user could not read either, plus known secrets: the
    sandbox may run as the driver's uid (root, even), so file permissions alone do not hide
    them.
    """
    found: dict[str, bool] = {}
    for name in _ETC_SECRETS:
        path = os.path.join("/etc", name)
        if os.path.lexists(path) and not os.path.islink(path):
            found[path] = os.path.isdir(path)
    for folder, dirs, files in os.walk("/etc"):
        for name in list(dirs):
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISDIR(mode) and (path in found or mode & 0o005 != 0o005):
                found[path] = True
                dirs.remove(name)  # masked as a whole; no need to look inside
        for name in files:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode) and not mode & 0o004:
                found[path] = False
    return tuple(sorted(found.items()))


def base_args(python_prefix: Path | None) -> list[str]:
    """Namespaces, the read-only toolchain and the masked /etc, common to every run."""
    args = [
        "--unshare-all",
        "--cap-drop", "ALL",
        "--die-with-parent",
        "--new-session",
        "--hostname", "hgm-sandbox",
        "--ro-bind", "/usr", "/usr",
    ]  # fmt: skip
    for name in _TOP_LEVEL:
        path = "/" + name
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--ro-bind", "/etc", "/etc"]
    for path, is_folder in etc_masks():
        if is_folder:
            args += ["--tmpfs", path, "--remount-ro", path]
        else:
            args += ["--ro-bind", "/dev/null", path]
    if python_prefix is not None:
        args += ["--ro-bind", str(python_prefix), str(python_prefix)]
    # A small /dev/shm of its own (bwrap's /dev is an uncapped tmpfs), and /dev read-only.
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(SHM_BYTES), "--perms", "01777", "--tmpfs", "/dev/shm",
             "--remount-ro", "/dev"]  # fmt: skip
    return args + userns_args()


@functools.cache
def userns_args() -> list[str]:
    """Options that stop the command from making user namespaces of its own (the kernel
    surface they open is the usual first step of a container escape), when bwrap can."""
    args = ["--unshare-user", "--disable-userns"]
    found = shutil.which("bwrap")
    if found is None:
        return []
    probe = [found, *args, "--ro-bind", "/", "/", "--", "/bin/true"]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return args if done.returncode == 0 else []


def run_args(
    python_prefix: Path | None,
    *,
    disk_bytes: int,
    binds: list[Bind],
    relay: Path | None,
    gateway_socket: Path | None,
    seccomp_fd: int | None = None,
) -> list[str]:
    """All bwrap options for one run (everything before ``--`` and the command).

    /tmp and $HOME are tmpfs of ``disk_bytes`` each: nothing there is collected, so the
    sandbox may own them outright. ``seccomp_fd``: an open file holding the seccomp program.
    """
    args = base_args(python_prefix)
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    size = str(disk_bytes)
    args += ["--size", size, "--perms", "01777", "--tmpfs", "/tmp",
             "--size", size, "--perms", "0700", "--tmpfs", HOME]  # fmt: skip
    if relay is not None:
        args += ["--ro-bind", str(relay), RELAY]
    if gateway_socket is not None:
        # connect() needs no write access to the mount, only to the socket inode.
        args += ["--ro-bind", str(gateway_socket), GATEWAY_SOCKET]
    for bind in binds:
        args += ["--bind" if bind.writable else "--ro-bind", str(bind.source), bind.target]
    # Last: the tmpfs root bwrap built (and the mount points it made) becomes read-only.
    return args + ["--remount-ro", "/"]


@functools.cache
def bwrap_works(bwrap: str, python_prefix: Path | None) -> str | None:
    """None if bubblewrap can start a sandbox here, else why not."""
    argv = [bwrap, *base_args(python_prefix), "--", "/bin/sh", "-c", "exit 0"]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode != 0:
        return done.stderr.strip() or f"bwrap exited with {done.returncode}"
    return None
