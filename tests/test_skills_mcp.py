"""`hgm skills serve`: the MCP server started as a real subprocess and driven by the `mcp` SDK's
own client over stdio and streamable HTTP; every call runs in the local sandbox."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from skill_export_fixtures import agent_tree, make_run

from hgm.sandbox import get_sandbox
from hgm.skills.export.sandboxed import CallLimits, call_skill
from hgm.skills.format import find_skills

HGM = str(Path(sys.executable).with_name("hgm"))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("mcp"), extra=("path-probe",))


@pytest.fixture(scope="module")
def sandbox():
    box = get_sandbox("local")
    yield box
    box.close()


def _skill(tmp_path, name):
    (skill,) = [s for s in find_skills(agent_tree(tmp_path / "agent", (name,)))[0] if s.name == name]
    return skill


# -- one call in the sandbox ------------------------------------------------------------------
def test_a_call_runs_in_the_sandbox_and_answers_json(tmp_path, sandbox):
    skill = _skill(tmp_path, "word-stats")
    answer = call_skill(sandbox, skill, "count_words", {"text": "b a B"})
    assert answer.ok and answer.result == {"b": 2, "a": 1}
    assert "counting words" in answer.log  # what the skill printed went to the log, not the answer


def test_a_failing_call_reports_the_exception(tmp_path, sandbox):
    skill = _skill(tmp_path, "shape-tools")
    answer = call_skill(sandbox, skill, "scale", {"points": [["x"]], "factor": 2.5})
    assert not answer.ok and answer.error.startswith("TypeError")


def test_a_call_past_its_time_limit_is_stopped(tmp_path, sandbox):
    skill = _skill(tmp_path, "word-stats")
    module = skill.folder / "word_stats.py"
    module.write_text(module.read_text() + "\n\ndef spin(n: int) -> int:\n    while True:\n        n += 1\n")
    answer = call_skill(sandbox, skill, "spin", {"n": 0}, limits=CallLimits(time_limit_s=2))
    assert not answer.ok and "time limit" in answer.error


def test_a_call_works_in_the_workspace_it_is_given(tmp_path, sandbox):
    skill = _skill(tmp_path, "path-probe")
    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / "data.txt").write_text("x")
    assert call_skill(sandbox, skill, "path_exists", {"path": "data.txt"}, workspace=workspace).result is True
    assert call_skill(sandbox, skill, "path_exists", {"path": "data.txt"}).result is False  # a scratch folder


@pytest.mark.skipif(not get_sandbox("local").isolated, reason="needs bubblewrap (apt install bubblewrap)")
def test_skill_code_cannot_see_the_host_files(tmp_path, sandbox):
    skill = _skill(tmp_path, "path-probe")
    secret = tmp_path / "host-only.txt"
    secret.write_text("x")
    assert call_skill(sandbox, skill, "path_exists", {"path": str(secret)}).result is False
    assert call_skill(sandbox, skill, "path_exists", {"path": os.environ["HOME"] + "/.bashrc"}).result is False


def test_search_ranks_lexically_without_an_embedding_model(tmp_path):
    from hgm.skills.export.search import SkillSearch, search_embedder

    skills, _ = find_skills(agent_tree(tmp_path / "agent", ("word-stats", "shape-tools")))
    assert search_embedder("none", {}) is None and search_embedder(None, {"embedding_model": "none"}) is None
    search = SkillSearch(skills, None)
    hits = search.search("scale the points", 5)
    assert search.mode == "lexical" and hits[0].name == "shape-tools"
    assert hits[0].tools == ("shape-tools__scale", "shape-tools__label", "shape-tools__describe")
    with pytest.raises(ValueError, match="unknown embedding model"):
        search_embedder("nonsense", {})


@pytest.mark.slow
def test_a_call_runs_in_the_docker_sandbox_too(tmp_path):
    from hgm.sandbox import image as image_module

    problem = image_module.engine_problem()
    if problem and os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the docker tests, but: {problem}")
    if problem:
        pytest.skip(problem)
    box = get_sandbox("docker")
    try:
        skill = _skill(tmp_path, "path-probe")
        assert call_skill(box, skill, "path_exists", {"path": str(tmp_path)}).result is False
        assert call_skill(box, skill, "path_exists", {"path": "/skill/path_probe.py"}).result is True
    finally:
        box.close()


# -- the server over stdio and HTTP -------------------------------------------------------------
async def _exercise(client) -> dict:
    import mcp_types as types

    tools = {t.name: t for t in (await client.list_tools()).tools}
    resources = (await client.list_resources()).resources
    md = await client.read_resource("skill://word-stats/SKILL.md")
    top = await client.call_tool("word-stats__top_words", {"text": "x y y z z z", "k": 2})
    label = await client.call_tool("shape-tools__label", {"kind": "circle", "sizes": {"b": 2, "a": 1}})
    bad = await client.call_tool("shape-tools__label", {"kind": "hexagon", "sizes": {}})
    probe = await client.call_tool("path-probe__path_exists", {"path": str(Path(__file__).resolve())})
    found = await client.call_tool("search_skills", {"query": "most frequent words in a text", "k": 2})
    unknown = await client.call_tool("no-such__tool", {})
    assert isinstance(top.content[0], types.TextContent)
    return {
        "tools": tools,
        "resources": sorted(str(r.uri) for r in resources),
        "md": md.contents[0].text,
        "top": (top.is_error, json.loads(top.content[0].text), top.structured_content),
        "label": json.loads(label.content[0].text),
        "bad": (bad.is_error, bad.content[0].text),
        "probe": json.loads(probe.content[0].text),
        "found": json.loads(found.content[0].text),
        "unknown": (unknown.is_error, unknown.content[0].text),
    }


def _check(seen: dict) -> None:
    tools = seen["tools"]
    assert set(tools) == {"word-stats__count_words", "word-stats__top_words", "shape-tools__scale",
                          "shape-tools__label", "shape-tools__describe", "path-probe__path_exists", "search_skills"}  # fmt: skip
    schema = tools["word-stats__top_words"].input_schema
    assert schema["required"] == ["text"] and schema["properties"]["exclude"]["default"] is None
    assert seen["resources"] == ["skill://path-probe/SKILL.md", "skill://shape-tools/SKILL.md", "skill://word-stats/SKILL.md"]
    assert seen["md"].startswith("---\nname: word-stats\n")
    assert seen["top"] == (False, ["z", "y"], {"result": ["z", "y"]})
    assert seen["label"] == "circle: a=1, b=2"
    assert seen["bad"][0] is True and "invalid arguments" in seen["bad"][1]
    if get_sandbox("local").isolated:
        assert seen["probe"] is False  # the server's own files are not visible to skill code
    assert seen["found"]["mode"] == "embedding"  # the run's embedding model (scripted here)
    assert seen["found"]["skills"][0]["name"] == "word-stats"
    assert "word-stats__top_words" in seen["found"]["skills"][0]["tools"]
    assert seen["unknown"] == (True, "unknown tool 'no-such__tool'")


@pytest.mark.slow
def test_stdio_server_from_the_exported_config_lists_reads_and_calls_through_the_sdk_client(run_dir, tmp_path):
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    from hgm.skills.export import export

    config = export("mcp", [], tmp_path / "config", run_dir=run_dir, node=1, sandbox="local").out / "mcp.json"
    server = json.loads(config.read_text())["mcpServers"]["hgm-skills"]
    params = StdioServerParameters(command=server["command"], args=server["args"], env=dict(os.environ))

    async def main():
        async with Client(params) as client:
            return await _exercise(client)

    _check(anyio.run(main))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_http_server_lists_reads_and_calls_through_the_sdk_client(run_dir, tmp_path):
    from mcp import Client

    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([HGM, "skills", "serve", str(run_dir), "--node", "1", "--sandbox", "local",
                             "--transport", "http", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the server did not listen"
            time.sleep(0.2)

        async def main():
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                return await _exercise(client)

        _check(anyio.run(main))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
