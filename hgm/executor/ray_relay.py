"""The driver's gateway as a worker node sees it: a local unix socket, and a small client.

Sandboxes on a Ray worker node get what they get on the driver's machine: a unix socket and a
scoped token. :class:`NodeRelay` listens on that socket and forwards every connection, byte
for byte, to the driver's gateway over TCP; it adds nothing (no key, no header), so each
request is authenticated by the token the sandbox sends and nothing else.

:class:`RelayGateway` is what a job running on a worker node uses where a job in the driver
uses :class:`hgm.gateway.server.Gateway` in-process: the diagnosis and skill-distillation
calls go through the same relay as HTTP requests, with tokens the driver issued for them.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from hgm.gateway import (
    BudgetExhausted,
    ChatRequest,
    ChatResult,
    ModelError,
    Scope,
    TransientModelError,
)
from hgm.gateway.openai_format import request_to_dict
from hgm.sandbox.relay import splice


class NodeRelay:
    """Forward a unix socket on this node to ``host:port`` (the driver's gateway)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._dir = Path(tempfile.mkdtemp(prefix="hgm-relay-"))  # short: unix socket paths are
        self.socket_path = self._dir / "gateway.sock"
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.socket_path))
        # Sandboxes may run as another user; the bearer token, not the file mode, is the guard.
        self.socket_path.chmod(0o777)
        self._listener.listen(128)
        threading.Thread(target=self._accept, name="hgm-node-relay", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection((self.host, self.port), timeout=30)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        splice(client, upstream)

    def close(self) -> None:
        self._listener.close()
        with contextlib.suppress(OSError):
            self.socket_path.unlink()
            self._dir.rmdir()


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


@dataclass
class RelayGateway:
    """The parts of :class:`~hgm.gateway.server.Gateway` a job uses, over the node's relay.

    ``tokens`` maps a scope kind (``diagnosis``, ``expansion``) to the token the driver issued
    for this job's calls of that kind; the gateway attributes each call by its token, so the
    ``scope`` a job passes only selects the token.
    """

    socket_path: Path
    tokens: dict[str, str]
    timeout_s: float = 900.0
    budget_exhausted: bool = False

    def complete(self, request: ChatRequest, scope: Scope) -> ChatResult:
        token = self.tokens.get(scope.kind) or self.tokens["expansion"]
        body = request_to_dict(request)
        connection = _UnixConnection(self.socket_path, self.timeout_s)
        try:
            connection.request("POST", "/v1/chat/completions", json.dumps(body),
                               {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            response = connection.getresponse()
            data = json.loads(response.read() or b"{}")
        except (OSError, ValueError) as e:
            raise TransientModelError(f"the driver's gateway could not be reached: {e}") from None
        finally:
            connection.close()
        if response.status == 402:
            self.budget_exhausted = True
            raise BudgetExhausted(_message(data))
        if response.status >= 500:
            raise TransientModelError(_message(data))
        if response.status != 200:
            raise ModelError(f"the gateway refused the call ({response.status}): {_message(data)}")
        choice, usage = data["choices"][0], data.get("usage") or {}
        return ChatResult(message=choice["message"], finish_reason=choice.get("finish_reason") or "stop",
                          prompt_tokens=usage.get("prompt_tokens", 0),
                          completion_tokens=usage.get("completion_tokens", 0), cost_usd=0.0,
                          model=data.get("model", request.model))


def _message(data: dict) -> str:
    error = data.get("error")
    return str(error.get("message") if isinstance(error, dict) else error or data)
