"""The gateway's HTTP server: an OpenAI-compatible endpoint on a unix socket (and optionally TCP).

Routes: ``POST /v1/chat/completions``, ``POST /v1/embeddings`` (:mod:`hgm.gateway.embeddings`),
``GET /v1/models``, ``GET /health``. Every ``/v1``
request carries ``Authorization: Bearer <token>``, a token from :meth:`Gateway.issue_token`,
which names the :class:`~hgm.gateway.Scope` the call is attributed and charged to.

Errors are OpenAI-style bodies ``{"error": {"message", "type", "code"}}``:

=====  ==========================  ===================================================
401    ``invalid_token``           missing, unknown or revoked token
400    ``invalid_request_error``   body is not JSON, nests too deep, has a field off the
                                   allow-list or a malformed one; or the provider refused
                                   the request as invalid (:class:`BadModelRequest`)
402    ``budget_exhausted``        what is left of the dollar budget cannot cover the
                                   call's worst-case cost (no call was made)
408    ``request_timeout``         the body did not arrive within the idle timeout
413    ``request_too_large``       the body is over the size cap (the rest is not read)
429    ``too_many_requests``       the token already has its cap of calls in progress
502    ``model_error``             the model failed permanently or replied malformed
503    ``model_unavailable``       the model kept failing transiently after all retries
503    ``embeddings_unavailable``  the run has no embedding model (embeddings only)
504    ``timeout``                 no answer within the per-call time limit
=====  ==========================  ===================================================

Calls refused for what the request was (400, 408, 413) are recorded with ``agent_error`` set:
they are the agent's mistakes, not infrastructure failures. The bounds are
:class:`~hgm.gateway.limits.GatewayLimits`; docs/security.md lists them.

``stream: true`` is served as server-sent events carrying the whole reply in one chunk.
"""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import socket
import stat
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from hgm.gateway import (
    BadModelRequest,
    BudgetExhausted,
    CallTimeout,
    ChatRequest,
    ChatResult,
    LLMCall,
    ModelBackend,
    ModelError,
    Scope,
    TransientModelError,
)
from hgm.gateway.accounting import Budget, CallRunner, RetryPolicy
from hgm.gateway.embeddings import (
    EmbeddingService,
    NoEmbeddingModel,
    embedding_body,
    parse_embedding_request,
)
from hgm.gateway.limits import (
    BodyTimeout,
    BodyTooLarge,
    ConnectionGuard,
    GatewayLimits,
    bounded_call,
    bounded_protocol,
    check_depth,
    read_body,
)
from hgm.gateway.openai_format import (
    completion_body,
    error_body,
    request_to_dict,
    stream_events,
)
from hgm.gateway.validation import BadRequest, parse_chat_request

log = logging.getLogger(__name__)

# Linux's sun_path holds 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH = 107
_STATUS = [  # checked in order: CallTimeout is a TransientModelError, BadModelRequest a ModelError
    (BadModelRequest, 400, "invalid_request_error"),
    (BudgetExhausted, 402, "budget_exhausted"),
    (CallTimeout, 504, "timeout"),
    (TransientModelError, 503, "model_unavailable"),
    (ModelError, 502, "model_error"),
]


class Gateway:
    """The run's LLM endpoint: tokens, budget, retries, recording, and the HTTP server.

    ``recorder`` receives one :class:`~hgm.gateway.LLMCall` per call (successful or not), from
    server threads; it must be thread-safe. ``spent_usd`` is what earlier sessions of the run
    spent (for resume). ``tcp_port`` also serves on TCP (``0`` picks a free port), on ``tcp_host``
    (127.0.0.1; a Ray executor's cluster address for worker nodes: docs/ray.md).
    ``rng`` drives the retry jitter. ``limits`` bounds bodies, nesting, connections and
    records (defaults: :class:`~hgm.gateway.limits.GatewayLimits`). ``embedder`` (an
    :class:`~hgm.skills.embed.Embedder`, or None for none) serves ``/v1/embeddings``.
    """

    def __init__(
        self,
        backend: ModelBackend,
        *,
        socket_path: Path,
        recorder: Callable[[LLMCall], None],
        max_usd: float | None = None,
        spent_usd: float = 0.0,
        call_timeout_s: float | None = 300,
        retries: int = 4,
        backoff_s: float = 1.0,
        tcp_port: int | None = None,
        tcp_host: str = "127.0.0.1",
        rng: random.Random | None = None,
        max_concurrency: int = 64,
        limits: GatewayLimits | None = None,
        embedder: Any = None,
    ) -> None:
        self.backend = backend
        self.limits = limits = limits or GatewayLimits()
        self.socket_path = Path(socket_path)
        self.tcp_port, self.tcp_host = tcp_port, tcp_host
        self._budget = Budget(max_usd, spent_usd)
        # A 30 MB request must not become 30 MB of hgm.db.
        bounded = lambda call: recorder(bounded_call(call, limits.max_recorded_bytes))  # noqa: E731
        self.embeddings = EmbeddingService(embedder, budget=self._budget, recorder=bounded)
        self._runner = CallRunner(
            backend,
            recorder=bounded,
            budget=self._budget,
            retry=RetryPolicy(retries=retries, backoff_s=backoff_s),
            call_timeout_s=call_timeout_s,
            rng=rng or random.Random(),
            max_workers=max_concurrency,
        )
        self._max_concurrency = max_concurrency
        self._limiter: anyio.CapacityLimiter | None = None
        self._tokens: dict[str, Scope] = {}
        self._tokens_lock = threading.Lock()
        self._in_flight: dict[str, int] = {}  # per token; touched on the event loop only
        self.connections = ConnectionGuard(limits)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sockets: list[socket.socket] = []
        self.app = self._build_app()

    # --- accounting -------------------------------------------------------------------

    @property
    def spent_usd(self) -> float:
        """Dollars spent so far, including the ``spent_usd`` the gateway started with."""
        return self._budget.spent_usd

    @property
    def max_usd(self) -> float | None:
        """The dollar budget (None: none)."""
        return self._budget.max_usd

    @property
    def budget_exhausted(self) -> bool:
        """True once the spend has reached ``max_usd``: further calls are refused."""
        return self._budget.exhausted

    def complete(self, request: ChatRequest, scope: Scope) -> ChatResult:
        """Answer a request in-process, with the same budget, retries and recording as HTTP.

        The request is held to the same allow-list as an agent's (:class:`BadRequest` if not).
        Raises :class:`BudgetExhausted`, :class:`ModelError`, :class:`TransientModelError`
        (retries used up) or :class:`CallTimeout`.
        """
        body = request_to_dict(request) | {"model": ""}  # the driver names its own model
        parse_chat_request(body, max_tokens_cap=self.limits.max_tokens)
        return self._runner.run(request, scope)

    def embed(self, texts: list[str], scope: Scope) -> Any:
        """Embed ``texts`` in-process with the run's embedding model, recorded and charged like
        an agent's call: an :class:`~hgm.skills.embed.EmbeddingBatch`. Raises
        :class:`~hgm.gateway.embeddings.NoEmbeddingModel` when the run has none."""
        parse_embedding_request({"input": texts})
        return self.embeddings.run(texts, scope)

    # --- tokens -----------------------------------------------------------------------

    def issue_token(self, scope: Scope) -> str:
        """A new bearer token whose calls are attributed to ``scope``."""
        token = "hgm-" + secrets.token_urlsafe(24)
        with self._tokens_lock:
            self._tokens[token] = scope
        return token

    def revoke(self, token: str) -> None:
        """Refuse further calls with ``token`` (unknown tokens are ignored)."""
        with self._tokens_lock:
            self._tokens.pop(token, None)

    def scope_of(self, token: str) -> Scope | None:
        with self._tokens_lock:
            return self._tokens.get(token)

    # --- serving ----------------------------------------------------------------------

    @property
    def url(self) -> str | None:
        """``http://HOST:PORT`` when serving on TCP, else None."""
        if self.tcp_port is None:
            return None
        return f"http://{self.tcp_host}:{self.tcp_port}"

    @property
    def base_url(self) -> str | None:
        """The OpenAI base URL (``url`` + ``/v1``) when serving on TCP, else None."""
        return None if self.url is None else self.url + "/v1"

    def start(self, wait_s: float = 30.0) -> None:
        """Serve in a background thread; returns once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the gateway is already running")
        self._sockets = [self._bind_unix()]
        if self.tcp_port is not None:
            try:
                tcp = socket.create_server((self.tcp_host, self.tcp_port))
            except OSError:
                self.stop()
                raise
            self.tcp_port = tcp.getsockname()[1]
            self._sockets.append(tcp)
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=5,
            http=bounded_protocol(self.connections),
            timeout_keep_alive=max(1, int(self.limits.idle_timeout_s)),
            # asyncio accepts up to `backlog` sockets at a time before any protocol sees them;
            # a small backlog keeps that burst (and so the driver's open files) small.
            backlog=self.limits.accept_backlog,
        )
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": self._sockets}, name="hgm-gateway", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + wait_s
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the LLM gateway failed to start on {self.socket_path}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving, abandon calls still running, and remove the socket file."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout=5)
        for sock in self._sockets:
            sock.close()
        if self._sockets and self.socket_path.is_socket():
            self.socket_path.unlink()
        self._sockets, self._server, self._thread = [], None, None
        self._runner.close()

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _bind_unix(self) -> socket.socket:
        path = self.socket_path
        if len(os.fsencode(path)) > _MAX_SOCKET_PATH:
            raise ValueError(
                f"socket path too long for a unix socket (max {_MAX_SOCKET_PATH} bytes): {path}"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_socket(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(path))
        # Sandboxes may run as another user; the bearer token, not the file mode, is the guard.
        os.chmod(path, 0o666)
        return sock

    # --- HTTP -------------------------------------------------------------------------

    def _build_app(self) -> Starlette:
        routes = [
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            Route("/embeddings", self._embeddings, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
            Route("/health", self._health, methods=["GET"]),
        ]
        return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})

    async def _chat(self, request: Request) -> Response:
        return await self._limited(request, self._serve_chat)

    async def _embeddings(self, request: Request) -> Response:
        return await self._limited(request, self._serve_embeddings)

    async def _limited(self, request: Request, serve: Callable[[Request, Scope], Any]) -> Response:
        """Authenticate, then serve within the token's cap of calls in progress."""
        scope = self._authenticate(request)
        if scope is None:
            return _unauthorized()
        token = _bearer(request)
        if self._in_flight.get(token, 0) >= self.limits.max_requests_per_token:
            return _error(
                429, f"this token already has {self.limits.max_requests_per_token} calls in "
                "progress; wait for one to finish", "too_many_requests",
            )
        self._in_flight[token] = self._in_flight.get(token, 0) + 1
        try:
            return await serve(request, scope)
        finally:
            self._in_flight[token] -= 1
            if not self._in_flight[token]:
                del self._in_flight[token]

    async def _serve_chat(self, request: Request, scope: Scope) -> Response:
        start = time.monotonic()
        try:
            raw = await read_body(request.stream(), request.headers.get("content-length"), self.limits)
        except (BodyTooLarge, BodyTimeout) as e:
            status, type_ = (413, "request_too_large") if isinstance(e, BodyTooLarge) else (408, "request_timeout")
            self._runner.record_failure(scope, {"invalid_body": None}, f"BadRequest: {e}", start, agent_error=True)
            # Close the connection: the rest of the body is never read.
            return _error(status, str(e), type_, headers={"connection": "close"})
        except ClientDisconnect:
            return Response(status_code=499)
        try:
            check_depth(raw, self.limits.max_json_depth)
            body = json.loads(raw, parse_constant=_no_constant)
            chat = parse_chat_request(body, max_tokens_cap=self.limits.max_tokens)
        except (ValueError, BadRequest) as e:
            text = raw[:4096].decode("utf-8", errors="replace")
            self._runner.record_failure(
                scope, {"invalid_body": text}, f"BadRequest: {e}", start, agent_error=True
            )
            return _error(400, f"invalid request: {e}", "invalid_request_error")
        del raw  # the parsed body is kept for the record; the bytes need not be, during the call
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._max_concurrency)
        try:
            result = await anyio.to_thread.run_sync(
                self._runner.run, chat, scope, body, limiter=self._limiter
            )
        except Exception as e:
            return _failure(e)
        call_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = stream_events(result, call_id=call_id, created=created, include_usage=usage)
            return StreamingResponse(events, media_type="text/event-stream")
        return JSONResponse(completion_body(result, call_id=call_id, created=created))

    async def _serve_embeddings(self, request: Request, scope: Scope) -> Response:
        service = self.embeddings
        try:
            raw = await read_body(request.stream(), request.headers.get("content-length"), self.limits)
        except (BodyTooLarge, BodyTimeout) as e:
            status, type_ = (413, "request_too_large") if isinstance(e, BodyTooLarge) else (408, "request_timeout")
            service.refused(scope, {"invalid_body": None}, f"BadRequest: {e}")
            return _error(status, str(e), type_, headers={"connection": "close"})
        except ClientDisconnect:
            return Response(status_code=499)
        try:
            check_depth(raw, self.limits.max_json_depth)
            body = json.loads(raw, parse_constant=_no_constant)
            texts, encoding = parse_embedding_request(body)
        except (ValueError, BadRequest) as e:
            text = raw[:4096].decode("utf-8", errors="replace")
            service.refused(scope, {"invalid_body": text}, f"BadRequest: {e}")
            return _error(400, f"invalid request: {e}", "invalid_request_error")
        del raw
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._max_concurrency)
        try:
            batch = await anyio.to_thread.run_sync(
                service.run, texts, scope, body, limiter=self._limiter
            )
        except NoEmbeddingModel as e:
            return _error(503, str(e), "embeddings_unavailable")
        except Exception as e:
            return _failure(e)
        return JSONResponse(embedding_body(batch.vectors, service.model_id, batch.prompt_tokens, encoding))

    async def _models(self, request: Request) -> Response:
        if self._authenticate(request) is None:
            return _unauthorized()
        models = [self.backend.name]
        if self.embeddings.embedder is not None:  # the embedding model, when the run has one
            models.append(self.embeddings.model_id)
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "hgm"} for m in models]
        return JSONResponse({"object": "list", "data": data})

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def _authenticate(self, request: Request) -> Scope | None:
        token = _bearer(request)
        return self.scope_of(token) if token else None


def _bearer(request: Request) -> str:
    kind, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if kind.lower() == "bearer" else ""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _remove_stale_socket(path: Path) -> None:
    """Remove a socket left by a killed run; refuse to take over one that is still served."""
    if not path.exists() and not path.is_symlink():
        return
    if not stat.S_ISSOCK(path.lstat().st_mode):
        raise FileExistsError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()
    else:
        raise RuntimeError(f"another process is serving on {path}")
    finally:
        probe.close()


def _failure(e: Exception) -> Response:
    for cls, status, type_ in _STATUS:
        if isinstance(e, cls):
            return _error(status, str(e), type_)
    log.exception("unexpected gateway failure", exc_info=e)
    return _error(500, f"internal gateway error: {type(e).__name__}: {e}", "server_error")


def _error(
    status: int, message: str, type_: str, code: str | None = None, headers: dict | None = None
) -> JSONResponse:
    return JSONResponse(error_body(message, type_, code), status_code=status, headers=headers)


def _unauthorized() -> JSONResponse:
    return _error(
        401,
        "missing, unknown or revoked token (send 'Authorization: Bearer <token>')",
        "invalid_token",
    )


async def _http_error(request: Request, exc: Any) -> Response:
    return _error(
        exc.status_code, str(exc.detail), "invalid_request_error", f"http_{exc.status_code}"
    )
