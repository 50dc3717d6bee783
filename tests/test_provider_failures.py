"""A failing LLM provider, seen through a real `hgm run`: what is tried, recorded and shown.

The provider is a real OpenAI-compatible HTTP server started by the test (http.server on
127.0.0.1), reached through litellm with a model string, as a user would name a local server.
Each case replays one failure (401, no key, 429 then success, 500, a reply that is not JSON, a
hang past call_timeout_s, malformed tool calls) and checks how many attempts reached the
server, what the run recorded, the message, the exit code, and that the process ended
promptly. Only the driver talks to the server: sandboxes reach the model through the gateway.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("litellm") is None,
        reason="needs litellm: pip install 'hgm[litellm]'",
    ),
    pytest.mark.slow,  # each case is a real `hgm run` (litellm import, local sandbox)
]

CALL_TIMEOUT_S = 3
TASKS = "builtin?ids=paginate-page-count,csv-quoted-fields"
PROMPT_PRICE, REPLY_PRICE = 1e-6, 2e-6  # input_cost_per_1m=1, output_cost_per_1m=2
USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}

# --- the provider -------------------------------------------------------------------------


@dataclass
class Reply:
    """What the server does with one request: answer ``status`` with ``body``, or hang."""

    status: int = 200
    body: bytes = b""
    hang_s: float = 0.0


def completion(message: dict) -> Reply:
    body = {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", **message},
                     "finish_reason": "tool_calls" if "tool_calls" in message else "stop"}],
        "usage": USAGE,
    }  # fmt: skip
    return Reply(200, json.dumps(body).encode())


def error(status: int, text: str) -> Reply:
    return Reply(status, json.dumps({"error": {"message": text, "type": "test"}}).encode())


def tool_call(name: str, arguments: str) -> dict:
    return {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}


OK = completion({"content": "OK"})
GIVE_UP = completion({"content": None, "tool_calls": [tool_call("finish", '{"summary": "no"}')]})


@dataclass
class Provider:
    """The server's script (``reply(n, body)`` for its n-th request, from 0) and its log."""

    reply: Callable[[int, dict], Reply]
    requests: list[dict] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: dict) -> Reply:
        with self.lock:
            n = len(self.requests)
            self.requests.append(body)
            self.times.append(time.monotonic())
        return self.reply(n, body)


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[int, dict], Reply]], tuple[Provider, str]]]:
    servers = []

    def start(reply: Callable[[int, dict], Reply]) -> tuple[Provider, str]:
        provider = Provider(reply)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                if not self.path.endswith("/chat/completions"):
                    self.send_error(404)
                    return
                reply = provider.take(json.loads(raw))
                if reply.hang_s:
                    time.sleep(reply.hang_s)
                    return
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return provider, f"http://127.0.0.1:{server.server_address[1]}/v1"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def model_string(base_url: str, *, key: bool = True) -> str:
    auth = "&api_key=sk-test" if key else ""
    return f"openai/fake-model?api_base={base_url}{auth}&input_cost_per_1m=1&output_cost_per_1m=2"


# --- the run ------------------------------------------------------------------------------


@dataclass
class Ran:
    rc: int
    stdout: str
    stderr: str
    ended: float  # time.monotonic() when the process had exited
    out: Path

    def llm_calls(self) -> list[dict]:
        return _rows(self.out, "select * from llm_calls order by id")

    def evaluations(self) -> list[dict]:
        return _rows(self.out, "select * from evaluations order by id")


def _rows(out: Path, sql: str) -> list[dict]:
    db = out / "hgm.db"
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(sql)]
        except sqlite3.OperationalError:  # the run stopped before its schema was made
            return []


def hgm_run(tmp_path: Path, model: str, *, max_evals: int = 2, **config) -> Ran:
    settings = {"call_timeout_s": CALL_TIMEOUT_S, "agent_max_steps": 3, "workers": 1,
                "policy": "greedy?evals_per_node=2", **config}  # fmt: skip
    (tmp_path / "run.yaml").write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in settings.items()))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "hgm.cli", "run", "--config", str(tmp_path / "run.yaml"),
           "--model", model, "--benchmark", TASKS, "--sandbox", "local",
           "--max-evals", str(max_evals), "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    return Ran(proc.returncode, proc.stdout, proc.stderr, time.monotonic(), out)


def one_line_error(ran: Ran) -> str:
    lines = [line for line in ran.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, ran.stdout + ran.stderr
    return lines[0]


def assert_prompt_exit(ran: Ran, provider: Provider, call_timeout_s: float = CALL_TIMEOUT_S) -> None:
    """The process ended within call_timeout_s (plus slack for a loaded machine) of the
    last request it sent: nothing (litellm's own 300 s timeout) kept it alive."""
    assert provider.times, "no request reached the provider"
    assert ran.ended - provider.times[-1] < call_timeout_s + 15


# --- failures found before the first decision ---------------------------------------------


def test_a_rejected_key_stops_the_run_at_preflight_after_one_attempt(tmp_path, serve):
    provider, url = serve(lambda n, body: error(401, "invalid api key"))
    ran = hgm_run(tmp_path, model_string(url))
    assert ran.rc == 1, ran.stderr
    assert "preflight" in one_line_error(ran) and "refused the API key (401)" in ran.stderr
    assert len(provider.requests) == 1  # permanent: never retried
    calls = ran.llm_calls()
    assert len(calls) == 1 and calls[0]["scope_kind"] == "other" and "401" in calls[0]["error"]
    assert ran.evaluations() == []
    assert_prompt_exit(ran, provider)


def test_a_missing_key_stops_the_run_before_any_request(tmp_path, serve):
    provider, url = serve(lambda n, body: OK)
    started = time.monotonic()
    ran = hgm_run(tmp_path, model_string(url, key=False))
    assert ran.rc == 1, ran.stderr
    line = one_line_error(ran)
    assert "no API key" in line and "OPENAI_API_KEY" in line
    assert provider.requests == []  # litellm refuses before sending; nothing is retried
    assert [c["scope_kind"] for c in ran.llm_calls()] == ["other"]
    assert ran.evaluations() == []
    assert ran.ended - started < 60  # no ~20 tries of ~90 s each


def test_a_provider_answering_500_is_named_as_such_once_retries_run_out(tmp_path, serve):
    provider, url = serve(lambda n, body: error(500, "upstream exploded"))
    # Long enough for a retry even when litellm's first call is slow on a loaded machine.
    ran = hgm_run(tmp_path, model_string(url), call_timeout_s=10)
    assert ran.rc == 1, ran.stderr
    line = one_line_error(ran)
    assert "provider answered 500: upstream exploded" in line and "gave up after" in line
    assert "did not answer" not in line
    assert 2 <= len(provider.requests) <= 5  # retried, within the call's time limit
    assert ran.stderr.count("retrying in") == 1  # one warning line, not one per retry
    assert ran.evaluations() == []
    assert_prompt_exit(ran, provider, call_timeout_s=10)


def test_a_reply_that_is_not_json_is_reported_as_such(tmp_path, serve):
    provider, url = serve(lambda n, body: Reply(200, b"{this is not json"))
    ran = hgm_run(tmp_path, model_string(url))
    assert ran.rc == 1, ran.stderr
    line = one_line_error(ran)
    assert "the provider's reply is not valid JSON" in line
    assert "APIResponse" not in line and "InternalServerError" not in line
    assert len(provider.requests) == 1
    assert ran.evaluations() == []
    assert_prompt_exit(ran, provider)


def test_a_hung_provider_is_given_up_on_at_call_timeout_and_the_process_exits(tmp_path, serve):
    provider, url = serve(lambda n, body: Reply(hang_s=120))
    ran = hgm_run(tmp_path, model_string(url))
    assert ran.rc == 1, ran.stderr
    assert f"did not answer within {CALL_TIMEOUT_S}s" in one_line_error(ran)
    assert len(provider.requests) == 1
    calls = ran.llm_calls()
    assert len(calls) == 1 and calls[0]["error"].startswith("CallTimeout")
    assert_prompt_exit(ran, provider)  # litellm's own timeout did not outlive call_timeout_s


# --- failures during the run --------------------------------------------------------------


def test_a_rate_limit_then_success_is_retried_and_the_run_goes_on(tmp_path, serve):
    provider, url = serve(lambda n, body: error(429, "slow down") if n == 0 else (GIVE_UP if body.get("tools") else OK))
    # Room for the backoff before the retry even on a loaded machine (the retry must fit in it).
    ran = hgm_run(tmp_path, model_string(url), call_timeout_s=10)
    assert ran.rc == 0, ran.stdout + ran.stderr
    # preflight: the 429, then its retry; then one call per evaluation (the agent gives up)
    assert len(provider.requests) == 4
    assert [e["outcome"] for e in ran.evaluations()] == ["fail", "fail"]  # the agent's result
    calls = ran.llm_calls()
    assert [c["scope_kind"] for c in calls] == ["other", "evaluation", "evaluation"]
    assert all(c["error"] is None for c in calls)
    assert calls[0]["cost_usd"] == pytest.approx(10 * PROMPT_PRICE + 5 * REPLY_PRICE)
    assert_prompt_exit(ran, provider, call_timeout_s=10)


def test_tool_arguments_that_are_not_json_are_the_agents_result(tmp_path, serve):
    broken = completion({"content": None, "tool_calls": [tool_call("bash", '{"command": "ls')]})
    provider, url = serve(lambda n, body: broken if body.get("tools") else OK)
    ran = hgm_run(tmp_path, model_string(url))
    assert ran.rc == 0, ran.stdout + ran.stderr
    assert len(provider.requests) == 1 + 2 * 3  # preflight, then 3 steps in each evaluation
    evals = ran.evaluations()
    assert [e["outcome"] for e in evals] == ["fail", "fail"]  # not an infrastructure error
    assert all(c["error"] is None for c in ran.llm_calls())


def test_tool_calls_that_are_not_a_list_are_an_infrastructure_error(tmp_path, serve):
    malformed = completion({"content": None, "tool_calls": {"name": "bash"}})
    provider, url = serve(lambda n, body: malformed if body.get("tools") else OK)
    ran = hgm_run(tmp_path, model_string(url), max_consecutive_errors=2)
    assert ran.rc not in (0, 1), ran.stdout + ran.stderr  # stopped on errors
    assert "2 evaluations in a row failed in the infrastructure" in ran.stdout
    assert len(provider.requests) == 1 + 2  # a malformed reply is not retried, by anyone
    evals = ran.evaluations()
    assert [e["outcome"] for e in evals] == ["error", "error"]  # never the agent's failure
    assert "not a valid chat completion" in evals[0]["reason"]
    assert_prompt_exit(ran, provider)


# --- retries and prices, in process -------------------------------------------------------


def test_retry_warnings_are_collapsed_into_a_count(tmp_path, serve, caplog):
    from hgm.gateway import ChatRequest, Gateway, Scope, TransientModelError, get_backend

    provider, url = serve(lambda n, body: error(503, "overloaded"))
    gateway = Gateway(get_backend(model_string(url)), socket_path=tmp_path / "gw.sock",
                      recorder=lambda call: None, retries=6, backoff_s=0.01, call_timeout_s=60)  # fmt: skip
    request = ChatRequest(model="m", messages=[{"role": "user", "content": "hi"}])
    with (
        caplog.at_level("WARNING", logger="hgm.gateway"),
        gateway,
        pytest.raises(TransientModelError, match="provider answered 503: overloaded"),
    ):
        gateway.complete(request, Scope("other"))
    assert len(provider.requests) == 7
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "retrying in" in lines[0] and "5 more retries for model 'openai/fake-model'" in lines[1]


def test_max_usd_refuses_a_model_without_a_price(tmp_path, serve):
    provider, url = serve(lambda n, body: OK)
    unpriced = f"openai/fake-model?api_base={url}&api_key=sk-test"
    ran = hgm_run(tmp_path, unpriced, max_usd=1.0)
    assert ran.rc not in (0, 1), ran.stderr  # bad input
    line = one_line_error(ran)
    assert "no price is known for openai/fake-model" in line
    assert "input_cost_per_1m" in line and "--allow-free" in line  # the two ways out
    assert provider.requests == [] and ran.llm_calls() == []


def _priced(model: str, **config):
    from hgm.config import RunConfig
    from hgm.gateway import get_backend
    from hgm.preflight import priced_backend

    return priced_backend(get_backend(model), RunConfig(model=model, **config))


def test_a_price_in_the_config_or_allow_free_lets_max_usd_start():
    from hgm.gateway.litellm_backend import Price

    model = "openai/fake-model?api_base=http://127.0.0.1:1/v1"
    priced = _priced(model, max_usd=1.0, input_cost_per_1m=3, output_cost_per_1m=15)
    assert priced.known_price() == Price.per_million(3, 15)
    assert _priced(model, max_usd=1.0, allow_free=True).known_price() == Price(0.0, 0.0)


def test_allow_free_does_not_zero_a_model_whose_price_is_known():
    backend = _priced("openai/gpt-4o-mini", max_usd=1.0, allow_free=True)
    price = backend.known_price()
    assert price is not None and price.output_per_token > 0
