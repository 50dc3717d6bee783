"""Checks on a RunSpec shared by every backend, and the environment it implies."""

from __future__ import annotations

import posixpath
import re
import stat
from pathlib import Path

from hgm.sandbox import Mount, RunSpec, output_name

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TARGET = re.compile(r"(/[A-Za-z0-9._-]+)+")
# Top-level folders the backends provide themselves; a mount there would hide the toolchain.
RESERVED = frozenset(
    [
        "bin",
        "sbin",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "usr",
        "etc",
        "proc",
        "dev",
        "sys",
        "tmp",
        "hgm",
    ]
)
NETWORKS = ("none", "gateway")
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"


def check_spec(spec: RunSpec) -> None:
    """Raise ValueError if ``spec`` cannot be run by any backend."""
    for mount in spec.mounts:
        _check_mount(mount)
    targets = [m.target for m in spec.mounts]
    names = [output_name(t) for t in targets]
    if len(set(names)) != len(names):
        raise ValueError(
            f"mount targets must be distinct (and not differ only by '/' vs '_'): {targets}"
        )
    for a in targets:
        for b in targets:
            if a != b and b.startswith(a + "/"):
                raise ValueError(f"mount target {b} is inside mount target {a}")
    envs = [m.env for m in spec.mounts if m.env]
    if len(set(envs)) != len(envs):
        raise ValueError(f"mount env variables must be distinct: {envs}")
    if spec.workdir is not None and workdir_mount(spec) is None:
        raise ValueError(f"workdir {spec.workdir!r} is not inside any mount target")
    for key, value in spec.env.items():
        if not _NAME.fullmatch(key) or "\0" in value:
            raise ValueError(f"bad environment variable {key!r}")
    if not spec.time_limit_s > 0:
        raise ValueError("time_limit_s must be positive")
    if spec.output_limit_bytes < 0:
        raise ValueError("output_limit_bytes must not be negative")
    for limit in ("memory_mb", "cpus", "pids"):
        value = getattr(spec, limit)
        if value is not None and not value > 0:
            raise ValueError(f"{limit} must be positive or None")
    _check_network(spec)


def _check_mount(mount: Mount) -> None:
    target = mount.target
    if not _TARGET.fullmatch(target) or posixpath.normpath(target) != target:
        raise ValueError(f"mount target must be a plain absolute path like /work: {target!r}")
    if target.split("/")[1] in RESERVED:
        raise ValueError(
            f"mount target {target} is under a reserved folder ({', '.join(sorted(RESERVED))})"
        )
    if not Path(mount.host).is_dir():
        raise ValueError(f"mount host folder does not exist: {mount.host}")
    if mount.env is not None and not _NAME.fullmatch(mount.env):
        raise ValueError(f"bad mount env variable name {mount.env!r}")


def _check_network(spec: RunSpec) -> None:
    if spec.network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, not {spec.network!r}")
    if spec.network == "gateway":
        sock = spec.gateway_socket
        if sock is None:
            raise ValueError('network="gateway" needs gateway_socket')
        try:
            is_socket = stat.S_ISSOCK(Path(sock).stat().st_mode)
        except OSError:
            is_socket = False
        if not is_socket:
            raise ValueError(f"gateway_socket is not a unix socket: {sock}")


def workdir_mount(spec: RunSpec) -> tuple[Mount, str] | None:
    """The mount the command starts in and the path below its target ("" for the target).

    None when the spec has no mounts and no workdir (the command starts in $HOME).
    """
    if spec.workdir is None:
        chosen = next(
            (m for m in spec.mounts if m.writable), spec.mounts[0] if spec.mounts else None
        )
        return None if chosen is None else (chosen, "")
    for mount in spec.mounts:
        if spec.workdir == mount.target or spec.workdir.startswith(mount.target + "/"):
            rel = spec.workdir[len(mount.target) :].lstrip("/")
            if ".." in rel.split("/"):
                return None
            return mount, rel
    return None


def command_env(
    spec: RunSpec, *, home: str, tmp: str, locations: dict[str, str], path: str
) -> dict[str, str]:
    """The complete environment of the command: defaults, then ``spec.env``, then mount vars.

    ``locations`` maps each mount target to where the command sees it.
    """
    env = {"PATH": path, "HOME": home, "LANG": "C.UTF-8", "TMPDIR": tmp}
    env.update(spec.env)
    for mount in spec.mounts:
        if mount.env:
            env[mount.env] = locations[mount.target]
    return env
