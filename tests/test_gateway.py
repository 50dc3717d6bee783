"""The LLM gateway over real HTTP on a unix socket, with scripted backends."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from hgm.gateway import (
    BudgetExhausted,
    ChatRequest,
    ChatResult,
    Gateway,
    LLMCall,
    ModelError,
    Scope,
    TransientModelError,
    get_backend,
    validation,
)
from hgm.gateway.scripted import SCRIPTED_MODELS, CallableModel, register_scripted

EVAL = Scope("evaluation", node=3, ref="eval-7", task="fizzbuzz")
EXPAND = Scope("expansion", node=1, ref="exp-2")
USER = [{"role": "user", "content": "hello there"}]
BASH_TOOL = {
    "type": "function",
    "function": {
        "name": "bash",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}},
    },
}
FINISH_TOOL = {
    "type": "function",
    "function": {
        "name": "finish",
        "parameters": {
            "type": "object",
            "properties": {"summary": {"type": "string"}},
            "required": ["summary"],
        },
    },
}


class Recorder:
    """Collects LLM calls, as the archive would, from server threads."""

    def __init__(self) -> None:
        self.calls: list[LLMCall] = []
        self._lock = threading.Lock()

    def __call__(self, call: LLMCall) -> None:
        with self._lock:
            self.calls.append(call)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def serve(tmp_path: Path, recorder: Recorder) -> Iterator:
    """serve(backend, **kw) -> a started Gateway, stopped at teardown."""
    started: list[Gateway] = []

    def make(backend, **kw) -> Gateway:
        kw.setdefault("recorder", recorder)
        kw.setdefault("backoff_s", 0.001)
        gw = Gateway(backend, socket_path=tmp_path / f"gw{len(started)}.sock", **kw)
        gw.start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()


def client(gw: Gateway) -> httpx.Client:
    # No TLS on a unix socket; verify=False skips loading a CA bundle for every client.
    transport = httpx.HTTPTransport(uds=str(gw.socket_path), verify=False)
    return httpx.Client(transport=transport, base_url="http://gateway", timeout=30)


def chat(gw: Gateway, token: str | None, body: dict | bytes) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with client(gw) as c:
        if isinstance(body, bytes):
            return c.post("/v1/chat/completions", content=body, headers=headers)
        return c.post("/v1/chat/completions", json=body, headers=headers)


def script(tmp_path: Path, text: str) -> str:
    path = tmp_path / "script.yaml"
    path.write_text(text)
    return f"scripted:{path}"


# --- HTTP round trips -------------------------------------------------------------------


def test_chat_completion_with_tool_calls_round_trips(serve, tmp_path):
    spec = script(
        tmp_path,
        """
replies:
  - content: "Let me look."
    tool_calls: [{name: bash, arguments: {command: ls -la}}]
  - content: "All done."
""",
    )
    gw = serve(get_backend(spec))
    token = gw.issue_token(EVAL)
    first = chat(gw, token, {"model": "any", "messages": USER, "tools": [BASH_TOOL]})
    assert first.status_code == 200
    choice = first.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["function"]["name"] == "bash"
    assert json.loads(call["function"]["arguments"]) == {"command": "ls -la"}
    tool_result = {"role": "tool", "tool_call_id": call["id"], "content": "a.py"}
    history = [*USER, choice["message"], tool_result]
    second = chat(gw, token, {"model": "any", "messages": history, "tools": [BASH_TOOL]})
    assert second.json()["choices"][0]["message"]["content"] == "All done."
    assert second.json()["usage"]["total_tokens"] > 0


@pytest.mark.parametrize("token", [None, "hgm-not-a-token", "revoked"])
def test_bad_missing_or_revoked_token_is_401(serve, token):
    gw = serve(get_backend("scripted:echo"))
    if token == "revoked":
        token = gw.issue_token(EVAL)
        gw.revoke(token)
    response = chat(gw, token, {"messages": USER})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_token"


def test_invalid_json_is_400_and_the_server_keeps_serving(serve):
    gw = serve(get_backend("scripted:echo"))
    token = gw.issue_token(EVAL)
    bad = chat(gw, token, b'{"messages": [')
    assert bad.status_code == 400
    assert bad.json()["error"]["type"] == "invalid_request_error"
    assert chat(gw, token, {"messages": USER}).status_code == 200


@pytest.mark.parametrize(
    "body", [{}, {"messages": []}, {"messages": "hi"}, [1, 2], {"messages": [{"content": "x"}]}]
)
def test_body_that_is_not_a_chat_request_is_400(serve, body):
    gw = serve(get_backend("scripted:echo"))
    response = chat(gw, gw.issue_token(EVAL), body)
    assert response.status_code == 400
    assert "message" in response.json()["error"]


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("messages[1].tool_calls", {"messages": [*USER, {"role": "assistant", "tool_calls": "bash"}]}),
        ("messages[0].tool_call_id", {"messages": [{"role": "tool", "content": "x"}]}),
        ("messages[0].role", {"messages": [{"role": "root", "content": "x"}]}),
        ("messages[0].content", {"messages": [{"role": "user", "content": 7}]}),
        ("temperature", {"messages": USER, "temperature": 5}),
        ("stop", {"messages": USER, "stop": ["a", "b", "c", "d", "e"]}),
        ("n", {"messages": USER, "n": 2}),
        ("tool_choice", {"messages": USER, "tool_choice": "always"}),
        ("tools[0].function.name", {"messages": USER, "tools": [{"function": {"name": "no spaces"}}]}),
        ("max_tokens", {"messages": USER, "max_tokens": 0}),
        ("frequency_penalty", {"messages": USER, "frequency_penalty": True}),
    ],
)
def test_a_malformed_field_is_a_400_that_names_it(serve, recorder, field, body):
    gw = serve(get_backend("scripted:echo"))
    response = chat(gw, gw.issue_token(EVAL), body)
    assert response.status_code == 400
    assert f"'{field}'" in response.json()["error"]["message"]
    assert recorder.calls[-1].agent_error and recorder.calls[-1].cost_usd == 0


def test_only_allow_listed_fields_reach_the_backend(serve):
    seen: list[ChatRequest] = []
    gw = serve(CallableModel(lambda request, scope: seen.append(request) or {"content": "ok"}, "spy"))
    body = {
        "model": "other-model", "messages": USER, "tools": [BASH_TOOL], "tool_choice": "auto",
        "temperature": 0, "top_p": 1, "seed": 3, "stop": "END", "max_completion_tokens": 50,
        "response_format": {"type": "json_object"}, "parallel_tool_calls": False, "user": "u",
        "presence_penalty": 0.5, "frequency_penalty": -0.5, "reasoning_effort": "low",
        "stream": False, "stream_options": None, "n": 1,
    }
    assert chat(gw, gw.issue_token(EVAL), body).status_code == 200
    (request,) = seen
    assert request.max_tokens == 50 and request.tools == [BASH_TOOL]
    assert set(request.extra) <= set(validation.ALLOWED_FIELDS) - {"model", "stream", "n"}
    assert request.extra["stop"] == "END" and "max_completion_tokens" not in request.extra


def test_every_allowed_field_has_a_check():
    assert set(validation._CHECKS) == validation.ALLOWED_FIELDS


def test_in_process_calls_are_held_to_the_allow_list(serve):
    gw = serve(get_backend("scripted:echo"))
    with pytest.raises(validation.BadRequest, match="api_base"):
        gw.complete(ChatRequest("m", USER, extra={"api_base": "http://x"}), EVAL)


def test_malformed_tool_call_arguments_reach_the_client_intact(serve, tmp_path):
    spec = script(
        tmp_path,
        """
- tool_calls: [{name: finish, arguments: '{"summary": "unterminated'}]
- content: "recovered"
""",
    )
    gw = serve(get_backend(spec))
    token = gw.issue_token(EVAL)
    response = chat(gw, token, {"messages": USER, "tools": [FINISH_TOOL]})
    call = response.json()["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["arguments"] == '{"summary": "unterminated'
    assert (
        chat(gw, token, {"messages": USER}).json()["choices"][0]["message"]["content"]
        == "recovered"
    )


def test_stream_request_gets_server_sent_events(serve):
    gw = serve(get_backend("scripted:finisher"))
    body = {
        "messages": USER,
        "tools": [FINISH_TOOL],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    response = chat(gw, gw.issue_token(EVAL), body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in response.text.splitlines() if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    delta = chunks[0]["choices"][0]["delta"]
    assert delta["tool_calls"][0]["index"] == 0
    assert delta["tool_calls"][0]["function"]["name"] == "finish"
    assert chunks[1]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[2]["usage"]["total_tokens"] > 0


def test_models_lists_the_backend_and_health_needs_no_token(serve):
    gw = serve(get_backend("scripted:echo"))
    with client(gw) as c:
        assert c.get("/health").json() == {"status": "ok"}
        assert c.get("/v1/models").status_code == 401
        models = c.get("/v1/models", headers={"Authorization": f"Bearer {gw.issue_token(EVAL)}"})
    assert [m["id"] for m in models.json()["data"]] == ["echo"]


def test_unknown_route_is_a_json_404(serve):
    gw = serve(get_backend("scripted:echo"))
    with client(gw) as c:
        response = c.get("/v1/nothing")
    assert response.status_code == 404
    assert "error" in response.json()


def test_tcp_port_serves_the_same_endpoint(serve):
    gw = serve(get_backend("scripted:echo"), tcp_port=0)
    response = httpx.post(
        f"{gw.base_url}/chat/completions",
        verify=False,
        json={"messages": USER},
        headers={"Authorization": f"Bearer {gw.issue_token(EVAL)}"},
    )
    assert response.json()["choices"][0]["message"]["content"] == "hello there"


# --- attribution and budget ---------------------------------------------------------------


def test_every_call_is_recorded_once_with_its_scope_and_cost(serve, recorder):
    gw = serve(get_backend("scripted:echo?cost_usd=0.002"))
    chat(gw, gw.issue_token(EVAL), {"messages": USER})
    chat(gw, gw.issue_token(EXPAND), {"messages": USER})
    chat(gw, gw.issue_token(EXPAND), b"not json")
    assert [c.scope for c in recorder.calls] == [EVAL, EXPAND, EXPAND]
    ok, _, bad = recorder.calls
    assert (ok.scope.node, ok.scope.kind, ok.scope.task) == (3, "evaluation", "fizzbuzz")
    assert ok.cost_usd == 0.002 and ok.error is None and ok.prompt_tokens > 0
    assert ok.request["messages"] == USER
    assert ok.response["choices"][0]["message"]["content"] == "hello there"
    assert bad.cost_usd == 0.0 and "BadRequest" in bad.error
    assert gw.spent_usd == pytest.approx(0.004)


def test_budget_refuses_the_call_whose_worst_case_does_not_fit(serve, recorder):
    gw = serve(get_backend("scripted:echo"), max_usd=0.0025)
    token = gw.issue_token(EVAL)
    statuses = [chat(gw, token, {"messages": USER}).status_code for _ in range(3)]
    assert statuses == [200, 200, 402]
    assert gw.budget_exhausted
    refused = chat(gw, token, {"messages": USER})
    assert refused.status_code == 402
    assert refused.json()["error"]["type"] == "budget_exhausted"
    assert "budget" in refused.json()["error"]["message"]
    assert gw.spent_usd == pytest.approx(0.002)
    assert recorder.calls[-1].error.startswith("BudgetExhausted")


def test_a_backend_without_a_price_is_checked_before_and_charged_after(serve):
    class Unpriced:
        name = "unpriced"

        def complete(self, request: ChatRequest, scope: Scope) -> ChatResult:
            return ChatResult({"role": "assistant", "content": "x"}, "stop", 1, 1, 0.001, "u")

    gw = serve(Unpriced(), max_usd=0.0025)
    token = gw.issue_token(EVAL)
    statuses = [chat(gw, token, {"messages": USER}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 402]
    assert gw.spent_usd == pytest.approx(0.003)


def test_spent_usd_carries_over_on_resume(serve):
    gw = serve(get_backend("scripted:echo"), max_usd=0.01, spent_usd=0.01)
    assert gw.budget_exhausted
    assert chat(gw, gw.issue_token(EVAL), {"messages": USER}).status_code == 402


def test_in_process_calls_share_budget_and_records(serve, recorder):
    gw = serve(get_backend("scripted:echo"), max_usd=0.001)
    scope = Scope("diagnosis", node=2)
    result = gw.complete(ChatRequest(model="m", messages=USER), scope)
    assert result.message["content"] == "hello there"
    with pytest.raises(BudgetExhausted):
        gw.complete(ChatRequest(model="m", messages=USER), scope)
    assert [c.scope for c in recorder.calls] == [scope, scope]
    assert chat(gw, gw.issue_token(EVAL), {"messages": USER}).status_code == 402


def test_recorder_failure_does_not_break_the_server(serve):
    def broken(call: LLMCall) -> None:
        raise OSError("disk full")

    gw = serve(get_backend("scripted:echo"), recorder=broken)
    token = gw.issue_token(EVAL)
    assert chat(gw, token, {"messages": USER}).status_code == 200
    assert chat(gw, token, {"messages": USER}).status_code == 200


# --- failures -------------------------------------------------------------------------------


class Flaky:
    """Raises TransientModelError ``failures`` times, then echoes."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts = 0

    def __call__(self, request: ChatRequest, scope: Scope) -> dict:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise TransientModelError("429 rate limited")
        return {"content": "finally"}


def test_transient_errors_are_retried_then_succeed(serve, recorder):
    flaky = Flaky(failures=2)
    gw = serve(CallableModel(flaky, "flaky"), retries=4)
    response = chat(gw, gw.issue_token(EVAL), {"messages": USER})
    assert response.json()["choices"][0]["message"]["content"] == "finally"
    assert flaky.attempts == 3
    assert len(recorder.calls) == 1 and recorder.calls[0].error is None


def test_transient_errors_past_the_retries_are_503(serve, recorder):
    flaky = Flaky(failures=10)
    gw = serve(CallableModel(flaky, "flaky"), retries=2)
    response = chat(gw, gw.issue_token(EVAL), {"messages": USER})
    assert response.status_code == 503
    assert flaky.attempts == 3
    assert len(recorder.calls) == 1 and "rate limited" in recorder.calls[0].error


def test_permanent_backend_error_is_502_and_recorded(serve, tmp_path, recorder):
    gw = serve(get_backend(script(tmp_path, "- error: the model refused")))
    response = chat(gw, gw.issue_token(EVAL), {"messages": USER})
    assert response.status_code == 502
    assert response.json()["error"]["message"] == "the model refused"
    assert recorder.calls[0].error == "ModelError: the model refused"
    assert recorder.calls[0].scope == EVAL


def test_malformed_backend_reply_is_502(serve):
    bad = ChatResult({"role": "assistant", "tool_calls": "bash"}, "stop", 1, 1, 0.0, "bad")
    gw = serve(CallableModel(lambda request, scope: bad, "bad"))
    response = chat(gw, gw.issue_token(EVAL), {"messages": USER})
    assert response.status_code == 502
    assert "tool_calls" in response.json()["error"]["message"]


def test_backend_that_raises_a_bug_is_502_and_the_server_keeps_serving(serve):
    def buggy(request: ChatRequest, scope: Scope) -> dict:
        return {}["missing"]

    gw = serve(CallableModel(buggy, "buggy"))
    token = gw.issue_token(EVAL)
    assert chat(gw, token, {"messages": USER}).status_code == 502
    with client(gw) as c:
        assert c.get("/health").status_code == 200


def test_call_past_the_time_limit_is_504(serve, recorder):
    release = threading.Event()

    def hang(request: ChatRequest, scope: Scope) -> dict:
        release.wait(30)
        return {"content": "too late"}

    gw = serve(CallableModel(hang, "hang"), call_timeout_s=0.2)
    try:
        response = chat(gw, gw.issue_token(EVAL), {"messages": USER})
    finally:
        release.set()
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "timeout"
    assert "CallTimeout" in recorder.calls[0].error


def test_a_call_answering_after_its_time_limit_is_still_charged(serve):
    release = threading.Event()

    def slow(request: ChatRequest, scope: Scope) -> dict:
        release.wait(30)
        return {"content": "late"}

    gw = serve(CallableModel(slow, "slow", cost_usd=0.25), call_timeout_s=0.1)
    assert chat(gw, gw.issue_token(EVAL), {"messages": USER}).status_code == 504
    assert gw.spent_usd == 0.0
    release.set()
    for _ in range(1000):
        if gw.spent_usd:
            break
        threading.Event().wait(0.01)
    assert gw.spent_usd == 0.25


def test_parallel_requests_are_all_answered(serve):
    n = 8
    barrier = threading.Barrier(n, timeout=20)

    def together(request: ChatRequest, scope: Scope) -> dict:
        # Only returns once all n calls are inside the backend at the same time.
        barrier.wait()
        return {"content": scope.task}

    gw = serve(CallableModel(together, "together"))
    tokens = [gw.issue_token(Scope("evaluation", node=1, task=f"t{i}")) for i in range(n)]
    with ThreadPoolExecutor(n) as pool:
        responses = list(pool.map(lambda t: chat(gw, t, {"messages": USER}), tokens))
    contents = [r.json()["choices"][0]["message"]["content"] for r in responses]
    assert contents == [f"t{i}" for i in range(n)]


# --- serving lifecycle ------------------------------------------------------------------------


def test_stop_removes_the_socket_file(tmp_path, recorder):
    path = tmp_path / "gw.sock"
    with Gateway(get_backend("scripted:echo"), socket_path=path, recorder=recorder):
        assert path.is_socket()
    assert not path.exists()


def test_a_stale_socket_from_a_killed_run_is_replaced(tmp_path, recorder):
    path = tmp_path / "gw.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()
    with Gateway(get_backend("scripted:echo"), socket_path=path, recorder=recorder) as gw:
        assert chat(gw, gw.issue_token(EVAL), {"messages": USER}).status_code == 200


def test_a_socket_still_served_is_not_taken_over(serve, recorder):
    gw = serve(get_backend("scripted:echo"))
    second = Gateway(get_backend("scripted:echo"), socket_path=gw.socket_path, recorder=recorder)
    with pytest.raises(RuntimeError, match="another process"):
        second.start()


# --- scripted backends ------------------------------------------------------------------------


def complete(spec: str, messages=USER, tools=None, scope=EVAL) -> ChatResult:
    return get_backend(spec).complete(ChatRequest(model="m", messages=messages, tools=tools), scope)


def test_echo_replies_with_the_last_user_message():
    messages = [
        *USER,
        {"role": "assistant", "content": "x"},
        {"role": "user", "content": [{"type": "text", "text": "again"}]},
    ]
    assert complete("scripted:echo", messages).message["content"] == "again"


def test_finisher_calls_finish_when_tools_are_offered_and_says_done_otherwise():
    call = complete("scripted:finisher", tools=[BASH_TOOL, FINISH_TOOL]).message["tool_calls"][0]
    assert call["function"]["name"] == "finish"
    assert json.loads(call["function"]["arguments"]) == {"summary": "done"}
    assert complete("scripted:finisher").message["content"] == "done"


def test_scripted_cost_defaults_to_a_tenth_of_a_cent_and_is_configurable():
    assert complete("scripted:echo").cost_usd == 0.001
    assert complete("scripted:echo?cost_usd=0.5").cost_usd == 0.5


@pytest.fixture
def replies_module(tmp_path, monkeypatch) -> str:
    """An importable module with a reply function ``scope_teller``."""
    (tmp_path / "gw_replies.py").write_text(
        "def scope_teller(request, scope):\n    return {'content': f'{scope.kind} {scope.task}'}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "gw_replies:scope_teller"


def test_module_function_spec_calls_the_function(replies_module):
    result = complete(f"scripted:{replies_module}")
    assert result.message["content"] == "evaluation fizzbuzz"
    assert result.cost_usd == 0.001


def test_registered_scripted_models_are_resolved_by_name(replies_module):
    register_scripted("scope-teller", replies_module)
    try:
        assert complete("scripted:scope-teller").message["content"] == "evaluation fizzbuzz"
    finally:
        del SCRIPTED_MODELS["scope-teller"]


def test_unknown_scripted_name_lists_the_choices():
    with pytest.raises(ValueError, match="demo, echo, finisher"):
        get_backend("scripted:nope")


def test_model_without_provider_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="openai/gpt-5-mini"):
        get_backend("gpt-nothing")


def test_yaml_replies_are_consumed_per_scope_and_run_out_clearly(tmp_path):
    backend = get_backend(
        script(tmp_path, "cost_usd: 0.01\nreplies: [{content: one}, {content: two, cost_usd: 0.5}]")
    )
    ask = ChatRequest(model="m", messages=USER)
    assert backend.complete(ask, EVAL).message["content"] == "one"
    assert backend.complete(ask, EXPAND).message["content"] == "one"
    second = backend.complete(ask, EVAL)
    assert (second.message["content"], second.cost_usd) == ("two", 0.5)
    with pytest.raises(ModelError, match="no reply left"):
        backend.complete(ask, EVAL)


def test_yaml_rules_match_the_last_message_and_scope_kind(tmp_path):
    spec = script(
        tmp_path,
        """
replies: {diagnosis: [{content: diagnosed}], default: [{content: plain}]}
when:
  - contains: [Traceback, Error]
    kind: evaluation
    reply: {content: fix it}
""",
    )
    backend = get_backend(spec)
    crash = [{"role": "tool", "tool_call_id": "1", "content": "Traceback (most recent call last)"}]
    assert backend.complete(ChatRequest("m", crash), EVAL).message["content"] == "fix it"
    assert backend.complete(ChatRequest("m", crash), EXPAND).message["content"] == "plain"
    assert (
        backend.complete(ChatRequest("m", USER), Scope("diagnosis")).message["content"]
        == "diagnosed"
    )


def test_yaml_script_with_a_typo_is_refused_naming_the_file(tmp_path):
    with pytest.raises(ValueError, match="script.yaml"):
        get_backend(script(tmp_path, "- contnet: hi"))
