"""Attacks on the LLM gateway by an adversarial agent, run against the real server.

The agent's side is a real HTTP client on the gateway's unix socket (or a subprocess holding
raw sockets); the driver's side is measured in this process, where the gateway runs: its open
file descriptors (/proc/self/fd) and its resident memory (/proc/self/statm).
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from hgm.archive import Run
from hgm.gateway import BadModelRequest, ChatRequest, Gateway, ModelError, Scope, get_backend
from hgm.gateway.limits import GatewayLimits
from hgm.gateway.scripted import CallableModel
from hgm.jobs import CostLedger

USER = [{"role": "user", "content": "hello"}]
EVAL = Scope("evaluation", node=1, ref="eval-1", task="t1")


def client(gw: Gateway) -> httpx.Client:
    transport = httpx.HTTPTransport(uds=str(gw.socket_path), verify=False)
    return httpx.Client(transport=transport, base_url="http://gateway", timeout=60)


def chat(gw: Gateway, token: str, body: dict | bytes) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    with client(gw) as c:
        if isinstance(body, bytes):
            return c.post("/v1/chat/completions", content=body, headers=headers)
        return c.post("/v1/chat/completions", json=body, headers=headers)


class Calls(list):
    """A thread-safe recorder that keeps every LLMCall."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def __call__(self, call) -> None:
        with self.lock:
            self.append(call)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    """serve(backend, **kw) -> a started Gateway on a unix socket, stopped at teardown."""
    started: list[Gateway] = []

    def make(backend, **kw) -> Gateway:
        kw.setdefault("recorder", Calls())
        gw = Gateway(backend, socket_path=tmp_path / f"gw{len(started)}.sock", **kw)
        gw.start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()


# --- the key: a real litellm backend between a provider and an attacker ----------------------


class Endpoint(http.server.ThreadingHTTPServer):
    """A local HTTP server that records every request it gets and answers like OpenAI."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.seen: list[dict] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Recorder(http.server.BaseHTTPRequestHandler):
    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with self.server.lock:
            self.server.seen.append(
                {"method": self.command, "path": self.path, "body": body,
                 "headers": {k.lower(): v for k, v in self.headers.items()}}
            )
        if isinstance(body, dict) and isinstance(body.get("max_tokens"), int) and body["max_tokens"] < 1:
            # As OpenAI does: this is what makes litellm try an agent's fallbacks on old code.
            return self._send(400, {"error": {"message": "max_tokens must be at least 1",
                                              "type": "invalid_request_error"}})
        self._send(200, {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
            "model": (body or {}).get("model", "?") if isinstance(body, dict) else "?",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "pong"}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
        })

    def _send(self, status: int, body: dict) -> None:
        reply = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def endpoints() -> Iterator[tuple[Endpoint, Endpoint]]:
    provider, attacker = Endpoint(), Endpoint()
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (provider, attacker)]
    for t in threads:
        t.start()
    yield provider, attacker
    for s in (provider, attacker):
        s.shutdown()
        s.server_close()


SECRET = "sk-secret-do-not-leak-4242"


def litellm_backend(provider: Endpoint):
    return get_backend(f"openai/test-model?api_base={provider.url}&api_key={SECRET}&timeout=20")


def attacks(attacker_url: str) -> list[tuple[str, dict]]:
    """(the field the gateway must name, fields the agent adds to an ordinary request)."""
    evil = {"model": "openai/gpt-4-other", "api_base": attacker_url, "api_key": "sk-x"}
    return [
        ("fallbacks", {"fallbacks": [evil], "max_tokens": -1}),
        ("fallbacks", {"fallbacks": ["openai/gpt-4-other"]}),
        ("context_window_fallbacks", {"context_window_fallbacks": [evil]}),
        ("api_base", {"api_base": attacker_url}),
        ("base_url", {"base_url": attacker_url}),
        ("api_key", {"api_key": "sk-attacker"}),
        ("model_list", {"model_list": [{"model_name": "x", "litellm_params": evil}]}),
        ("mock_response", {"mock_response": "a free pass"}),
        ("input_cost_per_token", {"input_cost_per_token": 0.0}),
        ("output_cost_per_token", {"output_cost_per_token": 0.0}),
        ("extra_headers", {"extra_headers": {"Authorization": "Bearer stolen"}}),
        ("extra_body", {"extra_body": {"api_base": attacker_url}}),
        ("custom_llm_provider", {"custom_llm_provider": "openai"}),
        ("metadata", {"metadata": {"api_base": attacker_url}}),
        ("num_retries", {"num_retries": 50}),
        ("timeout", {"timeout": 100000}),
        ("max_tokens", {"max_tokens": -1}),
        ("messages[0].api_base", {"messages": [{"role": "user", "content": "x", "api_base": attacker_url}]}),
        ("messages[0].content[0].image_url.url", {"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": attacker_url + "/cat.png"}}]}]}),
        ("tools[0].api_base", {"tools": [{"type": "function", "function": {"name": "f"}, "api_base": attacker_url}]}),
    ]


litellm_only = pytest.mark.skipif(
    importlib.util.find_spec("litellm") is None, reason="needs litellm: pip install 'hgm[litellm]'"
)


@litellm_only
@pytest.mark.slow  # importing litellm takes several seconds
@pytest.mark.filterwarnings("ignore:Item .* is using the `ReadOnly` qualifier:UserWarning")
def test_no_field_an_agent_adds_reaches_the_attacker_or_changes_the_model(serve, endpoints):
    provider, attacker = endpoints
    gw = serve(litellm_backend(provider), retries=0)
    token = gw.issue_token(EVAL)
    for field, extra in attacks(attacker.url):
        response = chat(gw, token, {"model": "test-model", "messages": USER} | extra)
        assert response.status_code == 400, (field, response.text)
        assert repr(field) in response.json()["error"]["message"] or f"'{field}'" in response.json()["error"]["message"], field
    ordinary = chat(gw, token, {"model": "gpt-4-other", "messages": USER, "max_tokens": 5})
    assert ordinary.status_code == 200 and ordinary.json()["choices"][0]["message"]["content"] == "pong"
    assert attacker.seen == []
    assert [r["body"]["model"] for r in provider.seen] == ["test-model"]
    assert provider.seen[0]["headers"]["authorization"] == f"Bearer {SECRET}"
    assert provider.seen[0]["body"]["max_tokens"] == 5


@litellm_only
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Item .* is using the `ReadOnly` qualifier:UserWarning")
def test_allowed_fields_reach_the_provider_checked_and_nothing_else(serve, endpoints):
    provider, attacker = endpoints
    before = len(provider.seen)
    gw = serve(litellm_backend(provider), retries=0)
    body = {
        "model": "anything", "messages": USER, "temperature": 0.5, "top_p": 0.9, "seed": 7,
        "stop": ["END"], "user": "agent-1", "max_completion_tokens": 9, "n": 1, "stream": False,
    }
    assert chat(gw, gw.issue_token(EVAL), body).status_code == 200
    sent = provider.seen[before]["body"]
    assert sent["model"] == "test-model"
    assert (sent["temperature"], sent["top_p"], sent["seed"], sent["stop"]) == (0.5, 0.9, 7, ["END"])
    assert sent.get("max_tokens", sent.get("max_completion_tokens")) == 9
    assert attacker.seen == []


# --- connections, bodies, nesting ----------------------------------------------------------


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Peak:
    """Samples a measure in a thread and keeps its largest value."""

    def __init__(self, measure, every_s: float = 0.002) -> None:
        self.measure, self.every_s = measure, every_s
        self.peak = measure()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.measure())
            self._stop.wait(self.every_s)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


HOLD_IDLE = """
import socket, sys, time
path, n = sys.argv[1], int(sys.argv[2])
socks, deadline = [], time.monotonic() + 60
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    while True:  # a full backlog answers EAGAIN: wait for the gateway to accept
        try:
            s.connect(path)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.001)
    socks.append(s)
closed, deadline = set(), time.monotonic() + 20
while time.monotonic() < deadline and len(closed) < n - int(sys.argv[3]):
    for i, s in enumerate(socks):
        if i not in closed:
            try:
                if s.recv(1) == b"":
                    closed.add(i)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(i)
    time.sleep(0.05)
print(len(closed), flush=True)
sys.stdin.read()  # hold the rest open until told to go
"""


def test_a_flood_of_idle_connections_cannot_exhaust_the_drivers_files(serve):
    limits = GatewayLimits(max_connections=64)
    gw = serve(get_backend("scripted:echo"), limits=limits)
    token = gw.issue_token(EVAL)
    assert chat(gw, token, {"messages": USER}).status_code == 200  # warm: threads, imports
    n, before = 2000, open_files()
    with Peak(open_files) as fds:
        flood = subprocess.Popen(
            [sys.executable, "-c", HOLD_IDLE, str(gw.socket_path), str(n), str(limits.max_connections)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        try:
            closed = int(flood.stdout.readline())
            # While the flood is still held open, a real call is answered.
            response = chat(gw, token, {"messages": USER})
        finally:
            flood.communicate("", timeout=30)
    assert response.status_code == 200
    assert closed >= n - limits.max_connections
    # The stated cap, plus the flood's pipes and the real call's socket.
    assert fds.peak - before <= limits.max_open_sockets + 8


def test_a_connection_that_sends_nothing_is_closed_after_the_idle_timeout(serve):
    gw = serve(get_backend("scripted:echo"), limits=GatewayLimits(idle_timeout_s=0.5))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(str(gw.socket_path))
    s.send(b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n")  # a head that never ends
    try:
        assert s.recv(1) == b""  # closed by the gateway, well before our 20 s
    finally:
        s.close()


STREAM_BODY = """
import socket, sys
path, token, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(path)
s.sendall((
    "POST /v1/chat/completions HTTP/1.1\\r\\nHost: gateway\\r\\n"
    f"Authorization: Bearer {token}\\r\\nContent-Type: application/json\\r\\n"
    "Transfer-Encoding: chunked\\r\\n\\r\\n"
).encode())
chunk = b'{"messages": [{"role": "user", "content": "' + b"x" * (1 << 16)
frame = f"{len(chunk):x}\\r\\n".encode() + chunk + b"\\r\\n"
sent = 0
try:
    while sent < total:  # generated lazily: never more than one chunk in memory
        s.sendall(frame)
        sent += len(chunk)
except OSError:
    pass
try:
    status = s.recv(4096).split(b"\\r\\n")[0].decode()
except OSError:
    status = "no answer"
print(sent, status, flush=True)
"""


def test_a_streamed_gigabyte_body_is_refused_early_with_bounded_memory(serve):
    calls = Calls()
    limits = GatewayLimits(max_body_bytes=4 * 1024 * 1024)
    gw = serve(get_backend("scripted:echo"), recorder=calls, limits=limits)
    token = gw.issue_token(EVAL)
    assert chat(gw, token, {"messages": USER}).status_code == 200
    before = rss_bytes()
    with Peak(rss_bytes, every_s=0.005) as rss:
        attacker = subprocess.run(
            [sys.executable, "-c", STREAM_BODY, str(gw.socket_path), token, str(1 << 30)],
            capture_output=True, text=True, timeout=120,
        )
    sent, status = attacker.stdout.split(" ", 1)
    assert status.strip() == "HTTP/1.1 413 Request Entity Too Large" or " 413 " in status, attacker.stdout
    assert int(sent) < 64 * 1024 * 1024  # the gateway stopped reading long before 1 GiB
    assert rss.peak - before < 100 * 1024 * 1024
    assert calls[-1].agent_error and "cap" in calls[-1].error


def test_a_declared_oversized_body_is_refused_before_it_is_read(serve):
    gw = serve(get_backend("scripted:echo"))
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n"
        f"Authorization: Bearer {gw.issue_token(EVAL)}\r\nContent-Length: {1 << 30}\r\n\r\n"
    )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(20)
        s.connect(str(gw.socket_path))
        s.sendall(head.encode() + b'{"messages": [')  # and never the rest
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_deeply_nested_json_is_a_recorded_400(serve):
    calls = Calls()
    gw = serve(get_backend("scripted:echo"), recorder=calls)
    token = gw.issue_token(EVAL)
    deep = b'{"messages": [{"role": "user", "content": ' + b"[" * 200_000 + b"]" * 200_000 + b"}]}"
    response = chat(gw, token, deep)
    assert response.status_code == 400
    assert "nests deeper" in response.json()["error"]["message"]
    assert len(calls) == 1 and calls[0].agent_error and "nests deeper" in calls[0].error
    assert chat(gw, token, {"messages": USER}).status_code == 200


def test_json_constants_that_are_not_json_are_a_400(serve):
    gw = serve(get_backend("scripted:echo"))
    response = chat(gw, gw.issue_token(EVAL), b'{"messages": [{"role": "user", "content": "x"}], "temperature": NaN}')
    assert response.status_code == 400


def test_one_token_cannot_hold_more_calls_than_its_cap(serve):
    release, entered = threading.Event(), threading.Semaphore(0)

    def slow(request: ChatRequest, scope: Scope) -> dict:
        entered.release()
        release.wait(30)
        return {"content": "ok"}

    gw = serve(CallableModel(slow, "slow"), limits=GatewayLimits(max_requests_per_token=2))
    token = gw.issue_token(EVAL)
    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(chat, gw, token, {"messages": USER}) for _ in range(2)]
        try:
            assert entered.acquire(timeout=30) and entered.acquire(timeout=30)
            refused = chat(gw, token, {"messages": USER})
        finally:
            release.set()
        assert [f.result().status_code for f in held] == [200, 200]
    assert refused.status_code == 429
    assert chat(gw, token, {"messages": USER}).status_code == 200


# --- the budget ------------------------------------------------------------------------------


def test_forty_concurrent_calls_overshoot_the_budget_by_at_most_one_reservation(serve):
    def slow(request: ChatRequest, scope: Scope) -> dict:
        time.sleep(0.2)  # so that the calls are in flight together
        return {"content": "ok"}

    backend = CallableModel(slow, "priced", cost_usd=0.01)
    gw = serve(backend, max_usd=0.05)
    tokens = [gw.issue_token(Scope("evaluation", node=1, ref=f"e{i}")) for i in range(40)]
    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(lambda t: chat(gw, t, {"messages": USER}).status_code, tokens))
    reservation = 0.01  # the backend's flat price is its worst case
    assert gw.spent_usd <= 0.05 + reservation + 1e-9
    assert statuses.count(200) == round(gw.spent_usd / 0.01)
    assert set(statuses) == {200, 402}
    assert gw.budget_exhausted


def test_max_tokens_above_the_cap_is_refused_before_any_reservation(serve):
    gw = serve(get_backend("scripted:echo"), limits=GatewayLimits(max_tokens=1000))
    response = chat(gw, gw.issue_token(EVAL), {"messages": USER, "max_tokens": 1001})
    assert response.status_code == 400 and "'max_tokens'" in response.json()["error"]["message"]


# --- the agent's mistakes are the agent's result ---------------------------------------------


SEED_EVAL = Scope("evaluation", node=0, ref="eval-0", task="t1")


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[tuple[Run, CostLedger]]:
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "agent.py").write_text("print('hi')\n")
    run = Run.create(tmp_path / "run", seed, config={}, task_ids=["t1"])
    yield run, CostLedger(run)
    run.close()


def test_a_malformed_request_is_a_400_and_not_a_model_error(serve, ledger):
    run, costs = ledger
    gw = serve(get_backend("scripted:echo"), recorder=costs.record)
    token = gw.issue_token(SEED_EVAL)
    bad = {"messages": [*USER, {"role": "assistant", "content": None, "tool_calls": {"id": "1"}}]}
    response = chat(gw, token, bad)
    assert response.status_code == 400
    assert "tool_calls" in response.json()["error"]["message"]
    charge = costs.pop(SEED_EVAL.ref)
    assert charge.model_errors == ()
    (row,) = run.llm_calls()
    assert row["scope_id"] == SEED_EVAL.ref and "tool_calls" in row["error"]


def test_a_provider_refusing_the_request_is_a_400_not_a_model_error(serve, ledger):
    _, costs = ledger

    def refuse(request: ChatRequest, scope: Scope) -> dict:
        if request.messages[-1]["content"] == "bad":
            raise BadModelRequest("400 invalid 'messages': the provider says no")
        raise ModelError("the provider is broken")

    gw = serve(CallableModel(refuse, "refuser"), recorder=costs.record)
    token = gw.issue_token(SEED_EVAL)
    response = chat(gw, token, {"messages": [{"role": "user", "content": "bad"}]})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert costs.pop(SEED_EVAL.ref).model_errors == ()
    assert chat(gw, token, {"messages": USER}).status_code == 502
    assert costs.pop(SEED_EVAL.ref).model_errors == ("ModelError: the provider is broken",)


def test_a_huge_request_is_recorded_truncated_with_a_marker(serve):
    calls = Calls()
    limits = GatewayLimits(max_recorded_bytes=64 * 1024)
    gw = serve(get_backend("scripted:echo?cost_usd=0"), recorder=calls, limits=limits)
    text = "y" * (3 * 1024 * 1024)
    assert chat(gw, gw.issue_token(SEED_EVAL), {"messages": [{"role": "user", "content": text}]}).status_code == 200
    (call,) = calls
    assert call.request["truncated"] is True and call.request["original_bytes"] > 3 * 1024 * 1024
    assert len(json.dumps(call.request)) < 70 * 1024
    assert call.response["truncated"] is True  # the echo is as large as the request
