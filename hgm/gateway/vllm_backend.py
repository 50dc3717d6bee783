"""``vllm:MODEL``: a vLLM server that hgm starts, watches and stops with the run.

hgm runs ``vllm serve MODEL`` on a free local port with what tool calling needs
(``--enable-auto-tool-choice --tool-call-parser PARSER``), waits until ``/health`` answers,
and sends calls through the litellm path (``hosted_vllm/MODEL`` at that port), so recording,
retries and budgets are those of every other model.

- A server that does not come up (it exits, or is not healthy within ``startup_timeout``)
  fails the run before anything is spent, with the last lines of its log.
- A server that dies mid-run is started again; calls that were in flight when it died are
  infrastructure errors (``ModelError``, never the agent's failure).
- The server stops with the run (normal end, Ctrl-C, SIGTERM): SIGTERM to its process group,
  then SIGKILL after ``stop_grace_s``.

Spec parameters: ``tool_parser`` (default ``hermes``), ``tp`` (tensor parallel size),
``gpu_memory_utilization``, ``max_model_len``, ``startup_timeout`` (seconds, default 900), and
a price: per token (``input_cost_per_1m``/``output_cost_per_1m``) or per hour of the server's
device (``usd_per_gpu_hour``), each call charged its share of the time the server was busy
(calls in flight at once share it equally; a call's reservation is its whole ``timeout``,
default 300 s, on the device alone). The executable is
``vllm`` on PATH (``pip install 'hgm[vllm]'`` on a GPU machine), or ``$HGM_VLLM``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from hgm.gateway import ChatRequest, ChatResult, ModelError, Scope, spec_params
from hgm.gateway.hf_backend import GpuHourPrice
from hgm.gateway.litellm_backend import LiteLLMBackend, Price, price_from_params

_PASS_THROUGH = {"tp": "--tensor-parallel-size", "gpu_memory_utilization": "--gpu-memory-utilization",
                 "max_model_len": "--max-model-len"}  # fmt: skip
LOG_TAIL_LINES = 20


class DeviceTime:
    """The server's busy time, shared equally among the calls in flight (processor sharing):
    a call's seconds are the integral of 1/(calls in flight) over its duration, so the calls'
    seconds add up to the time the server had work."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock, self._lock = clock, threading.Lock()
        self._in_flight, self._shared, self._since = 0, 0.0, clock()

    def _advance(self) -> None:
        now = self._clock()
        if self._in_flight:
            self._shared += (now - self._since) / self._in_flight
        self._since = now

    def enter(self) -> float:
        with self._lock:
            self._advance()
            self._in_flight += 1
            return self._shared

    def leave(self, entered: float) -> float:
        """The seconds of device time the call that entered at ``entered`` is charged."""
        with self._lock:
            self._advance()
            self._in_flight -= 1
            return self._shared - entered


class VLLMServerError(ModelError):
    """The managed server would not start, or died; the message ends with its last log lines."""


class VLLMBackend:
    """A managed ``vllm serve`` behind a :class:`LiteLLMBackend` (module docstring)."""

    def __init__(
        self,
        model: str,
        *,
        tool_parser: str = "hermes",
        server_args: tuple[str, ...] = (),
        price: Price | GpuHourPrice | None = None,
        startup_timeout_s: float = 900.0,
        stop_grace_s: float = 10.0,
        timeout_s: float = 300.0,
        executable: str | None = None,
    ) -> None:
        self.model, self.name = model, f"vllm:{model}"
        self.tool_parser, self.server_args = tool_parser, tuple(server_args)
        self.startup_timeout_s, self.stop_grace_s = startup_timeout_s, stop_grace_s
        self.executable = executable or os.environ.get("HGM_VLLM") or shutil.which("vllm")
        if self.executable is None:
            raise ImportError(
                "vllm: models need vLLM: pip install 'hgm[vllm]' (GPU machines only), "
                "or point $HGM_VLLM at a vllm executable"
            )
        self.price = price
        self.timeout_s = timeout_s  # a call's worst case when priced by device time
        self.device_time = DeviceTime()
        self.restarts = 0
        self._proc: subprocess.Popen | None = None
        self._client: LiteLLMBackend | None = None
        self._log_path: Path | None = None
        self._lock = threading.Lock()
        self._progress: Callable[[str], None] = lambda message: None

    @classmethod
    def from_spec(cls, spec: str) -> VLLMBackend:
        model, _, query = spec.removeprefix("vllm:").partition("?")
        if not model:
            raise ValueError("vllm: needs a model: vllm:<hub id or folder>")
        params = spec_params(query, keep_text=("tool_parser",))
        price: Price | GpuHourPrice | None = price_from_params(params)
        if "usd_per_gpu_hour" in params:
            if price is not None:
                raise ValueError("give a price per token or per GPU hour, not both")
            price = GpuHourPrice(float(params.pop("usd_per_gpu_hour")))
        args: list[str] = []
        for key, flag in _PASS_THROUGH.items():
            if key in params:
                args += [flag, str(params.pop(key))]
        tool_parser = str(params.pop("tool_parser", "hermes"))
        startup = float(params.pop("startup_timeout", 900.0))
        timeout = float(params.pop("timeout", 300.0))
        if params:
            known = sorted([*_PASS_THROUGH, "tool_parser", "startup_timeout", "input_cost_per_1m",
                            "output_cost_per_1m", "usd_per_gpu_hour", "timeout"])
            raise ValueError(f"vllm: does not know the parameter(s) {', '.join(sorted(params))}; it takes {', '.join(known)}")
        return cls(model, tool_parser=tool_parser, server_args=tuple(args), price=price,
                   startup_timeout_s=startup, timeout_s=timeout)

    # --- prices: those of the litellm client ------------------------------------------------

    def priced(self, price: Price) -> VLLMBackend:
        self.price = price
        if self._client is not None:
            self._client = self._client.priced(price)
        return self

    def known_price(self) -> Price | GpuHourPrice | None:
        return self.price

    def max_cost_usd(self, request: ChatRequest) -> float | None:
        if isinstance(self.price, GpuHourPrice):  # at worst, the call has the device to itself
            return self.timeout_s * self.price.usd_per_hour / 3600
        client = self._client
        return client.max_cost_usd(request) if client is not None and self.price is not None else None

    # --- the server's life ----------------------------------------------------------------

    def start(self, *, log_path: Path, progress: Callable[[str], None] | None = None) -> None:
        """Start the server and wait until it is healthy; VLLMServerError if it will not be."""
        self._log_path = Path(log_path)
        self._progress = progress or self._progress
        with self._lock:
            self._launch()

    def close(self) -> None:
        """Stop the server (and anything it started): SIGTERM to its group, then SIGKILL."""
        with self._lock:
            self._stop(self._proc)
            self._proc = None

    def complete(self, request: ChatRequest, scope: Scope, *, timeout_s: float | None = None) -> ChatResult:
        with self._lock:
            if self._proc is None:
                raise ModelError(f"{self.name}: the server is not running (start() was not called)")
            proc, client = self._proc, self._client
            if proc.poll() is not None:
                self._restart(proc)
                proc, client = self._proc, self._client
        assert client is not None
        entered = self.device_time.enter()
        try:
            result = client.complete(request, scope, timeout_s=timeout_s)
        except Exception as e:
            self.device_time.leave(entered)
            if proc.poll() is None:
                raise
            code = proc.returncode
            with self._lock:
                if self._proc is proc:
                    self._restart(proc)
            raise VLLMServerError(
                f"{self.name}: the server died during the call (exit code {code}); it was started "
                f"again. Last log lines:\n{self._log_tail()}"
            ) from e
        seconds = self.device_time.leave(entered)
        if isinstance(self.price, GpuHourPrice):
            result = dataclasses.replace(result, cost_usd=seconds * self.price.usd_per_hour / 3600)
        return result

    def _restart(self, dead: subprocess.Popen) -> None:
        self._progress(f"{self.name}: the server exited (code {dead.returncode}); starting it again")
        self._stop(dead)
        self.restarts += 1
        self._launch()

    def _launch(self) -> None:
        assert self._log_path is not None
        port = _free_port()
        command = [self.executable, "serve", self.model, "--host", "127.0.0.1", "--port", str(port),
                   "--enable-auto-tool-choice", "--tool-call-parser", self.tool_parser, *self.server_args]  # fmt: skip
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._log_path, "ab") as log:
            log.write(f"\n=== {' '.join(command)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        self._wait_healthy(self._proc, port)
        client = LiteLLMBackend(f"hosted_vllm/{self.model}", api_base=f"http://127.0.0.1:{port}/v1")
        # Priced by device time, the client counts tokens only; its dollars are replaced.
        token_price = Price(0.0, 0.0) if isinstance(self.price, GpuHourPrice) else self.price
        self._client = client.priced(token_price) if token_price is not None else client

    def _wait_healthy(self, proc: subprocess.Popen, port: int) -> None:
        start = time.monotonic()
        next_note = start + 10
        while True:
            if proc.poll() is not None:
                raise VLLMServerError(
                    f"{self.name}: `vllm serve` exited with code {proc.returncode} before it was "
                    f"ready. Last log lines ({self._log_path}):\n{self._log_tail()}"
                )
            if _healthy(port):
                self._progress(f"{self.name}: server ready on port {port} after {time.monotonic() - start:.0f} s")
                return
            now = time.monotonic()
            if now - start > self.startup_timeout_s:
                self._stop(proc)
                raise VLLMServerError(
                    f"{self.name}: the server was not healthy within {self.startup_timeout_s:.0f} s. "
                    f"Last log lines ({self._log_path}):\n{self._log_tail()}"
                )
            if now >= next_note:
                self._progress(f"{self.name}: waiting for the server ({now - start:.0f} s; log: {self._log_path})")
                next_note = now + 10
            time.sleep(0.2)

    def _stop(self, proc: subprocess.Popen | None) -> None:
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, self.stop_grace_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # The leader is gone; anything else left in its group goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            break

    def _log_tail(self) -> str:
        if self._log_path is None or not self._log_path.exists():
            return "(no log)"
        with open(self._log_path, errors="replace") as f:
            return "".join(collections.deque(f, maxlen=LOG_TAIL_LINES)).rstrip() or "(empty log)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False
