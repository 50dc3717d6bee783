"""Bounds on what a client can make the gateway hold: bodies, nesting, connections, records.

Every sandbox can reach the gateway's socket, so each of these is a way for an agent to take
the driver down (memory, file descriptors, a crash) or bloat the run's archive. The caps are
:class:`GatewayLimits`, set from the run's config (``gateway_*`` fields of ``RunConfig``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
from uvicorn.protocols.http.h11_impl import H11Protocol

from hgm.gateway import LLMCall
from hgm.gateway.validation import BadRequest


@dataclass(frozen=True)
class GatewayLimits:
    """The gateway's caps; the defaults suit a run on one machine (see docs/security.md)."""

    max_body_bytes: int = 8 * 1024 * 1024
    max_json_depth: int = 64
    max_connections: int = 512
    max_requests_per_token: int = 16
    idle_timeout_s: float = 30.0
    max_recorded_bytes: int = 256 * 1024
    max_tokens: int = 65536

    @property
    def accept_backlog(self) -> int:
        """The listen backlog, which is also how many sockets asyncio accepts in one go."""
        return max(8, min(32, self.max_connections // 16))

    @property
    def max_open_sockets(self) -> int:
        """The most client sockets the gateway holds at once: its connections, plus a few
        accept bursts that asyncio takes before any protocol can check (and close) them."""
        return self.max_connections + 4 * self.accept_backlog

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if getattr(self, f.name) <= 0:
                raise ValueError(f"gateway limit {f.name} must be > 0, got {getattr(self, f.name)}")


class BodyTooLarge(Exception):
    """The request body is over the cap (HTTP 413)."""


class BodyTimeout(Exception):
    """The request body did not arrive within the idle timeout (HTTP 408)."""


async def read_body(chunks: AsyncIterator[bytes], declared: str | None, limits: GatewayLimits) -> bytes:
    """Read a request body of at most ``max_body_bytes``, within ``idle_timeout_s``.

    A declared ``Content-Length`` over the cap is refused before a byte is read; a streamed
    body is refused as soon as it crosses the cap, so the rest is never buffered.
    """
    cap = limits.max_body_bytes
    if declared is not None and declared.strip().isdigit() and int(declared) > cap:
        raise BodyTooLarge(f"request body of {int(declared)} bytes is over the {cap}-byte cap")
    body = bytearray()
    try:
        with anyio.fail_after(limits.idle_timeout_s):
            async for chunk in chunks:
                body += chunk
                if len(body) > cap:
                    raise BodyTooLarge(f"request body is over the {cap}-byte cap")
    except TimeoutError:
        raise BodyTimeout(f"request body not received within {limits.idle_timeout_s:g}s") from None
    return bytes(body)


# A JSON string (escapes included) or one bracket; everything else cannot nest.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def check_depth(raw: bytes, max_depth: int) -> None:
    """Raise :class:`BadRequest` if the JSON text nests deeper than ``max_depth``.

    Runs before parsing, so a deep body never reaches a recursive parser or copier.
    """
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return
    depth = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                raise BadRequest(f"JSON nests deeper than {max_depth} levels")
        elif token in (b"]", b"}"):
            depth -= 1


def bounded_call(call: LLMCall, max_bytes: int) -> LLMCall:
    """The call with a request or response over ``max_bytes`` (as JSON) cut, with a marker."""
    request = _bounded(call.request, max_bytes)
    response = None if call.response is None else _bounded(call.response, max_bytes)
    if request is call.request and response is call.response:
        return call
    return dataclasses.replace(call, request=request, response=response)


def _bounded(value: dict, max_bytes: int) -> dict:
    text = json.dumps(value, default=str)
    size = len(text.encode())
    if size <= max_bytes:
        return value
    head = text.encode()[:max_bytes].decode("utf-8", errors="ignore")
    return {"truncated": True, "original_bytes": size, "head": head}


# --- connections ------------------------------------------------------------------------------


class ConnectionGuard:
    """Counts the server's connections; at the cap, a new one evicts the longest-idle one.

    A connection is idle while no request is in progress on it. Eviction (rather than refusing
    newcomers) means a flood of idle connections cannot lock out sandboxes that make real
    calls; when every connection is busy, the newcomer is closed at once. Runs on the server's
    event loop only, so it needs no lock.
    """

    def __init__(self, limits: GatewayLimits) -> None:
        self.limits = limits
        self.open = 0
        self.closed_over_cap = 0
        self._idle: OrderedDict[Any, None] = OrderedDict()

    def admit(self, conn: Any) -> bool:
        if self.open >= self.limits.max_connections:
            if not self._idle:
                self.closed_over_cap += 1
                return False
            oldest, _ = self._idle.popitem(last=False)
            oldest.evict()
            self.closed_over_cap += 1
        self.open += 1
        self._idle[conn] = None
        return True

    def busy(self, conn: Any) -> None:
        self._idle.pop(conn, None)

    def idle(self, conn: Any) -> None:
        self._idle[conn] = None
        self._idle.move_to_end(conn)

    def gone(self, conn: Any) -> None:
        self._idle.pop(conn, None)
        self.open -= 1


def bounded_protocol(guard: ConnectionGuard) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, with a cap on connections and an idle timeout on each.

    A connection must send a complete request head within ``idle_timeout_s`` of opening or of
    its previous response, else it is closed; trickling bytes does not extend that.
    """

    class BoundedH11(H11Protocol):
        _admitted = False
        _timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if not guard.admit(self):
                transport.abort()
                return
            self._admitted = True
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if not self._admitted:
                return
            self._admitted = False
            self._disarm()
            guard.gone(self)
            super().connection_lost(exc)

        def handle_events(self) -> None:
            before = self.cycle
            super().handle_events()
            if self.cycle is not before and self._admitted:  # a request head arrived
                guard.busy(self)
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self._admitted and not self.transport.is_closing():
                guard.idle(self)
                self._arm()

        def evict(self) -> None:
            self.transport.abort()

        def _arm(self) -> None:
            self._disarm()
            waiting_on = self.cycle
            self._timer = self.loop.call_later(
                guard.limits.idle_timeout_s, self._expire, waiting_on
            )

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _expire(self, waiting_on: Any) -> None:
            if self.cycle is waiting_on and not self.transport.is_closing():
                self.transport.close()

    return BoundedH11
