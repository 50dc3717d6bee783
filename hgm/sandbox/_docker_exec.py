"""The driver's side of the conversation with a container's launcher over one exec stream.

See :mod:`hgm.sandbox._docker_launcher` for the launcher and its framed output. The job goes
in on the exec's stdin; :class:`Conversation` reads the frames that come back in a thread
into a bounded queue (so a slow consumer slows the launcher down rather than filling memory),
and the run reads them from there with deadlines.
"""

from __future__ import annotations

import json
import queue
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hgm.sandbox import RunResult, RunSpec, SandboxError
from hgm.sandbox._proc import _Capped
from hgm.sandbox._spec import SANDBOX_PATH, command_env, workdir_mount

UID = 1000
"""The unprivileged user (and group) every command runs as."""
HOME = "/hgm/home"
GATEWAY_SOCKET = "/hgm/gateway.sock"
RELAY_SOURCE = Path(__file__).with_name("relay.py")
_HEADER = struct.Struct(">cI")
_END = b""  # the stream ended (or broke: then the payload says how)
_QUEUE_FRAMES = 64
# How long the outputs may take to arrive once the command is over, at most, between frames.
_STALL_S = 60.0


def job(spec: RunSpec, *, time_limit_s: float, with_tar: bool) -> bytes:
    """The first line the launcher reads: what to run, where, with which environment."""
    chosen = workdir_mount(spec)
    workdir = HOME if chosen is None else f"{chosen[0].target}/{chosen[1]}".rstrip("/")
    where = {m.target: m.target for m in spec.mounts}
    fields = {
        "command": spec.command,
        "env": command_env(spec, home=HOME, tmp="/tmp", locations=where, path=SANDBOX_PATH),
        "workdir": workdir,
        "relay": RELAY_SOURCE.read_text() if spec.network == "gateway" else "",
        "socket": GATEWAY_SOCKET,
        "time_limit_s": time_limit_s,
        "output_limit": spec.output_limit_bytes,
        "collect": [m.target for m in spec.mounts if m.writable],
        "tar": with_tar,
    }
    return json.dumps(fields).encode() + b"\n"


@dataclass
class Transcript:
    """What the command did, as far as the launcher told before its report (or silence)."""

    stdout: _Capped
    stderr: _Capped
    ready: bool = False
    report: dict | None = None
    """The launcher's ``x`` frame: code, timed_out, truncated; None if it never came."""


class Conversation:
    """Reads the launcher's frames from the exec stream in a thread."""

    def __init__(self, sock: Any) -> None:
        self.launcher_stderr = _Capped(64 * 1024)
        """The launcher's own complaints (why the sandbox failed), not the command's."""
        self._sock = sock
        self._frames: queue.Queue[tuple[bytes, bytes]] = queue.Queue(maxsize=_QUEUE_FRAMES)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="hgm-docker-exec", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop reading (the thread ends once the stream does)."""
        self._closed.set()

    def transcript(self, limit: int, deadline: float) -> Transcript:
        """Read until the launcher's report, the end of the stream, or ``deadline``."""
        said = Transcript(_Capped(limit), _Capped(limit))
        while said.report is None:
            item = self._next(deadline)
            if item is None or item[0] == _END:
                break
            kind, payload = item
            if kind == b"r":
                said.ready = True
            elif kind == b"o":
                said.stdout.add(payload)
            elif kind == b"e":
                said.stderr.add(payload)
            elif kind == b"x":
                said.report = json.loads(payload)
        return said

    def tar(self) -> Iterator[bytes]:
        """The chunks of the next archived mount, up to its end frame.

        Raises SandboxError if the stream ends or stalls first.
        """
        while True:
            item = self._next(time.monotonic() + _STALL_S)
            if item is None:
                raise SandboxError(f"the outputs stopped coming for {_STALL_S:.0f}s")
            kind, payload = item
            if kind == b"u":
                return
            if kind != b"t":
                why = payload.decode("utf-8", "replace") or "the stream ended"
                raise SandboxError(f"the outputs were cut short: {why}")
            yield payload

    def _next(self, deadline: float) -> tuple[bytes, bytes] | None:
        try:
            return self._frames.get(timeout=max(deadline - time.monotonic(), 0.001))
        except queue.Empty:
            return None

    def _put(self, item: tuple[bytes, bytes]) -> bool:
        while not self._closed.is_set():
            try:
                self._frames.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def _pump(self) -> None:
        from docker.utils.socket import STDERR, frames_iter

        buffer = bytearray()
        ended = b""
        try:
            for stream, data in frames_iter(self._sock, False):
                if stream == STDERR:
                    self.launcher_stderr.add(data)
                    continue
                buffer += data
                while len(buffer) >= _HEADER.size:
                    kind, size = _HEADER.unpack_from(buffer)
                    if len(buffer) < _HEADER.size + size:
                        break
                    payload = bytes(buffer[_HEADER.size : _HEADER.size + size])
                    del buffer[: _HEADER.size + size]
                    if not self._put((kind, payload)):
                        return
        except Exception as exc:  # the stream breaking is reported, never raised in a thread
            ended = f"the stream broke: {exc}".encode()
        self._put((_END, ended))


def result(
    said: Transcript,
    code: int | None,
    timed_out: bool,
    duration: float,
    outputs: dict[str, Path],
    truncated: tuple[bool, bool] = (False, False),
) -> RunResult:
    """The RunResult of a run whose transcript is ``said``."""
    return RunResult(
        exit_code=None if timed_out else code,
        timed_out=timed_out,
        stdout=said.stdout.data.decode("utf-8", "replace"),
        stderr=said.stderr.data.decode("utf-8", "replace"),
        stdout_truncated=said.stdout.truncated or truncated[0],
        stderr_truncated=said.stderr.truncated or truncated[1],
        duration_s=duration,
        outputs=outputs,
    )


def failed(message: str, said: Transcript | None = None, duration: float = 0.0) -> RunResult:
    """A result for a run the sandbox could not carry out (or collect)."""
    if said is None:
        return RunResult(None, False, "", "", False, False, duration, {}, error=message)
    return RunResult(
        exit_code=None,
        timed_out=False,
        stdout=said.stdout.data.decode("utf-8", "replace"),
        stderr=said.stderr.data.decode("utf-8", "replace"),
        stdout_truncated=said.stdout.truncated,
        stderr_truncated=said.stderr.truncated,
        duration_s=duration,
        outputs={},
        error=message,
    )


def limited(message: str) -> RunResult:
    """A result for a run refused because its files break a limit (the command's doing)."""
    return RunResult(None, False, "", "", False, False, 0.0, {}, limit=message)
