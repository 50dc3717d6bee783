"""Sandboxes: run a command with files in, files out, limits, and a network policy.

A sandbox is named by a string: ``"auto"``, ``"local"``, ``"local?bwrap=0"``, ``"docker"``,
``"docker?runtime=runsc"``. ``auto`` is docker when a Docker engine answers and the sandbox
image exists or can be built, else local (with a warning saying why). Every backend
runs ``bash -c COMMAND`` with its mounts (the host folders are never written to), collects the
writable mounts into ``out_dir``, and passes the same conformance suite
(tests/test_sandbox_conformance.py). Invalid specs raise ValueError; a sandbox that fails to
start or collect returns ``RunResult.error``; files of the command that break a limit (too big,
too many, too deep, sparse files far larger than their disk use) return ``RunResult.limit``.
sandbox/README.md ("Security") lists every limit and what enforces it on each backend. What
each backend guarantees:

``local`` with bubblewrap (used when ``bwrap`` is installed and works; ``local?bwrap=1``
insists on it) -- ``isolated = True``:
    - filesystem: a read-only view of /usr, /bin, /lib*, /sbin and /etc (files that are not
      world-readable, and known secrets such as /etc/shadow, /etc/ssh, /etc/ssl/private, are
      masked); a private /tmp and $HOME (tmpfs of ``disk_mb`` each); a 64 MiB /dev/shm and an
      otherwise read-only /dev; the root itself is read-only. Nothing else of the host
      is visible: not /root, not /home, not the run archive. If /usr/bin/python3 is missing,
      the driver's own Python installation (``sys.base_prefix``) is bound read-only at its
      path, and only that folder.
    - writable mounts are copies bound read-write (each in a tmpfs of ``disk_mb`` that the
      driver mounts when it is root) and collected back afterwards; read-only mounts are the
      host folder bound read-only (same content, no copy).
    - network: a private network namespace with only loopback; ``network="gateway"`` adds the
      gateway's unix socket at /hgm/gateway.sock (a hard link in the run's own folder, so the
      gateway's path never shows in /proc/self/mountinfo) and a relay serving it on 127.0.0.1.
    - processes: private pid, ipc, uts and user namespaces; no capabilities; no nested user
      namespaces (``--disable-userns``, bubblewrap 0.8+); a seccomp filter refuses kernel
      keyrings, eBPF, perf events, userfaultfd, io_uring, kexec, module loading and file
      handles (see :mod:`hgm.sandbox._seccomp`); the whole namespace dies when the
      time limit kills bwrap, and whatever is left in the run's cgroup is killed after it.
    - limits: a cgroup per run (v1 or v2, whichever the host gives this process) holds
      ``memory_mb`` as a sum over all processes (no swap), ``pids`` and ``cpus`` as a CPU
      quota; the cgroup is removed after the run. Also ``memory_mb`` as RLIMIT_AS of every
      process, ``pids`` as RLIMIT_NPROC (counted per uid), ``cpus`` as CPU affinity to
      ceil(cpus) cores. A limit this host cannot enforce (no cgroup access, not root for the
      tmpfs mounts) is listed in ``LocalSandbox.unenforced`` and by ``hgm doctor``.
    - user: the driver's own uid, mapped into the namespace. When the driver is root, each
      run gets a fresh unprivileged uid instead (``setpriv``; ``drop=0`` turns this off):
      the kernel exempts root from RLIMIT_NPROC, and a command that is nobody owns none of
      the host's files. Every mount is then a copy owned by that uid, the relay and a hard
      link to the gateway socket are placed in the sandbox's own folder.
      ``LocalSandbox.limits_pids`` says whether ``pids`` holds.

``docker`` (parameters: ``image``, ``runtime``, ``toolchains``, ``build``, ``disk_mb``,
``prestart``, ``run``; see :class:`hgm.sandbox.docker.DockerSandbox`) -- ``isolated = True``:
    - a fresh container of the sandbox image per run (built from ``sandbox/`` on first use),
      or of the run's own ``RunSpec.image`` (a task's image, e.g. a SWE-bench instance image:
      it must be in the engine and hold ``python3`` and ``bash``),
      removed afterwards with its volumes; containers and volumes carry the labels
      ``hgm.sandbox`` (this sandbox object), ``hgm.run``, ``hgm.host`` and ``hgm.pid``. A
      sandbox removes its own, and when created those left by dead hgm processes of this
      host; nothing else is touched.
    - filesystem: the image's read-only root; every mount target is its own tmpfs volume, the
      content copied in as a tar stream: read-only mounts are owned by root (so the sandbox
      user cannot write them), writable ones by the sandbox user; all capped at ``disk_mb``;
      /tmp and $HOME (/hgm/home) are tmpfs capped at ``disk_mb``. Writable mounts come back
      as tar streams (a stream far larger than the cap, i.e. sparse files, is a limit).
      Memory written to these tmpfs counts against the memory limit.
    - user: uid/gid 1000, all capabilities dropped, no-new-privileges, Docker's default
      seccomp profile; ``runtime=runsc`` adds gVisor's kernel when the engine has it.
    - network: none (loopback only); ``network="gateway"`` bind-mounts the gateway socket
      (which uid 1000 must be able to write: hgm's gateway makes it 0666) at
      /hgm/gateway.sock, through a hard link in the sandbox's own folder so that the
      gateway's path does not show inside, and runs the relay on 127.0.0.1.
    - processes: a private pid namespace; at the time limit, and when the command exits,
      every other process of the sandbox is killed before the outputs are archived (if the
      command killed the launcher that does this, the container is frozen and read through
      the engine instead); the container is then removed. A launcher inside the container
      carries the command's output and the archives in a framed stream the command cannot
      write to.
    - speed: after a run, a container of the same shape is started ahead for the next one
      (``prestart``), so a run rarely waits for a container to start; small read-only mounts
      marked ``Mount.shared`` (hgm's verdict runner) are copied into it as it starts, and
      only a run with exactly that content gets it.
    - limits: ``memory_mb`` as the container's memory (no swap) -- a sum over all its
      processes; ``pids`` as its pids limit (threads count); ``cpus`` as a CPU quota.
      Read-only mounts are tmpfs volumes of ``disk_mb`` too. Mounts whose files would not fit
      their tmpfs (or, writable ones, the memory limit) are refused as ``RunResult.limit``
      before the container gets them.

``local?bwrap=0`` (also ``local`` when bubblewrap is missing, with a warning) -- a plain
subprocess, ``isolated = False``. It is NOT isolation: the command runs as the driver's user
and can read and write anything that user can, and reach the network. It gets: copies of its
mounts in a private temporary root (read-only mounts are read-only by copy only: the copy's
write bits are cleared, which root ignores, and it is never collected), a scrubbed
environment, its own process group (killed at the time limit and when the command exits),
the same cgroup and capped tmpfs folders (for /tmp and $HOME too) where the host allows
them, RLIMIT_AS and CPU affinity. Without a pids cgroup ``pids`` is not enforced:
RLIMIT_NPROC counts every process of the user on the host, so no value means "this run";
without a cgroup, a process that calls setsid escapes the kill.
The gateway socket is used at its real path and the relay listens on a free loopback port.

All backends: only ``RunSpec.env`` plus PATH, HOME, LANG, TMPDIR (and the mount and gateway
variables) reach the command; output beyond ``output_limit_bytes`` per stream is drained and
dropped; collected outputs keep symlinks as symlinks (never the content they point at), drop
special files, and lose setuid/setgid bits. A tree copied in or collected may hold at most
``files`` entries (a sandbox parameter, default 262,144), 256 folders deep, ``disk_mb`` of
apparent size (sparse files count in full; holes are kept as holes where copied), else the
run returns ``RunResult.limit``; these walks are iterative, so no depth makes them raise.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qsl


class SandboxError(Exception):
    """The sandbox backend itself failed or is unavailable (not the command)."""


@dataclass(frozen=True)
class Mount:
    """A host folder whose content the command sees at ``target``.

    The host folder itself is never modified. A ``writable`` mount's content after the run is
    collected into ``RunResult.outputs[target]``. ``env`` names a variable that tells the
    command where the mount is visible (harness commands use it rather than ``target``, since
    the plain-subprocess backend cannot create ``target``).
    """

    host: Path
    target: str
    writable: bool = False
    env: str | None = None
    shared: bool = False
    """Read-only content that many runs share, such as hgm's verdict runner: a backend may
    copy it into a sandbox started ahead of the run (never one that ran anything before)."""


@dataclass(frozen=True)
class RunSpec:
    """One command to run in a sandbox, with its files, limits and network policy."""

    command: str
    mounts: tuple[Mount, ...] = ()
    workdir: str | None = None
    """A mount target (or a folder under one); default: the first writable mount."""
    env: Mapping[str, str] = field(default_factory=dict)
    """The only variables passed in, besides PATH, HOME, LANG, TMPDIR and mount/gateway ones."""
    time_limit_s: float = 600
    output_limit_bytes: int = 1_000_000
    """Per stream; output beyond it is dropped and the result says truncated."""
    memory_mb: int | None = 2048
    cpus: float | None = 2.0
    """CPU time per wall-clock second (a quota; 0.5 = half a core); None: no limit."""
    pids: int | None = 256
    network: str = "none"
    """``"none"`` or ``"gateway"`` (only the LLM gateway, through ``gateway_socket``)."""
    gateway_socket: Path | None = None
    image: str | None = None
    """Run in this container image rather than the backend's own (only backends that run
    images, i.e. docker, can; the others return ``RunResult.error``). The image must hold
    ``python3`` and ``bash``; its root stays read-only."""


@dataclass(frozen=True)
class RunResult:
    """What happened. ``error`` is set (and ``exit_code`` None) when the sandbox failed;
    ``limit`` when the command broke a limit (see below)."""

    exit_code: int | None
    """The command's exit status, 128+N if killed by signal N; None if timed out or not run."""
    timed_out: bool
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    duration_s: float
    outputs: Mapping[str, Path]
    """Writable mount target -> host folder holding its collected content."""
    error: str | None = None
    """Why the sandbox itself failed (engine down, image missing): not the command's doing."""
    limit: str | None = None
    """Why the run broke a limit that the command itself caused, e.g. a writable tree too deep,
    with too many files or too big to collect, sparse files far larger than their disk use, a
    workspace too big for the sandbox's disk. Set with ``error`` None: the caller counts it
    against whoever wrote the command's files (an agent's FAIL), never as an infrastructure
    error. ``outputs`` may then be empty or partial."""
    phases: Mapping[str, float] = field(default_factory=dict)
    """Wall seconds of the run's parts, for accounting only: ``start`` (waiting for a container,
    or making the run's cgroup), ``copy_in`` (mounts copied or packed in), ``command`` (the
    command itself, with the launcher or bubblewrap around it), ``copy_out`` (writable mounts
    collected). A part the run did not reach is absent."""


@runtime_checkable
class Sandbox(Protocol):
    """Runs commands; safe to call ``run`` from several threads at once."""

    name: str
    isolated: bool
    """True when the command is confined (filesystem, network, processes)."""

    def run(self, spec: RunSpec, out_dir: Path) -> RunResult:
        """Run ``spec``; writable mounts are collected under ``out_dir/<output_name(target)>``.

        Raises ValueError for an invalid spec; infrastructure failures during the run come back
        as ``RunResult.error``.
        """
        ...

    def close(self) -> None:
        """Kill anything still running and release resources."""
        ...

    def unavailable(self) -> str | None:
        """None when the backend can run commands now, else why it cannot (e.g. the Docker
        engine does not answer). Cheap enough to call every few seconds. Optional: the loop
        treats a backend without it as always available."""
        ...


SANDBOXES: dict[str, str] = {
    "local": "hgm.sandbox.local:LocalSandbox",
    "docker": "hgm.sandbox.docker:DockerSandbox",
}


AUTO = "auto"
"""The spec that picks docker when it can work here, else local."""


def get_sandbox(spec: str) -> Sandbox:
    """Build a sandbox from a spec such as ``"auto"``, ``"local?bwrap=0"`` or ``"docker"``.

    Parameters after ``?`` are passed to the backend's constructor as strings. Raises
    ValueError for an unknown backend or parameter, SandboxError when the backend cannot work
    on this machine.
    """
    name, _, query = spec.partition("?")
    if name == AUTO:
        if query:
            raise ValueError("sandbox 'auto' takes no parameters; name the backend instead")
        return _auto()
    if name not in SANDBOXES:
        names = ", ".join(sorted([*SANDBOXES, AUTO]))
        raise ValueError(f"unknown sandbox {name!r}; choose one of: {names}")
    module_name, _, cls_name = SANDBOXES[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise SandboxError(
            f"sandbox backend {name!r} is not available in this installation"
        ) from exc
    cls = getattr(module, cls_name)
    params = dict(parse_qsl(query, strict_parsing=bool(query)))
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for sandbox {name!r}: {exc}") from exc


def _auto() -> Sandbox:
    """Docker when an engine answers and the image exists or builds, else local."""
    try:
        return get_sandbox("docker")
    except SandboxError as exc:
        reason = str(exc)
    logging.getLogger(__name__).warning(
        "sandbox 'auto': using the local backend, not docker: %s", reason
    )
    return get_sandbox("local")


def output_name(target: str) -> str:
    """The folder name under ``out_dir`` that holds the collected content of ``target``."""
    return "_".join(part for part in target.split("/") if part) or "root"


__all__ = [
    "AUTO",
    "Mount",
    "RunResult",
    "RunSpec",
    "SANDBOXES",
    "Sandbox",
    "SandboxError",
    "get_sandbox",
    "output_name",
]
