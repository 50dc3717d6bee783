"""The litellm backend against a real OpenAI-compatible endpoint: a scripted gateway on TCP.

litellm's own OpenAI code path runs for real, offline: the "provider" is a second gateway.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hgm.gateway import (
    ChatRequest,
    Gateway,
    LLMCall,
    ModelError,
    Scope,
    TransientModelError,
    get_backend,
)
from hgm.gateway.scripted import CallableModel

pytestmark = [
    # find_spec, not import: the backend sets litellm up (offline price table) before importing it.
    pytest.mark.skipif(
        importlib.util.find_spec("litellm") is None,
        reason="needs litellm: pip install 'hgm[litellm]'",
    ),
    pytest.mark.slow,  # importing litellm takes several seconds
    pytest.mark.filterwarnings("ignore:Item .* is using the `ReadOnly` qualifier:UserWarning"),
]

EVAL = Scope("evaluation", node=5, ref="eval-1", task="t1")
USER = [{"role": "user", "content": "ping"}]
BASH_TOOL = {
    "type": "function",
    "function": {
        "name": "bash",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}},
    },
}


def provider_reply(request: ChatRequest, scope: Scope) -> dict:
    """The upstream model: a tool call (malformed on request) or an echo of the last message."""
    last = request.messages[-1].get("content") or ""
    if last == "use a tool":
        return {"tool_calls": [{"name": "bash", "arguments": {"command": "ls"}}]}
    if last == "break the arguments":
        return {"tool_calls": [{"name": "bash", "arguments": '{"command": "ls'}]}
    if last == "fail for a while":
        raise TransientModelError("overloaded")
    return {"content": f"echo: {last}"}


class Calls(list):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def __call__(self, call: LLMCall) -> None:
        with self.lock:
            self.append(call)


@pytest.fixture(scope="module")
def provider(tmp_path_factory) -> Iterator[Gateway]:
    """A scripted gateway on 127.0.0.1 standing in for an OpenAI-compatible provider."""
    sock = tmp_path_factory.mktemp("provider") / "p.sock"
    gw = Gateway(
        CallableModel(provider_reply, "scripted-provider"),
        socket_path=sock,
        recorder=Calls(),
        tcp_port=0,
        retries=0,
    )
    with gw:
        yield gw


def backend_for(provider: Gateway, key: str | None = None):
    key = key or provider.issue_token(Scope("other"))
    return get_backend(
        f"openai/scripted-echo?api_base={provider.base_url}&api_key={key}&timeout=30"
    )


def ask(backend, text: str, tools=None):
    return backend.complete(
        ChatRequest(model="m", messages=[{"role": "user", "content": text}], tools=tools), EVAL
    )


def test_litellm_backend_gets_a_reply_from_an_openai_compatible_endpoint(provider):
    result = ask(backend_for(provider), "ping")
    assert result.message == {"role": "assistant", "content": "echo: ping"}
    assert result.finish_reason == "stop"
    assert result.prompt_tokens > 0 and result.completion_tokens > 0


def test_litellm_backend_passes_tool_calls_through(provider):
    result = ask(backend_for(provider), "use a tool", tools=[BASH_TOOL])
    call = result.message["tool_calls"][0]
    assert call["function"]["name"] == "bash"
    assert json.loads(call["function"]["arguments"]) == {"command": "ls"}
    assert result.finish_reason == "tool_calls"


def test_litellm_backend_keeps_malformed_tool_arguments_intact(provider):
    result = ask(backend_for(provider), "break the arguments", tools=[BASH_TOOL])
    assert result.message["tool_calls"][0]["function"]["arguments"] == '{"command": "ls'


def test_unknown_price_counts_as_zero_dollars(provider):
    assert ask(backend_for(provider), "ping").cost_usd == 0.0


def test_rejected_key_is_a_permanent_error(provider):
    with pytest.raises(ModelError, match=r"refused the API key \(401\)") as caught:
        ask(backend_for(provider, key="hgm-wrong"), "ping")
    assert not isinstance(caught.value, TransientModelError)


def test_provider_overload_is_a_transient_error(provider):
    with pytest.raises(TransientModelError):
        ask(backend_for(provider), "fail for a while")


def test_provider_out_of_budget_is_a_permanent_error(tmp_path):
    broke = Gateway(
        CallableModel(provider_reply, "p"),
        socket_path=tmp_path / "b.sock",
        recorder=Calls(),
        tcp_port=0,
        max_usd=0.0,
    )
    with broke, pytest.raises(ModelError, match="provider answered 402: .*budget"):
        ask(backend_for(broke), "ping")


def test_unreachable_provider_is_a_transient_error():
    backend = get_backend("openai/x?api_base=http://127.0.0.1:9/v1&api_key=k&timeout=5")
    with pytest.raises(TransientModelError):
        ask(backend, "ping")


def test_sandbox_to_gateway_to_litellm_to_provider_end_to_end(provider, tmp_path: Path):
    calls = Calls()
    outer = Gateway(backend_for(provider), socket_path=tmp_path / "o.sock", recorder=calls)
    with outer:
        token = outer.issue_token(EVAL)
        transport = httpx.HTTPTransport(uds=str(outer.socket_path), verify=False)
        with httpx.Client(transport=transport, base_url="http://gateway", timeout=60) as client:
            response = client.post(
                "/v1/chat/completions",
                json={
                    "model": "agent",
                    "messages": [{"role": "user", "content": "use a tool"}],
                    "tools": [BASH_TOOL],
                },
                headers={"Authorization": f"Bearer {token}"},
            )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "bash"
    assert len(calls) == 1 and calls[0].scope == EVAL and calls[0].error is None


def test_spec_parameters_go_to_litellm_with_keys_kept_as_text():
    backend = get_backend(
        "openai/m?api_base=http://127.0.0.1:1/v1&api_key=123&timeout=7&temperature=0.5"
    )
    assert backend.timeout_s == 7.0
    assert backend.params == {
        "api_base": "http://127.0.0.1:1/v1",
        "api_key": "123",
        "temperature": 0.5,
    }


def priced_backend_for(provider: Gateway, price: str):
    key = provider.issue_token(Scope("other"))
    return get_backend(f"openai/scripted-echo?api_base={provider.base_url}&api_key={key}&{price}")


@pytest.mark.parametrize(
    "price",
    [
        "input_cost_per_1m=1.5&output_cost_per_1m=6",
        "input_cost_per_token=0.0000015&output_cost_per_token=0.000006",
    ],
)
def test_a_price_in_the_model_string_charges_tokens_times_price(provider, price):
    backend = priced_backend_for(provider, price)
    assert "input_cost_per_token" not in backend.params  # hgm's to use, not litellm's to ignore
    result = ask(backend, "ping")
    expected = result.prompt_tokens * 1.5e-6 + result.completion_tokens * 6e-6
    assert result.cost_usd == pytest.approx(expected) and result.cost_usd > 0


def test_half_a_price_is_refused():
    with pytest.raises(ValueError, match="give both prices"):
        get_backend("openai/m?api_base=http://127.0.0.1:1/v1&input_cost_per_1m=1")


def test_worst_case_cost_covers_max_tokens_and_an_over_estimated_prompt():
    backend = get_backend("openai/m?api_base=http://127.0.0.1:1/v1&input_cost_per_1m=1&output_cost_per_1m=2")
    request = ChatRequest(model="m", messages=[{"role": "user", "content": "x" * 4000}], max_tokens=100)
    worst = backend.max_cost_usd(request)
    # >= 4000 characters at 2 a token = 2000 prompt tokens at $1/M, plus 100 reply tokens at $2/M
    assert worst is not None and worst >= 2000 * 1e-6 + 100 * 2e-6
    capless = backend.max_cost_usd(dataclasses.replace(request, max_tokens=None))
    assert capless is not None and capless > worst  # the default reply cap is larger than 100


def test_worst_case_cost_is_unknown_without_a_price():
    backend = get_backend("openai/no-such-model-in-the-table?api_base=http://127.0.0.1:1/v1")
    assert backend.known_price() is None
    assert backend.max_cost_usd(ChatRequest(model="m", messages=USER)) is None
