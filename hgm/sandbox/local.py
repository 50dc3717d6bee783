"""The local backend: bubblewrap when it works here, else a plain subprocess (not isolation).

See the package docstring for what each mode guarantees. Both modes run the same launcher
script (bash) before the command: it applies the rlimits, starts the gateway relay and waits
for its port, enters the working folder, tells the driver it is ready, and execs the command.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import math
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from hgm.sandbox import (
    RunResult,
    RunSpec,
    SandboxError,
    _bwrap,
    _cgroup,
    _disk,
    _files,
    _proc,
    output_name,
)
from hgm.sandbox._local_run import failed as _failed
from hgm.sandbox._local_run import limited as _limited
from hgm.sandbox._local_run import note_oom as _note_oom
from hgm.sandbox._local_run import result as _result
from hgm.sandbox._local_run import seccomp_fd as _seccomp_fd
from hgm.sandbox._local_run import share_with_user as _share_with_user
from hgm.sandbox._spec import SANDBOX_PATH, check_spec, command_env, workdir_mount
from hgm.scratch import prefix as scratch_prefix
from hgm.timing import Phases

log = logging.getLogger(__name__)

RELAY_SOURCE = Path(__file__).with_name("relay.py")

# $1 command, $2 workdir, $3 memory KiB, $4 max processes, $5 python, $6 relay, $7 socket.
# It writes "ready" to its stdin (the driver's ready pipe) only when the command is about to
# start; without it the driver reports a sandbox failure, whatever the exit status. Its own
# variables are not exported, and are prefixed so they cannot clobber the command's.
LAUNCHER = r"""
_hgm_cmd=$1 _hgm_dir=$2 _hgm_mem=$3 _hgm_nproc=$4 _hgm_python=$5 _hgm_relay=$6 _hgm_sock=$7
_hgm_fail() { echo "hgm sandbox: $*" >&2; exit 125; }
if [ -n "$_hgm_mem" ]; then ulimit -v "$_hgm_mem" || _hgm_fail "cannot limit memory to $_hgm_mem KiB"; fi
if [ -n "$_hgm_nproc" ]; then ulimit -u "$_hgm_nproc" || _hgm_fail "cannot limit processes to $_hgm_nproc"; fi
if [ -n "$_hgm_relay" ]; then
  exec 3< <(exec "$_hgm_python" -I "$_hgm_relay" --socket "$_hgm_sock" </dev/null 2>/dev/null)
  IFS= read -r _hgm_port <&3 || _hgm_fail "the gateway relay did not start ($_hgm_python $_hgm_relay)"
  exec 3<&-
  export HGM_GATEWAY_URL="http://127.0.0.1:$_hgm_port/v1" HGM_GATEWAY_SOCKET="$_hgm_sock"
fi
cd -- "$_hgm_dir" || _hgm_fail "cannot enter $_hgm_dir"
echo ready >&0 || _hgm_fail "lost the driver"
exec </dev/null
exec bash -c "$_hgm_cmd"
"""

_warned = threading.Event()


def _warn_not_isolated(reason: str) -> None:
    if not _warned.is_set():
        _warned.set()
        log.warning(
            "sandbox 'local' is running commands as plain subprocesses (%s): this is NOT "
            "isolation; the command can read and write anything this user can, and reach the "
            "network. Install bubblewrap (make setup) or use the docker sandbox.",
            reason,
        )


def _flag(value: bool | str | None) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    if text == "auto":
        return None
    raise ValueError(f"bwrap must be 0, 1 or auto, not {value!r}")


class LocalSandbox:
    """Runs commands on this machine; ``bwrap``: True (required), False (never), None (auto).

    ``drop`` (True, False or None for auto): when the driver runs as root, run each bwrap
    command under a fresh unprivileged uid (with ``setpriv``), so that the ``pids`` limit
    holds (the kernel exempts root from RLIMIT_NPROC) and the command is nobody on the
    host's files. Every mount is then copied into the sandbox and owned by that uid.

    ``disk_mb``: the size of each writable mount (initial content included), of /tmp and of
    $HOME, and the most a tree copied in or collected may hold; ``files``: the most files and
    folders such a tree may hold. ``LocalSandbox.unenforced`` lists the limits this host
    cannot enforce, and why.
    """

    def __init__(
        self,
        bwrap: bool | str | None = None,
        drop: bool | str | None = None,
        disk_mb: int | str = 2048,
        files: int | str = _disk.INODES,
    ) -> None:
        want = _flag(bwrap)
        self._disk_mb, self._files = int(disk_mb), int(files)
        if self._disk_mb <= 0 or self._files <= 0:
            raise ValueError("disk_mb and files must be positive")
        # The agent's python3: Debian's if present (it lives in /usr, already visible),
        # else the installation the driver runs on, exposed alone at its own path.
        self._python_prefix = None if os.path.exists("/usr/bin/python3") else Path(sys.base_prefix)
        self._bwrap = None
        reason = "asked for with bwrap=0"
        if want is not False:
            found = shutil.which("bwrap")
            reason = "bubblewrap (bwrap) is not installed" if found is None else None
            reason = reason or _bwrap.bwrap_works(found, self._python_prefix)
            if reason is None:
                self._bwrap = found
            elif want:
                raise SandboxError(f"bubblewrap cannot run here: {reason}")
        self.isolated = self._bwrap is not None
        self.name = "local(bwrap)" if self.isolated else "local(subprocess)"
        if not self.isolated:
            _warn_not_isolated(reason)
        self._setpriv = self._drop_user(_flag(drop))
        self._cgroups = _cgroup.support()
        self.limits_pids = self._cgroups["pids"] is None or (
            self.isolated and (os.geteuid() != 0 or self._setpriv is not None)
        )
        """Whether ``RunSpec.pids`` holds: a pids cgroup, or RLIMIT_NPROC in a user namespace
        (which the kernel does not apply to root)."""
        self._lock = threading.Lock()
        self._running: set[int] = set()
        self._next_cpu = 0
        self._tmpfs = _disk.unavailable() is None
        self.unenforced = self._unenforced()
        """Limit -> why this host cannot enforce it for this sandbox (empty: all hold)."""

    def _unenforced(self) -> dict[str, str]:
        missing = {f"{name} (cgroup)": why for name, why in self._cgroups.items() if why}
        if not self.limits_pids and self._cgroups["pids"]:
            missing["pids"] = "neither a pids cgroup nor RLIMIT_NPROC holds here"
        disk = _disk.unavailable()
        if disk:
            what = "writable mounts" if self.isolated else "writable mounts, /tmp and $HOME"
            missing[f"disk ({what})"] = disk
        if not self.isolated:
            missing["/dev/shm"] = "the host's own /dev/shm (no bubblewrap)"
            missing["nested user namespaces"] = "no bubblewrap"
        elif not _bwrap.userns_args():
            missing["nested user namespaces"] = "bwrap cannot --disable-userns (needs >= 0.8)"
        return missing

    def _drop_user(self, want: bool | None) -> str | None:
        """The setpriv binary when commands run under a fresh uid, else None."""
        if want is False or not self.isolated or os.geteuid() != 0:
            if want and os.geteuid() != 0:
                log.info("drop=1 has no effect: the driver is not root")
            return None
        found = shutil.which("setpriv")
        reason = "setpriv is not installed" if found is None else None
        if self._python_prefix is not None:  # the driver's Python may not be readable by others
            reason = "there is no /usr/bin/python3 an unprivileged user can run"
        if reason is None:
            probe = [found, f"--reuid={_DROP_UIDS[0]}", f"--regid={_DROP_UIDS[0]}", "--clear-groups",
                     "--", self._bwrap, *_bwrap.base_args(None), "--", "/bin/sh", "-c", "exit 0"]  # fmt: skip
            done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
            reason = None if done.returncode == 0 else (done.stderr.strip() or "bwrap failed")
        if reason is None:
            return found
        if want:
            raise SandboxError(f"cannot run commands under an unprivileged uid: {reason}")
        log.warning("the local sandbox runs commands as root (in a user namespace), so the pids "
                    "limit does not hold: %s", reason)  # fmt: skip
        return None

    @property
    def python(self) -> str:
        """The python3 interpreter commands (and the relay) run with."""
        if self._python_prefix is None:
            return "/usr/bin/python3"
        return str(self._python_prefix / "bin" / "python3")

    def run(self, spec: RunSpec, out_dir: Path) -> RunResult:
        """Run ``spec``; see :class:`hgm.sandbox.Sandbox`."""
        check_spec(spec)
        if spec.image is not None:
            return _failed(
                f"the {self.name} sandbox cannot run container image {spec.image!r}: "
                "use --sandbox docker"
            )
        root = Path(tempfile.mkdtemp(prefix=scratch_prefix("sandbox")))
        phases = Phases()
        try:
            done = self._run_in(spec, root, Path(out_dir), phases)
            return dataclasses.replace(done, phases=phases.rounded())
        finally:
            _files.remove_tree(root)

    def close(self) -> None:
        """Kill every process group this sandbox still has running."""
        with self._lock:
            running = list(self._running)
        for pid in running:
            _proc.kill_group(pid)

    def unavailable(self) -> str | None:
        """Always None: a local process can always be started."""
        return None

    def _run_in(self, spec: RunSpec, root: Path, out_dir: Path, phases: Phases) -> RunResult:
        mounted: list[Path] = []
        try:
            return self._prepare_and_run(spec, root, out_dir, mounted, phases)
        finally:
            for folder in reversed(mounted):
                _disk.unmount(folder)

    def _capped_folder(self, folder: Path, mounted: list[Path]) -> None:
        """Make ``folder``, a tmpfs of ``disk_mb`` where this host allows it."""
        folder.mkdir(parents=True)
        if self._tmpfs:
            _disk.mount(folder, self._disk_mb, self._files)
            mounted.append(folder)

    def _prepare_and_run(
        self, spec: RunSpec, root: Path, out_dir: Path, mounted: list[Path], phases: Phases
    ) -> RunResult:
        uid = _pick_uid() if self._setpriv else None
        relay, sock = RELAY_SOURCE, spec.gateway_socket
        try:
            with phases("copy_in"):
                if not self.isolated:  # bwrap makes its own capped /tmp and $HOME
                    self._capped_folder(root / "home", mounted)
                    self._capped_folder(root / "tmp", mounted)
                copies = self._copy_mounts(spec, root / "m", mounted, every=uid is not None)
                if self.isolated:
                    # Even the driver's own uid sees only the sandbox's folder in
                    # /proc/self/mountinfo, never where the gateway's socket lives.
                    relay, sock = _share_with_user(root, relay, sock)
                if uid is not None:
                    _files.chown_tree(root, uid)
        except _files.TreeLimitExceeded as exc:
            return _limited(f"the files to copy in break a limit: {exc}")
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                return _limited(f"the files to copy in do not fit in {self._disk_mb} MiB: {exc}")
            return _failed(f"could not copy mounts into the sandbox: {exc}")
        seccomp = _seccomp_fd() if self.isolated else None
        try:
            argv, env, cwd = self._argv(spec, root, copies, relay, sock, seccomp)
            if uid is not None:
                argv = [self._setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *argv]
            try:
                with phases("start"):
                    group = _cgroup.Cgroup.create(spec.memory_mb, spec.pids, spec.cpus)
            except OSError as exc:
                return _failed(f"could not make the run's cgroup: {exc}")
            try:
                fds = () if seccomp is None else (seccomp,)
                argv = group.wrap(argv)
                return self._run_grouped(spec, group, argv, env, cwd, copies, out_dir, fds, phases)
            finally:
                group.close()
        finally:
            if seccomp is not None:
                os.close(seccomp)

    def _run_grouped(
        self, spec: RunSpec, group: _cgroup.Cgroup, argv: list[str], env: dict[str, str],
        cwd: str, copies: dict[str, Path], out_dir: Path, pass_fds: tuple[int, ...], phases: Phases,
    ) -> RunResult:
        started: list[int] = []

        def track(pid: int) -> None:
            started.append(pid)
            with self._lock:
                self._running.add(pid)

        try:
            with phases("command"):
                outcome = _proc.run_capped(
                    argv,
                    env=env,
                    cwd=cwd,
                    time_limit_s=spec.time_limit_s,
                    output_limit_bytes=spec.output_limit_bytes,
                    cpus=self._cpus(spec.cpus),
                    on_start=track,
                    pass_fds=pass_fds,
                )
        except OSError as exc:
            return _failed(f"could not start {argv[0]}: {exc}")
        finally:
            with self._lock:
                self._running.difference_update(started)
        if not outcome.ready:
            why = "did not start before the time limit" if outcome.timed_out else "failed to start"
            detail = outcome.stderr.decode("utf-8", "replace").strip()
            return _failed(f"sandbox {why}: {detail}", outcome)
        group.kill()  # nothing may change the mounts while they are collected
        outcome = _note_oom(outcome, group.oom_kills(), spec.memory_mb)
        outputs: dict[str, Path] = {}
        try:
            with phases("copy_out"):
                self._collect(spec, copies, out_dir, outputs)
        except _files.TreeLimitExceeded as exc:
            return _result(outcome, outputs, limit=f"the writable mounts break a limit: {exc}")
        except OSError as exc:
            return _failed(f"could not collect outputs: {exc}", outcome)
        return _result(outcome, outputs)

    @property
    def limits(self) -> _files.TreeLimits:
        """What a tree copied in or collected may hold."""
        return _files.TreeLimits(max_bytes=self._disk_mb << 20, max_files=self._files)

    def _copy_mounts(
        self, spec: RunSpec, base: Path, mounted: list[Path], every: bool = False
    ) -> dict[str, Path]:
        """Private copies: writable mounts always (each in a capped tmpfs where possible);
        read-only ones without bwrap or with ``every``."""
        copies = {}
        for mount in spec.mounts:
            if mount.writable or not self.isolated or every:
                copy = base / output_name(mount.target)
                if mount.writable:
                    self._capped_folder(copy, mounted)
                else:
                    base.mkdir(parents=True, exist_ok=True)
                try:
                    _files.copy_in(Path(mount.host), copy, self.limits)
                except _files.TreeLimitExceeded as exc:
                    raise _files.TreeLimitExceeded(f"{mount.target}: {exc}") from exc
                if not mount.writable:
                    _files.make_read_only(copy)
                copies[mount.target] = copy
        return copies

    def _argv(
        self, spec: RunSpec, root: Path, copies: dict[str, Path], relay_source: Path,
        socket: Path | None, seccomp_fd: int | None = None,
    ) -> tuple[list[str], dict[str, str], str]:
        """The host command line, environment and folder that run ``spec``."""
        gateway = spec.network == "gateway"
        path = SANDBOX_PATH
        if self._python_prefix is not None:
            path = f"{self._python_prefix / 'bin'}:{path}"
        if self.isolated:
            where = {m.target: m.target for m in spec.mounts}
            home, tmp = _bwrap.HOME, "/tmp"
            relay, sock = (_bwrap.RELAY, _bwrap.GATEWAY_SOCKET) if gateway else ("", "")
        else:
            where = {target: str(copy) for target, copy in copies.items()}
            home, tmp = str(root / "home"), str(root / "tmp")
            relay, sock = (str(RELAY_SOURCE), str(spec.gateway_socket)) if gateway else ("", "")
        chosen = workdir_mount(spec)
        workdir = (
            home if chosen is None else os.path.join(where[chosen[0].target], chosen[1]).rstrip("/")
        )
        env = command_env(spec, home=home, tmp=tmp, locations=where, path=path)
        launch = [
            "bash", "-c", LAUNCHER, "hgm-sandbox",
            spec.command,
            workdir,
            "" if spec.memory_mb is None else str(spec.memory_mb * 1024),
            self._nproc(spec.pids),
            self.python,
            relay,
            sock,
        ]  # fmt: skip
        if not self.isolated:
            return launch, env, str(root)
        binds = [
            _bwrap.Bind(copies.get(m.target, Path(m.host)), m.target, m.writable)
            for m in spec.mounts
        ]
        args = _bwrap.run_args(
            self._python_prefix,
            disk_bytes=self._disk_mb << 20,
            binds=binds,
            relay=relay_source if gateway else None,
            gateway_socket=socket if gateway else None,
            seccomp_fd=seccomp_fd,
        )
        return [self._bwrap, *args, "--", *launch], env, str(root)

    def _nproc(self, pids: int | None) -> str:
        # Inside bwrap's user namespace RLIMIT_NPROC counts this sandbox's processes alone.
        # Outside one it counts every process of the user on the host (even ones in other
        # containers that /proc does not show), so no value would mean "this run": not set.
        return "" if pids is None or not self.isolated else str(pids)

    def _cpus(self, cpus: float | None) -> frozenset[int] | None:
        if cpus is None:
            return None
        allowed = sorted(os.sched_getaffinity(0))
        want = math.ceil(cpus)
        if want >= len(allowed):
            return None
        with self._lock:
            start, self._next_cpu = self._next_cpu, self._next_cpu + want
        # Round-robin, so concurrent sandboxes spread over the cores instead of piling up.
        return frozenset(allowed[(start + i) % len(allowed)] for i in range(want))

    def _collect(
        self, spec: RunSpec, copies: dict[str, Path], out_dir: Path, outputs: dict[str, Path]
    ) -> None:
        """Collect the writable mounts into ``outputs``, one by one (partial on a limit)."""
        for mount in spec.mounts:
            if mount.writable:
                dest = out_dir / output_name(mount.target)
                try:
                    _files.collect(copies[mount.target], dest, self.limits)
                except _files.TreeLimitExceeded as exc:
                    raise _files.TreeLimitExceeded(f"{mount.target}: {exc}") from exc
                outputs[mount.target] = dest


# Fresh uids for commands when the driver is root: far above any a system hands out, and
# drawn at random per run, so concurrent sandboxes (of any hgm process) rarely share one.
_DROP_UIDS = (3_000_000, 4_000_000)


def _pick_uid() -> int:
    return secrets.randbelow(_DROP_UIDS[1] - _DROP_UIDS[0]) + _DROP_UIDS[0]
