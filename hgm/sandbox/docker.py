"""The docker backend: one hardened, throwaway container per run.

A run takes a started container of the sandbox image (see :mod:`hgm.sandbox.image`) with a
launcher already waiting in it (see :mod:`hgm.sandbox._docker_launcher`); copies the
read-only mounts in as tar streams (``put_archive``); sends the launcher the job and the
writable mounts' content (a tar stream on its stdin); and reads back, on the launcher's
stdout, the command's output, its exit status and the writable mounts as tar streams. The
container and its volumes are then removed. See the package docstring for the guarantees.

Each mount target is a tmpfs volume: the engine can write it while the container runs (so
read-only content is owned by root and stays read-only for the sandbox user, whose
capabilities are all dropped), the sandbox can fill it only up to its size, and it vanishes
with the container.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from hgm.sandbox import (
    RunResult,
    RunSpec,
    SandboxError,
    _docker_config,
    _docker_exec,
    _docker_files,
    _docker_pool,
    _files,
    output_name,
)
from hgm.sandbox import image as image_module
from hgm.sandbox._docker_config import INODES
from hgm.sandbox._docker_exec import UID, Conversation, Transcript, failed, limited, result
from hgm.sandbox._docker_launcher import LAUNCHER, LIMIT_MARK
from hgm.sandbox._spec import check_spec
from hgm.scratch import prefix as scratch_prefix
from hgm.scratch import process_alive
from hgm.timing import Phases

log = logging.getLogger(__name__)

_MIB = 1 << 20
# What the launcher and a small command need besides the writable mounts' tmpfs content.
_LAUNCHER_BYTES = 64 * _MIB
# After the time limit, how long the launcher has to report before the run is taken apart.
_REPORT_GRACE_S = 10.0


@dataclass(frozen=True, eq=False)
class _Slot:
    """A started container and its launcher, waiting on its stdin for a job."""

    cid: str
    exec_id: str
    sock: Any
    """The exec's hijacked stream (the SDK's ``socket.SocketIO``)."""
    preloaded: frozenset[str] = frozenset()
    """Read-only mount targets whose content was put in when the container started."""


class DockerSandbox:
    """Runs each command in a fresh container of the sandbox image.

    ``image``: the image to use (default: the recipe's tag, built on first use unless
    ``build=0``); ``toolchains``: use the image with the extra toolchains; ``runtime``: a
    container runtime such as ``runsc`` (gVisor), which the engine must have; ``disk_mb``: the
    size of each mount (initial content included), of /tmp and of $HOME;
    ``prestart``: how many containers of the shape just used to start ahead for the next run
    (0: start each when its run comes); ``run``: a label value naming the run, put on every
    container and volume; ``files``: the most files and folders a mount may hold when copied
    in or collected (more is ``RunResult.limit``).
    """

    def __init__(
        self,
        image: str | None = None,
        runtime: str | None = None,
        toolchains: bool | str = False,
        build: bool | str = True,
        disk_mb: int | str = 2048,
        prestart: int | str = 1,
        run: str = "",
        files: int | str = INODES,
    ) -> None:
        toolchains, build = _docker_config.flag("toolchains", toolchains), _docker_config.flag("build", build)
        self._disk_mb, prestart, self._files = int(disk_mb), int(prestart), int(files)
        if self._disk_mb <= 0 or self._files <= 0 or prestart < 0:
            raise ValueError("disk_mb and files must be positive, prestart not negative")
        self._docker = image_module.connect()  # first: it explains a missing docker package
        import docker.errors
        import requests

        self._errors = (docker.errors.DockerException, requests.RequestException, OSError)
        self._api = self._docker.api
        if image and not image_module.image_exists(self._docker, image):
            raise SandboxError(f"the Docker engine has no image {image!r}")
        self._image = image or image_module.ensure_image(
            self._docker, toolchains=toolchains, build=build
        )
        info = self._api.info()
        if runtime and runtime not in (info.get("Runtimes") or {}):
            raise SandboxError(
                f"the Docker engine has no runtime {runtime!r}; for gVisor install runsc and "
                "register it with dockerd (see sandbox/README.md)"
            )
        self._runtime = runtime or None
        self._ncpu = int(info.get("NCPU") or os.cpu_count() or 1)
        self.name = f"docker({runtime})" if runtime else "docker"
        self.isolated = True
        self._labels = {
            "hgm.sandbox": uuid.uuid4().hex[:12],
            "hgm.run": run,
            "hgm.host": socket.gethostname(),
            "hgm.pid": str(os.getpid()),
        }
        self._lock = threading.Lock()
        self._live: set[str] = set()
        self._images: set[str] = set()
        self._engine_lost = False
        self._links: Path | None = None
        self._reap_orphans()
        self._pool = _docker_pool.Pool(self._start, self._remove, ahead=prestart)

    def _reap_orphans(self) -> None:
        """Remove containers left by docker sandboxes of processes on this host that died.

        A driver killed mid-run cannot remove its containers; the launcher's own time limit
        has stopped their commands, and this removes what is left. Containers of live
        processes, of other hosts, and without hgm's labels are never touched.
        """
        host = self._labels["hgm.host"]
        try:
            found = self._api.containers(all=True, filters={"label": f"hgm.host={host}"})
        except self._errors as exc:
            log.warning("could not list leftover sandbox containers: %s", exc)
            return
        for container in found:
            pid = (container.get("Labels") or {}).get("hgm.pid", "")
            if pid.isdigit() and not process_alive(int(pid)):
                log.info("removing sandbox container %s left by dead process %s",
                         container["Id"][:12], pid)  # fmt: skip
                self._remove_container(container["Id"])

    def run(self, spec: RunSpec, out_dir: Path) -> RunResult:
        """Run ``spec``; see :class:`hgm.sandbox.Sandbox`."""
        check_spec(spec)
        _docker_config.check_socket(spec)
        if spec.image is not None and not self._has_image(spec.image):
            return failed(f"the Docker engine has no image {spec.image!r}")
        refused = _docker_files.too_big(spec, self._disk_mb, self.limits, _LAUNCHER_BYTES)
        if refused:
            return limited(refused)
        spec = self._linked_socket(spec)
        packed: dict[str, _docker_files.Packed] = {}
        phases = Phases()
        try:
            with phases("copy_in"):
                for mount in spec.mounts:
                    if not mount.writable:
                        packed[mount.target] = _docker_files.pack(
                            [(Path(mount.host), "")], uid=0, writable=False
                        )
                writable = [(Path(m.host), m.target.lstrip("/")) for m in spec.mounts if m.writable]
                packed[""] = _docker_files.pack(writable, uid=UID, writable=True)
                preload = _docker_files.preload(spec, packed)
            done = self._run_packed(spec, packed, Path(out_dir), phases, preload)
            return dataclasses.replace(done, phases=phases.rounded())
        except OSError as exc:
            return failed(f"could not read the mounts: {exc}")
        finally:
            for item in packed.values():
                item.file.close()

    def _has_image(self, name: str) -> bool:
        """Whether the engine has ``name`` (a run's own image); remembered once seen."""
        with self._lock:
            if name in self._images:
                return True
        try:
            found = image_module.image_exists(self._docker, name)
        except self._errors:
            return False
        if found:
            with self._lock:
                self._images.add(name)
        return found

    @property
    def limits(self) -> _files.TreeLimits:
        """What a tree copied in or collected may hold."""
        return _files.TreeLimits(max_bytes=self._disk_mb * _MIB, max_files=self._files)

    def _linked_socket(self, spec: RunSpec) -> RunSpec:
        """``spec`` with its gateway socket as a hard link in this sandbox's own folder, so the
        container's /proc/self/mountinfo never shows where the gateway lives (unchanged where
        no link can be made: another filesystem)."""
        if spec.network != "gateway" or spec.gateway_socket is None:
            return spec
        st = os.stat(spec.gateway_socket)
        with self._lock:
            if self._links is None:
                self._links = Path(tempfile.mkdtemp(prefix=scratch_prefix("dockergw")))
            link = self._links / f"{st.st_dev}-{st.st_ino}.sock"
            try:
                if not link.exists():
                    os.link(spec.gateway_socket, link)
            except OSError:
                return spec
        return dataclasses.replace(spec, gateway_socket=link)

    def unavailable(self) -> str | None:
        """None when the engine answers; else why not.

        When the engine answers again after it did not, the containers started ahead are
        thrown away first: an engine that stopped took them down.
        """
        try:
            self._api.ping()
        except self._errors as exc:
            self._engine_lost = True
            return f"the Docker engine does not answer ({type(exc).__name__}: {exc})"
        if self._engine_lost:
            self._engine_lost = False
            self._pool.flush()
            with self._lock:
                live = list(self._live)
            for cid in live:  # what the engine stopped mid-run, removal failed meanwhile
                if self._is_stopped(cid):
                    self._remove_container(cid)
        return None

    def _is_stopped(self, cid: str) -> bool:
        try:
            return not self._api.inspect_container(cid)["State"].get("Running")
        except self._errors:
            return True  # gone already: removing it again only drops it from _live

    def close(self) -> None:
        """Remove every container this sandbox still has (running, idle or not)."""
        self._pool.close()
        with self._lock:
            live = list(self._live)
        for cid in live:
            self._remove_container(cid)
        if self._links is not None:
            shutil.rmtree(self._links, ignore_errors=True)

    # --- one run ---------------------------------------------------------------------------

    def _run_packed(
        self, spec: RunSpec, packed: dict[str, _docker_files.Packed], out_dir: Path, phases: Phases,
        preload: _docker_pool.Preload,
    ) -> RunResult:
        start = time.monotonic()
        try:
            with phases("start"):
                slot = self._pool.take(spec, preload)
        except (SandboxError, *self._errors) as exc:
            return failed(f"could not start a container: {exc}")
        try:
            return self._run_in(slot, spec, packed, out_dir, start, phases)
        finally:
            self._pool.discard(slot)

    def _run_in(
        self,
        slot: _Slot,
        spec: RunSpec,
        packed: dict[str, _docker_files.Packed],
        out_dir: Path,
        start: float,
        phases: Phases,
    ) -> RunResult:
        api, cid = self._api, slot.cid
        deadline = start + spec.time_limit_s
        try:
            with phases("copy_in"):
                for target, item in packed.items():
                    # The writable mounts ("") go to the launcher; an empty folder needs nothing.
                    if target in slot.preloaded:
                        continue
                    if target and item.entries > 1 and not api.put_archive(cid, target, item.file):
                        return failed(f"could not copy {target} into the container")
        except self._errors as exc:
            return failed(f"could not copy the read-only mounts in: {exc}")
        talk = Conversation(slot.sock)
        sent = time.perf_counter()
        try:
            tar = packed[""].file if packed[""].entries else None
            left = deadline - time.monotonic()
            job = _docker_exec.job(spec, time_limit_s=left, with_tar=tar is not None)
            try:
                self._send(slot, job, tar, deadline)
            except TimeoutError:
                pass  # the launcher stopped reading: a run that never started
            except OSError as exc:
                return failed(f"could not start the command: {exc}")
            said = talk.transcript(spec.output_limit_bytes, deadline + _REPORT_GRACE_S)
            phases.add("command", time.perf_counter() - sent)
            duration = time.monotonic() - start
            if not said.ready:
                late = duration > spec.time_limit_s
                why = "did not start before the time limit" if late else "failed to start"
                detail = talk.launcher_stderr.data.decode("utf-8", "replace").strip()
                if detail.startswith(LIMIT_MARK):
                    return limited(detail.removeprefix(LIMIT_MARK).strip())
                return failed(f"sandbox {why}: {detail or 'no detail'}", said, duration)
            if said.report is None:
                return self._salvage(slot, spec, said, out_dir, start)
            report = said.report
            truncated = tuple(report.get("truncated", (False, False)))
            outputs: dict[str, Path] = {}
            try:
                with phases("copy_out"):
                    self._receive(talk, spec, out_dir, outputs)
            except _files.TreeLimitExceeded as exc:
                done = result(said, report["code"], report["timed_out"], duration, outputs, truncated)
                return dataclasses.replace(done, limit=f"the writable mounts break a limit: {exc}")
            except (SandboxError, *self._errors) as exc:
                return failed(f"could not collect outputs: {exc}", said, duration)
            return result(said, report["code"], report["timed_out"], duration, outputs, truncated)
        finally:
            talk.close()

    def _receive(
        self, talk: Conversation, spec: RunSpec, out_dir: Path, outputs: dict[str, Path]
    ) -> None:
        """The writable mounts, as the launcher archived them after the command, into
        ``outputs`` one by one (partial when a limit stops it)."""
        for mount in spec.mounts:
            if not mount.writable:
                continue
            dest = out_dir / output_name(mount.target)
            if os.path.lexists(dest):
                raise FileExistsError(f"output folder already exists: {dest}")
            chunks = talk.tar()
            self._extract(chunks, mount.target, dest)
            for _ in chunks:  # what the tar reader left: padding up to the end frame
                pass
            outputs[mount.target] = dest

    def _salvage(
        self, slot: _Slot, spec: RunSpec, said: Transcript, out_dir: Path, start: float
    ) -> RunResult:
        """The launcher went silent (killed by the command, or stuck): ask the engine instead."""
        api = self._api
        try:
            api.pause(slot.cid)  # freeze whatever is left; the volumes stay readable
            state = api.exec_inspect(slot.exec_id)
            duration = time.monotonic() - start
            timed_out = duration > spec.time_limit_s
            code = None if state.get("Running") else state.get("ExitCode")
            outputs = self._collect(slot.cid, spec, out_dir)
        except _files.TreeLimitExceeded as exc:
            done = result(said, code, timed_out or code is None, duration, {})
            return dataclasses.replace(done, limit=f"the writable mounts break a limit: {exc}")
        except (SandboxError, *self._errors) as exc:
            return failed(f"the sandbox's launcher went silent, then: {exc}", said)
        return result(said, code, timed_out or code is None, duration, outputs)

    def _send(self, slot: _Slot, job: bytes, tar: IO[bytes] | None, deadline: float) -> None:
        """Write the job line and the tar to the launcher's stdin, then close it.

        Raises TimeoutError (socket.timeout) at the deadline: a launcher that stopped reading
        cannot block the driver.
        """
        raw = slot.sock._sock  # the SDK's SocketIO wraps the connection's socket
        raw.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            raw.sendall(job)
            if tar is not None:
                while chunk := tar.read(_MIB):
                    raw.sendall(chunk)
            raw.shutdown(socket.SHUT_WR)
        finally:
            raw.settimeout(None)

    def _start(self, spec: RunSpec, preload: _docker_pool.Preload = ()) -> _Slot:
        """Create and start a container for runs shaped like ``spec``, and its launcher; put
        the shared read-only content of ``preload`` in."""
        cid = self._create(spec)
        try:
            self._api.start(cid)
            argv = ["python3", "-I", "-S", "-c", LAUNCHER]
            exec_id = self._api.exec_create(cid, argv, stdin=True)["Id"]
            sock = self._api.exec_start(exec_id, socket=True)
            for target, _, data in preload:
                if not self._api.put_archive(cid, target, data):
                    raise SandboxError(f"could not copy {target} into the container")
        except BaseException:
            self._remove_container(cid)
            raise
        return _Slot(cid, exec_id, sock, frozenset(target for target, _, _ in preload))

    def _create(self, spec: RunSpec) -> str:
        settings = _docker_config.Settings(
            spec.image or self._image, self._runtime, self._disk_mb, self._ncpu, self._labels, self._files
        )
        created = self._api.create_container(
            host_config=self._api.create_host_config(**_docker_config.host_config(spec, settings)),
            **_docker_config.container(settings),
        )
        cid = created["Id"]
        with self._lock:
            self._live.add(cid)
        return cid

    def _check_running(self, cid: str) -> None:
        """The volumes die with the container: make sure it is still there to collect from."""
        state = self._api.inspect_container(cid)["State"]
        if not state.get("Running"):
            oom = " (out of memory)" if state.get("OOMKilled") else ""
            raise SandboxError(f"the container stopped before its outputs were collected{oom}")

    def _collect(self, cid: str, spec: RunSpec, out_dir: Path) -> dict[str, Path]:
        """The writable mounts, through the engine (when the launcher cannot send them)."""
        self._check_running(cid)
        outputs = {}
        for mount in spec.mounts:
            if not mount.writable:
                continue
            dest = out_dir / output_name(mount.target)
            if os.path.lexists(dest):
                raise FileExistsError(f"output folder already exists: {dest}")
            self._fetch(cid, mount.target, dest)
            outputs[mount.target] = dest
        return outputs

    def _fetch(self, cid: str, target: str, dest: Path) -> None:
        api = self._api
        # The SDK's get_archive hides the response; closing it is how an oversized stream is
        # abandoned without the engine holding the container's lock while it waits for us.
        response = api._get(api._url("/containers/{0}/archive", cid), params={"path": target},
                            stream=True)  # fmt: skip
        try:
            api._raise_for_status(response)
            self._extract(response.iter_content(chunk_size=_MIB), target, dest)
        finally:
            response.close()

    def _extract(self, chunks: Any, target: str, dest: Path) -> None:
        # A tar header and padding cost up to 1 KiB a file, which tmpfs does not count; only
        # sparse files can make the stream much larger than the mount's size.
        limit = self._disk_mb * _MIB + 1024 * self._files
        try:
            _docker_files.extract(chunks, dest, strip=target.rsplit("/", 1)[1],
                                  limit_bytes=limit, limits=self.limits)  # fmt: skip
        except _docker_files.StreamTooLarge as exc:
            raise _files.TreeLimitExceeded(
                f"{target} holds more than {limit // _MIB} MiB once archived (sparse files "
                "count at their full size)"
            ) from exc

    def _remove(self, slot: _Slot) -> None:
        raw = slot.sock._sock
        with contextlib.suppress(OSError):
            slot.sock.close()
            if raw is not None:
                raw.close()
        self._remove_container(slot.cid)

    def _remove_container(self, cid: str) -> None:
        import docker.errors

        try:
            self._api.remove_container(cid, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            log.warning("could not remove sandbox container %s: %s", cid[:12], exc)
            return
        except self._errors as exc:  # the engine does not answer
            if not self._engine_lost:
                log.warning("the Docker engine does not answer (%s); this run's sandbox "
                            "containers are removed once it is back", exc)  # fmt: skip
            self._engine_lost = True
            # Kept in _live: removed when the engine is back (see unavailable), or by the
            # next sandbox of this host if this process ends first.
            return
        with self._lock:
            self._live.discard(cid)
