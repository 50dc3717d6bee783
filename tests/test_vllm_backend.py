"""The managed vLLM server (``vllm:``), against a real stand-in executable named ``vllm`` first
on PATH (tests/fixtures/fake_vllm.py): it takes vllm's command line, serves the OpenAI API on
the port it is given, and can refuse to start or crash mid-call."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hgm.gateway import ChatRequest, ModelError, Scope, get_backend
from hgm.gateway.vllm_backend import VLLMServerError

HGM = str(Path(sys.executable).parent / "hgm")
FAKE = Path(__file__).parent / "fixtures" / "fake_vllm.py"
SCOPE = Scope("other")
MODEL = "vllm:org/tiny?tool_parser=llama3_json&tp=2&input_cost_per_1m=1&output_cost_per_1m=1&startup_timeout=60"


@pytest.fixture
def fake_vllm(tmp_path, monkeypatch) -> Path:
    """``vllm`` on PATH is the stand-in; returns the file where it records each start."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "vllm"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE} \"$@\"\n")
    exe.chmod(0o755)
    record = tmp_path / "starts.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_VLLM_RECORD", str(record))
    return record


def _starts(record: Path) -> list[dict]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def _request(text: str = "hello") -> ChatRequest:
    return ChatRequest(model="x", messages=[{"role": "user", "content": text}])


def test_the_server_starts_with_tool_calling_flags_answers_and_stops(fake_vllm, tmp_path):
    backend = get_backend(MODEL)
    backend.start(log_path=tmp_path / "server.log")
    try:
        result = backend.complete(_request(), SCOPE)
        assert result.message["content"].startswith("Change nothing")
        assert (result.prompt_tokens, result.completion_tokens) == (100, 10)
        assert result.cost_usd == pytest.approx(110e-6)
    finally:
        backend.close()
    (start,) = _starts(fake_vllm)
    argv = start["argv"]
    assert argv[:2] == ["serve", "org/tiny"] and "--enable-auto-tool-choice" in argv
    assert argv[argv.index("--tool-call-parser") + 1] == "llama3_json"
    assert argv[argv.index("--tensor-parallel-size") + 1] == "2"
    assert not _alive(start["pid"])


def test_a_server_that_will_not_start_fails_with_its_last_log_lines(fake_vllm, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_VLLM_FAIL_START", "CUDA out of memory while loading org/tiny")
    backend = get_backend(MODEL)
    with pytest.raises(VLLMServerError, match="exited with code 1 before it was ready") as caught:
        backend.start(log_path=tmp_path / "server.log")
    assert "CUDA out of memory while loading org/tiny" in str(caught.value)


def test_a_crash_mid_call_is_an_infrastructure_error_and_the_server_comes_back(fake_vllm, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_VLLM_CRASH_AT", "2")
    backend = get_backend(MODEL)
    backend.start(log_path=tmp_path / "server.log")
    try:
        backend.complete(_request(), SCOPE)
        with pytest.raises(ModelError, match="died during the call") as caught:
            backend.complete(_request(), SCOPE)
        assert "illegal memory access" in str(caught.value)  # the log's last lines say why
        assert backend.restarts == 1
        assert backend.complete(_request(), SCOPE).completion_tokens == 10
    finally:
        backend.close()
    first, second = _starts(fake_vllm)
    assert not _alive(first["pid"]) and not _alive(second["pid"])


def test_vllm_without_the_executable_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("HGM_VLLM", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'hgm\[vllm\]'"):
        get_backend("vllm:org/tiny")


def _run(tmp_path: Path, *extra: str, **popen) -> list[str]:
    return [HGM, "run", "--model", MODEL, "--benchmark", "builtin?sample=2", "--sandbox", "local",
            "--workers", "1", "--out", str(tmp_path / "run"), *extra]  # fmt: skip


@pytest.mark.slow
def test_a_run_survives_a_server_crash_and_leaves_no_server_behind(fake_vllm, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_VLLM_CRASH_AT", "3")  # the preflight call is the first
    proc = subprocess.run(_run(tmp_path, "--max-evals", "2"), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with sqlite3.connect(f"file:{tmp_path / 'run' / 'hgm.db'}?mode=ro", uri=True) as db:
        errors = [e for (e,) in db.execute("select error from llm_calls where error is not null")]
        judged = db.execute("select outcome, reason from evaluations order by id").fetchall()
    assert len(errors) == 1 and "died during the call" in errors[0]
    # The evaluation in flight is an infrastructure error, never the agent's fail; it is redone.
    crashed = [(o, r) for o, r in judged if "died during the call" in (r or "")]
    assert [o for o, _ in crashed] == ["error"]
    assert sum(o != "error" for o, _ in judged) == 2
    starts = _starts(fake_vllm)
    assert len(starts) == 2 and not any(_alive(s["pid"]) for s in starts)
    assert "org/tiny" in (tmp_path / "run" / "logs" / "model-server.log").read_text()


@pytest.mark.slow
def test_sigterm_stops_the_run_and_its_server(fake_vllm, tmp_path):
    driver = subprocess.Popen(_run(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)  # fmt: skip
    db = tmp_path / "run" / "hgm.db"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and driver.poll() is None:
        if db.exists() and _count(db, "select count(*) from llm_calls where scope_kind != 'other'"):
            break
        time.sleep(0.2)
    assert driver.poll() is None, driver.stdout.read()
    (start,) = _starts(fake_vllm)
    assert _alive(start["pid"])
    driver.send_signal(signal.SIGTERM)
    output, _ = driver.communicate(timeout=60)
    assert driver.returncode == 130, output
    assert not _alive(start["pid"])
    assert _count(db, "select count(*) from events where kind = 'stopped'") == 1


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # not made yet
        return 0


@pytest.mark.gpu
def test_the_real_vllm_serves_a_small_model_through_a_run(tmp_path):
    """`make test-gpu` on a GPU machine with vllm installed and a small chat model on disk."""
    model = os.environ.get("HGM_TEST_VLLM_MODEL")
    assert model and Path(model).is_dir(), "set HGM_TEST_VLLM_MODEL to a small chat model's folder"
    spec = f"vllm:{model}?tool_parser=hermes&max_model_len=8192&gpu_memory_utilization=0.5"
    proc = subprocess.run(
        [HGM, "run", "--model", spec, "--allow-free", "--benchmark", "builtin?sample=2",
         "--sandbox", "local", "--max-evals", "2", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _count(tmp_path / "run" / "hgm.db", "select count(*) from llm_calls where error is null") >= 2


def test_device_time_is_shared_by_the_calls_in_flight():
    from hgm.gateway.vllm_backend import DeviceTime

    now = [0.0]
    shared = DeviceTime(clock=lambda: now[0])
    a = shared.enter()  # t=0: A alone
    now[0] = 1.0
    b = shared.enter()  # t=1: A and B
    now[0] = 3.0
    seconds_a = shared.leave(a)  # A: 1 alone + 2 shared by two
    now[0] = 4.0
    seconds_b = shared.leave(b)  # B: 2 shared by two + 1 alone
    assert (seconds_a, seconds_b) == (2.0, 2.0)
    now[0] = 10.0  # idle time is nobody's
    c = shared.enter()
    now[0] = 10.5
    assert shared.leave(c) == 0.5


def test_a_call_priced_by_gpu_hour_pays_its_device_time(fake_vllm, tmp_path):
    backend = get_backend("vllm:org/tiny?usd_per_gpu_hour=3600&timeout=60")
    request = _request()
    assert backend.max_cost_usd(request) == pytest.approx(60.0)
    backend.start(log_path=tmp_path / "server.log")
    try:
        result = backend.complete(request, SCOPE)
    finally:
        backend.close()
    assert (result.prompt_tokens, result.completion_tokens) == (100, 10)  # tokens still recorded
    assert 0 < result.cost_usd < 60.0  # seconds of device time at $1 a second


def test_a_run_whose_server_will_not_start_exits_1_before_spending(fake_vllm, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_VLLM_FAIL_START", "no CUDA device found")
    proc = subprocess.run(_run(tmp_path, "--max-evals", "2"), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "preflight" in proc.stderr and "no CUDA device found" in proc.stderr
    assert _count(tmp_path / "run" / "hgm.db", "select count(*) from llm_calls") == 0
