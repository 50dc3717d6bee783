"""The ``hf:`` backend: a real (tiny, random-weight) transformers model behind the gateway.

The model is built by the test (hgm.testing_models): a one-layer Llama with random weights and
a byte-level BPE tokenizer trained with ``tokenizers`` on a few lines, with a chat template
that renders tools. Nothing
of the model or the backend is patched; the replies are random text, which is what the run
must survive.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hgm.gateway import ChatRequest, ModelError, Scope, get_backend
from hgm.gateway.toolcalls import parse_tool_calls

torch = pytest.importorskip("torch", reason="make setup installs torch (CPU build)")
transformers = pytest.importorskip("transformers", reason="make setup installs transformers")

HGM = str(Path(sys.executable).parent / "hgm")
SCOPE = Scope("other")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from hgm.testing_models import build_tiny_chat_model

    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-llama"))


def _request(text: str, **kw) -> ChatRequest:
    return ChatRequest(model="ignored", messages=[{"role": "user", "content": text}], **kw)


# --- tool calls in real output strings ------------------------------------------------------


def test_hermes_tool_calls_become_openai_tool_calls_and_the_text_stays():
    reply = parse_tool_calls(
        'Let me look.\n<tool_call>{"name": "bash", "arguments": {"command": "ls -la"}}</tool_call>\n'
        '<tool_call>{"name": "view", "arguments": {"path": "a.py"}}</tool_call>'
    )
    assert reply.content == "Let me look." and reply.error is None
    assert [c["function"]["name"] for c in reply.tool_calls] == ["bash", "view"]
    assert json.loads(reply.tool_calls[0]["function"]["arguments"]) == {"command": "ls -la"}
    assert all(c["type"] == "function" and c["id"].startswith("call_") for c in reply.tool_calls)


def test_llama3_json_tool_calls_with_and_without_the_python_tag():
    plain = parse_tool_calls('{"name": "view", "parameters": {"path": "x; y.py"}}')
    assert json.loads(plain.tool_calls[0]["function"]["arguments"]) == {"path": "x; y.py"}
    tagged = parse_tool_calls(
        '<|python_tag|>{"name": "bash", "parameters": {"command": "echo \\"a;b\\""}}; '
        '{"name": "finish", "parameters": {"summary": "done"}}'
    )
    assert [c["function"]["name"] for c in tagged.tool_calls] == ["bash", "finish"]
    assert json.loads(tagged.tool_calls[0]["function"]["arguments"]) == {"command": 'echo "a;b"'}


def test_mistral_tool_calls():
    reply = parse_tool_calls('[TOOL_CALLS] [{"name": "create_file", "arguments": {"path": "a", "content": "b"}}]')
    assert reply.tool_calls[0]["function"]["name"] == "create_file" and reply.content == ""


def test_a_json_answer_without_a_name_is_text_not_a_call():
    reply = parse_tool_calls('{"answer": 42}')
    assert reply.tool_calls == [] and reply.content == '{"answer": 42}' and reply.error is None


@pytest.mark.parametrize(
    "text, why",
    [
        ('<tool_call>{"name": "bash", "arguments": {"command": </tool_call>', "not JSON"),
        ('<tool_call>{"arguments": {}}</tool_call>', "no name"),
        ('<tool_call>{"name": "bash", "arguments": [1, 2]}</tool_call>', "must be an object"),
        ('[TOOL_CALLS] [{"name": "bash", "arguments": "{not json"}]', "are not JSON"),
        ("<|python_tag|>{'name': 'bash'}", "not JSON"),
        ("[TOOL_CALLS] []", "empty list"),
    ],
    ids=["cut-json", "no-name", "list-args", "string-args", "python-tag-bad", "empty"],
)
def test_a_malformed_tool_call_comes_back_as_text_with_a_clear_error(text, why):
    reply = parse_tool_calls(text)
    assert reply.tool_calls == [] and reply.content == text
    assert reply.error and why in reply.error


# --- the backend on a real tiny model ---------------------------------------------------------


def test_tokens_are_counted_with_the_tokenizer_and_priced_per_million(tiny_model):
    backend = get_backend(f"hf:{tiny_model}?input_cost_per_1m=1000000&output_cost_per_1m=2000000")
    request = _request("Fix the failing test.", max_tokens=12, temperature=0)
    result = backend.complete(request, SCOPE)
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model)
    prompt = tokenizer.apply_chat_template(request.messages, add_generation_prompt=True, tokenize=False)
    assert result.prompt_tokens == len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert 1 <= result.completion_tokens <= 12
    assert result.cost_usd == pytest.approx(result.prompt_tokens * 1 + result.completion_tokens * 2)
    assert result.finish_reason in {"stop", "length"} and result.model == f"hf:{tiny_model}"
    assert result.cost_usd <= backend.max_cost_usd(request)


def test_concurrent_calls_share_batches_of_one_model(tiny_model):
    backend = get_backend(f"hf:{tiny_model}?max_batch=4&batch_wait_ms=2000&max_new_tokens=8")
    results, barrier = [], threading.Barrier(4)

    def call(i: int) -> None:
        barrier.wait()
        results.append(backend.complete(_request(f"task {i}", temperature=0), SCOPE))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 4 and all(r.completion_tokens <= 8 for r in results)
    assert backend.batches < 4  # at least two calls went through one generate()


def test_gpu_hour_pricing_charges_time_and_reserves_the_call_limit(tiny_model):
    backend = get_backend(f"hf:{tiny_model}?usd_per_gpu_hour=3600&max_new_tokens=4&timeout=60")
    request = _request("hello", temperature=0)
    result = backend.complete(request, SCOPE)
    assert 0 < result.cost_usd <= backend.max_cost_usd(request) == pytest.approx(60.0)


def test_a_stop_string_cuts_the_reply(tiny_model):
    backend = get_backend(f"hf:{tiny_model}?max_new_tokens=40")
    free = backend.complete(_request("go", temperature=0), SCOPE)
    text = free.message["content"]
    if len(text) < 3:
        pytest.skip("the random model ended at once; nothing to cut")
    stop = text[1:3]
    cut = backend.complete(_request("go", temperature=0, extra={"stop": [stop]}), SCOPE)
    assert stop not in cut.message["content"] and text.startswith(cut.message["content"])
    assert cut.completion_tokens <= free.completion_tokens


def test_bad_specs_and_folders_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="does not know the parameter"):
        get_backend(f"hf:{tmp_path}?temprature=1")
    with pytest.raises(ValueError, match="not both"):
        get_backend(f"hf:{tmp_path}?usd_per_gpu_hour=1&input_cost_per_1m=1&output_cost_per_1m=1")
    with pytest.raises(ModelError, match="cannot load"):
        get_backend(f"hf:{tmp_path}")


# --- a whole run --------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_real_run_with_the_tiny_model_completes_and_records_tokens_and_cost(tiny_model, tmp_path):
    config = tmp_path / "run.yaml"
    # Random text never changes the agent: two fruitless expansions are enough to show the run
    # records them and stops on them (exit 3), after evaluating node 0 on both tasks.
    config.write_text("agent_max_steps: 2\nfinal_min_evals: 1\nmax_unproductive_expansions: 2\n")
    model = f"hf:{tiny_model}?max_new_tokens=16&input_cost_per_1m=1&output_cost_per_1m=2"
    proc = subprocess.run(
        [HGM, "run", "--config", str(config), "--model", model, "--benchmark", "builtin?sample=2",
         "--sandbox", "local", "--workers", "2", "--max-evals", "4", "--max-usd", "5", "--out", "run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stdout + proc.stderr  # README "Exit codes": stopped on errors
    assert "2 expansions in a row produced no valid child" in proc.stdout
    with sqlite3.connect(f"file:{tmp_path / 'run' / 'hgm.db'}?mode=ro", uri=True) as db:
        calls = db.execute(
            "select prompt_tokens, completion_tokens, cost_usd, error from llm_calls"
        ).fetchall()
        outcomes = [o for (o,) in db.execute("select outcome from evaluations")]
        scopes = {k for (k,) in db.execute("select scope_kind from llm_calls")}
        failed = db.execute("select count(*) from expansions where status = 'failed'").fetchone()[0]
    assert scopes >= {"evaluation", "expansion", "diagnosis"} and failed == 2
    answered = [c for c in calls if c[3] is None]
    assert answered and all(p > 0 and c >= 1 for p, c, _, _ in answered)
    for prompt, completion, cost, _ in answered:
        assert cost == pytest.approx(prompt * 1e-6 + completion * 2e-6)
    assert len(outcomes) == 2 and set(outcomes) <= {"pass", "fail"}  # random text; nothing broke
    check = subprocess.run([HGM, "check", "run"], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    status = json.loads(subprocess.run([HGM, "status", "run", "--json"], cwd=tmp_path,
                                       capture_output=True, text=True).stdout)  # fmt: skip
    assert status["pricing"] == "$1 in / $2 out per million tokens (model string)"
