"""How a docker sandbox's container is configured: pure functions of the spec and settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from hgm.sandbox import RunSpec
from hgm.sandbox._docker_exec import GATEWAY_SOCKET, HOME, UID
from hgm.sandbox._docker_launcher import HOLDER

INODES = 262_144
"""Files (and folders) a mount may hold by default when collected; its tmpfs allows a few more, so that
a command that makes too many gets a limit rather than ENOSPC somewhere in its work."""
_INODE_SLACK = 1024


@dataclass(frozen=True)
class Settings:
    """What a DockerSandbox fixes for all its containers."""

    image: str
    runtime: str | None
    disk_mb: int
    ncpu: int
    labels: dict[str, str]
    files: int = INODES


def container(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``APIClient.create_container`` (besides ``host_config``)."""
    return {
        "image": settings.image,
        "command": ["python3", "-I", "-S", "-c", HOLDER],
        "user": f"{UID}:{UID}",
        "hostname": "hgm-sandbox",
        "working_dir": HOME,
        "labels": settings.labels,
    }


def host_config(spec: RunSpec, settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``APIClient.create_host_config`` for runs shaped like ``spec``."""
    from docker.types import LogConfig
    from docker.types import Mount as DockerMount

    mounts = [volume(m.target, m.writable, settings) for m in spec.mounts]
    if spec.network == "gateway":
        mounts.append(
            DockerMount(GATEWAY_SOCKET, str(spec.gateway_socket), type="bind", read_only=True)
        )
    limits: dict[str, Any] = {}
    if spec.memory_mb is not None:
        # Equal limits: no swap, so the memory limit is the whole story.
        limits["mem_limit"] = limits["memswap_limit"] = f"{spec.memory_mb}m"
    if spec.cpus is not None:
        limits["nano_cpus"] = int(min(spec.cpus, settings.ncpu) * 1e9)
    if spec.pids is not None:
        limits["pids_limit"] = spec.pids
    room = f"size={settings.disk_mb}m"
    return {
        "read_only": True,
        "network_mode": "none",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        # exec: Docker makes tmpfs noexec by default, but toolchains run what they build
        # in /tmp (`go run`, test binaries); the workspace is executable anyway.
        "tmpfs": {
            "/tmp": f"rw,exec,nosuid,nodev,{room},mode=1777",
            HOME: f"rw,exec,nosuid,nodev,{room},uid={UID},gid={UID},mode=0700",
        },
        "mounts": mounts,
        "log_config": LogConfig(type="none"),  # output comes over the exec stream only
        "runtime": settings.runtime,
        **limits,
    }


def volume(target: str, writable: bool, settings: Settings) -> Any:
    """A tmpfs volume at ``target``: capped and the user's if writable, else root's."""
    from docker.types import DriverConfig
    from docker.types import Mount as DockerMount

    # Read-only ones are capped too: only the engine writes there, but what it writes is an
    # agent's tree, which would otherwise cost host memory without bound.
    owner = f"uid={UID},gid={UID}" if writable else "uid=0,gid=0"
    opts = f"size={settings.disk_mb}m,nr_inodes={settings.files + _INODE_SLACK},{owner}"
    return DockerMount(
        target,
        None,
        type="volume",
        labels=settings.labels,
        driver_config=DriverConfig(
            "local", {"type": "tmpfs", "device": "tmpfs", "o": f"{opts},mode=0755,nosuid,nodev"}
        ),
    )


def flag(name: str, value: bool | str) -> bool:
    """A boolean parameter of a sandbox spec (``1``/``0``, ``true``/``false``, ...)."""
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 0 or 1, not {value!r}")


def check_socket(spec: RunSpec) -> None:
    """The sandbox user must be able to connect to the gateway socket (write permission)."""
    if spec.network != "gateway":
        return
    st = os.stat(spec.gateway_socket)
    if not (st.st_mode & 0o002 or (st.st_uid == UID and st.st_mode & 0o200)
            or (st.st_gid == UID and st.st_mode & 0o020)):  # fmt: skip
        raise ValueError(
            f"gateway_socket {spec.gateway_socket} is not writable by the sandbox user "
            f"(uid {UID}): make it mode 0666, as hgm's gateway does"
        )
