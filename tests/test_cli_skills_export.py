"""`hgm skills export` on a real run: which node, every format, and bad input (one line, exit 1 or 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from skill_export_fixtures import make_run

HGM = str(Path(sys.executable).with_name("hgm"))


def _hgm(*args) -> subprocess.CompletedProcess:
    """In-process (fast); the first test runs the real console script."""
    from typer.testing import CliRunner

    from hgm.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def _hgm_process(*args) -> subprocess.CompletedProcess:
    return subprocess.run([HGM, *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("export"))


@pytest.mark.slow
def test_export_takes_the_best_node_by_default(run_dir, tmp_path):
    proc = _hgm_process("skills", "export", run_dir, "--format", "agent-skills", "--out", tmp_path / "a", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    best = json.loads(_hgm("best", run_dir, "--json").stdout)["node"]
    assert data["node"] == best == 1
    assert data["skills"] == ["shape-tools", "word-stats"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["shape-tools", "word-stats"]
    again = _hgm("skills", "export", run_dir, "--best", "--format", "agent-skills", "--out", tmp_path / "b", "--json")
    assert json.loads(again.stdout)["node"] == 1


def test_export_of_a_named_node_has_that_nodes_skills(run_dir, tmp_path):
    proc = _hgm("skills", "export", run_dir, "--node", "0", "--format", "openai", "--out", tmp_path / "o")
    assert proc.returncode == 0, proc.stderr
    assert "exported 1 skills of node 0 (openai)" in proc.stdout
    tools = json.loads((tmp_path / "o" / "tools.chat.json").read_text())
    assert [t["function"]["name"] for t in tools] == ["word-stats__count_words", "word-stats__top_words"]


def test_mcp_export_writes_a_client_config_that_serves_the_node(run_dir, tmp_path):
    proc = _hgm("skills", "export", run_dir, "--node", "1", "--format", "mcp", "--out", tmp_path / "m", "--sandbox", "local")
    assert proc.returncode == 0, proc.stderr
    config = json.loads((tmp_path / "m" / "mcp.json").read_text())
    server = config["mcpServers"]["hgm-skills"]
    assert server["args"] == ["skills", "serve", str(run_dir.resolve()), "--node", "1", "--sandbox", "local"]
    assert Path(server["command"]).name == "hgm"
    assert "claude mcp add hgm-skills --" in (tmp_path / "m" / "README.md").read_text()


def test_python_export_from_the_cli_names_the_package(run_dir, tmp_path):
    proc = _hgm("skills", "export", run_dir, "--format", "python", "--package", "my_tools", "--out", tmp_path / "p")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "p" / "src" / "my_tools" / "word_stats.py").is_file()
    assert 'name = "my-tools"' in (tmp_path / "p" / "pyproject.toml").read_text()


def test_a_run_without_skills_is_refused_in_one_line(tmp_path):
    empty = make_run(tmp_path / "r", skills=False)
    proc = _hgm("skills", "export", empty, "--format", "agent-skills", "--out", tmp_path / "x")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"error: node 1 of {empty} has no valid skills in skills/; nothing to export"]
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
    served = _hgm("skills", "serve", empty, "--node", "0", "--sandbox", "local")
    assert served.returncode == 1 and "has no valid skills" in served.stderr
    assert _hgm("check", empty).returncode == 0  # nothing in the run was touched


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--node", "7"], 1, "has no node 7"),
        (["--node", "1", "--best"], 1, "give --node N or --best, not both"),
    ],
)
def test_bad_node_choices_are_one_line(run_dir, tmp_path, args, code, message):
    proc = _hgm("skills", "export", run_dir, *args, "--format", "openai", "--out", tmp_path / "o")
    assert proc.returncode == code
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr


def test_no_such_run_and_a_full_out_folder(run_dir, tmp_path):
    proc = _hgm("skills", "export", tmp_path / "nope", "--format", "openai", "--out", tmp_path / "o")
    assert proc.returncode == 1 and "is not an hgm run" in proc.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep")
    proc = _hgm("skills", "export", run_dir, "--format", "openai", "--out", tmp_path / "full")
    assert proc.returncode == 2 and "not an empty folder" in proc.stderr
    assert (tmp_path / "full" / "x").read_text() == "keep"
    proc = _hgm("skills", "export", run_dir, "--format", "mcp", "--sandbox", "vm", "--out", tmp_path / "m")
    assert proc.returncode == 2 and "unknown sandbox 'vm'" in proc.stderr


def test_best_is_refused_when_no_node_qualifies(tmp_path):
    from hgm.archive import Run

    run_dir = make_run(tmp_path / "r")
    with Run.open(run_dir) as run:
        run.update_config({**run.config, "final_min_evals": 50})
    proc = _hgm("skills", "export", run_dir, "--format", "openai", "--out", tmp_path / "o")
    assert proc.returncode == 1 and "or name a node with --node N" in proc.stderr
    proc = _hgm("skills", "export", run_dir, "--min-evals", "2", "--format", "openai", "--out", tmp_path / "o", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["node"] == 1
