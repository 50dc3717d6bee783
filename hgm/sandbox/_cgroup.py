"""A control group per local sandbox run: memory (a sum over all its processes), pids, CPU.

Each controller is taken from a cgroup v1 hierarchy where one is mounted for it, else from
the cgroup v2 tree; the run's group is made below the driver's own group. :func:`support`
says, per controller, whether that works here and if not why; the local backend then runs
without that limit (``hgm doctor`` shows it).

The command is put in its groups by a tiny shell wrapper that writes its own pid to each
group's ``cgroup.procs`` and then execs the real command line, so everything it starts is
counted from its first instruction. After the run, :meth:`Cgroup.close` kills whatever is
left in the groups and removes them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CONTROLLERS = ("memory", "pids", "cpu")
_PERIOD_US = 100_000
_GONE_WAIT_S = 10.0

# $1: how many cgroup.procs files follow; then the files; then the command line.
WRAPPER = (
    'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); '
    'done; exec "$@"'
)


@dataclass(frozen=True)
class _Place:
    """Where groups of one controller are made: the folder of the driver's own group."""

    folder: Path
    v2: bool


def _mounts() -> list[tuple[str, str, str, list[str]]]:
    """(fs type, mount point, root inside the hierarchy, super options) of cgroup mounts."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
            found.append((tail[0], fields[4], fields[3], tail[2].split(",")))
    return found


def _own_groups() -> dict[str, str]:
    """Controller (or "" for v2) -> the driver's group path, from /proc/self/cgroup."""
    own: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                own[name] = path
    return own


def _under(mount: str, root: str, own: str) -> Path:
    rel = own[len(root) :] if root != "/" and own.startswith(root) else own
    return Path(mount) / rel.lstrip("/")


@functools.cache
def _places() -> tuple[dict[str, _Place], dict[str, str]]:
    """Per controller, where its groups go, or why it cannot be used here."""
    places: dict[str, _Place] = {}
    why: dict[str, str] = {}
    mounts, own = _mounts(), _own_groups()
    v2 = next(((m, r) for fs, m, r, _ in mounts if fs == "cgroup2"), None)
    for name in CONTROLLERS:
        v1 = next(((m, r) for fs, m, r, opts in mounts if fs == "cgroup" and name in opts), None)
        if v1 is not None and name in own:
            folder = _under(*v1, own[name])
            problem = _writable(folder)
            if problem is None:
                places[name] = _Place(folder, v2=False)
                continue
            why[name] = f"cgroup v1 {name}: {problem}"
        elif v2 is not None and "" in own:
            folder = _under(*v2, own[""])
            problem = _v2_usable(folder, name)
            if problem is None:
                places[name] = _Place(folder, v2=True)
                continue
            why[name] = f"cgroup v2: {problem}"
        else:
            why[name] = f"no cgroup hierarchy with the {name} controller is mounted"
    return places, why


def _writable(folder: Path) -> str | None:
    if not os.access(folder, os.W_OK):
        return f"{folder} is not writable by this user (run as root, or delegate it)"
    return None


def _v2_usable(folder: Path, name: str) -> str | None:
    try:
        available = (folder / "cgroup.controllers").read_text().split()
    except OSError as exc:
        return f"cannot read {folder}/cgroup.controllers: {exc}"
    if name not in available:
        return f"the {name} controller is not available in {folder}"
    problem = _writable(folder)
    if problem:
        return problem
    try:
        enabled = (folder / "cgroup.subtree_control").read_text().split()
        if name not in enabled:
            (folder / "cgroup.subtree_control").write_text(f"+{name}")
    except OSError as exc:
        # The no-internal-process rule: a group with processes cannot give controllers to
        # children, unless it is the root.
        return (f"cannot enable {name} for child groups of {folder} ({exc.strerror}); run hgm "
                "in a delegated group of its own (systemd-run --scope -p Delegate=yes)")  # fmt: skip
    return None


def support() -> dict[str, str | None]:
    """Per controller: None if each run gets its own group for it here, else why not."""
    places, why = _places()
    return {name: None if name in places else why[name] for name in CONTROLLERS}


def version(controller: str) -> str | None:
    """"v1" or "v2": where runs get ``controller`` from; None when they do not get it."""
    places, _ = _places()
    if controller not in places:
        return None
    return "v2" if places[controller].v2 else "v1"


class Cgroup:
    """The groups of one run; use :meth:`wrap` on its command line, then :meth:`close`."""

    def __init__(self, folders: dict[str, tuple[Path, bool]]) -> None:
        self._folders = folders

    @classmethod
    def create(cls, memory_mb: int | None, pids: int | None, cpus: float | None) -> Cgroup:
        """Make the run's groups with these limits (None: that limit is not set).

        Controllers this host cannot give are left out (see :func:`support`). Raises OSError
        if a group cannot be made or limited although :func:`support` said it could.
        """
        places, _ = _places()
        name = f"hgm-{os.getpid()}-{secrets.token_hex(4)}"
        wanted = {"memory": memory_mb, "pids": pids, "cpu": cpus}
        made: dict[str, tuple[Path, bool]] = {}
        group = cls(made)
        try:
            for controller, value in wanted.items():
                place = places.get(controller)
                if value is None or place is None:
                    continue
                # v2 has one tree: a group made for an earlier controller is reused.
                folder = next((f for f, v2 in made.values() if v2), None) if place.v2 else None
                if folder is None:
                    folder = place.folder / name
                    folder.mkdir()
                made[controller] = (folder, place.v2)
                _limit(folder, controller, value, v2=place.v2)
        except BaseException:
            group.close()
            raise
        return group

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the groups (exit status 125 if it cannot enter them)."""
        procs = sorted({str(folder / "cgroup.procs") for folder, _ in self._folders.values()})
        if not procs:
            return argv
        return ["/bin/sh", "-c", WRAPPER, "hgm-cgroup", str(len(procs)), *procs, *argv]

    def oom_kills(self) -> int:
        """How many processes the kernel killed for breaking the memory limit."""
        if "memory" not in self._folders:
            return 0
        folder, v2 = self._folders["memory"]
        events = folder / ("memory.events" if v2 else "memory.oom_control")
        with contextlib.suppress(OSError, ValueError):
            for line in events.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        return 0

    def kill(self) -> None:
        """Kill every process left in the groups, and wait (a little) until they are gone."""
        deadline = time.monotonic() + _GONE_WAIT_S
        for folder in {folder for folder, _ in self._folders.values()}:
            pause = 0.001
            while _kill_all(folder) and time.monotonic() < deadline:
                time.sleep(pause)
                pause = min(pause * 2, 0.05)

    def close(self) -> None:
        """Kill every process left in the groups, then remove them (best effort; idempotent)."""
        deadline = time.monotonic() + _GONE_WAIT_S
        for folder in {folder for folder, _ in self._folders.values()}:
            pause = 0.001  # killed processes leave the group within a few milliseconds
            while folder.exists():
                _kill_all(folder)
                with contextlib.suppress(OSError):
                    folder.rmdir()
                if time.monotonic() > deadline:
                    break
                time.sleep(pause)
                pause = min(pause * 2, 0.05)


def _kill_all(folder: Path) -> int:
    try:
        pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return 0
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def _limit(folder: Path, controller: str, value: float, *, v2: bool) -> None:
    if controller == "memory":
        limit = int(value) << 20
        if v2:
            _write(folder / "memory.max", str(limit))
            _write(folder / "memory.swap.max", "0", optional=True)
        else:
            _write(folder / "memory.limit_in_bytes", str(limit))
            # Memory plus swap, set after memory (it may never be below it): no swap.
            _write(folder / "memory.memsw.limit_in_bytes", str(limit), optional=True)
    elif controller == "pids":
        _write(folder / "pids.max", str(int(value)))
    elif controller == "cpu":
        quota = max(int(value * _PERIOD_US), 1000)
        if v2:
            _write(folder / "cpu.max", f"{quota} {_PERIOD_US}")
        else:
            _write(folder / "cpu.cfs_period_us", str(_PERIOD_US))
            _write(folder / "cpu.cfs_quota_us", str(quota))


def _write(path: Path, text: str, *, optional: bool = False) -> None:
    try:
        path.write_text(text)
    except FileNotFoundError:
        if not optional:
            raise
