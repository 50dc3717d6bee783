"""`hgm run` as a user types it: the installed command, started from some other folder, with
relative paths, and with every kind of bad input answered by one line and its exit code."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

HGM = str(Path(sys.executable).parent / "hgm")
TASKS = "builtin?ids=paginate-page-count,csv-quoted-fields"
RUN = ["--model", "scripted:demo", "--benchmark", TASKS, "--sandbox", "local", "--workers", "1"]
BAD_INPUT, FINISHED = 2, 0  # README "Exit codes"


def _hgm(cwd: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([HGM, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300)


def _rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return list(con.execute(sql))


@pytest.fixture(scope="module")
def resumed(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """A run made with a relative --out and resumed with a relative --resume, both started
    from a folder that is neither the repository nor the run's parent's parent."""
    cwd = tmp_path_factory.mktemp("user")
    first = _hgm(cwd, "run", *RUN, "--max-evals", 2, "--out", "archive/demo")
    second = _hgm(cwd, "run", "--resume", "archive/demo", "--max-evals", 4)
    return cwd, first, second


@pytest.mark.slow
def test_relative_out_and_resume_work_from_any_folder(resumed):
    cwd, first, second = resumed
    assert first.returncode == FINISHED, first.stdout + first.stderr
    assert second.returncode == FINISHED, second.stdout + second.stderr
    assert (cwd / "archive" / "demo" / "hgm.db").is_file()
    assert _hgm(cwd, "check", "archive/demo").returncode == 0


@pytest.mark.slow
def test_piped_run_output_keeps_each_line_whole(resumed):
    _, _, second = resumed
    more = [line for line in second.stdout.splitlines() if line.startswith("more: hgm tree ")]
    assert len(more) == 1 and len(more[0]) > 80 and more[0].endswith("/archive/demo"), second.stdout


@pytest.mark.slow
def test_the_resumed_session_runs_the_real_agent(resumed):
    cwd, _, _ = resumed
    db = cwd / "archive" / "demo" / "hgm.db"
    rows = _rows(db, "select outcome, coalesce(reason, '') from evaluations order by id")
    assert len(rows) == 4 and {o for o, _ in rows} <= {"pass", "fail"}
    assert not any("run_agent.py" in reason for _, reason in rows)
    logs = _hgm(cwd, "show", "archive/demo", 1, "--json")
    assert "can't open file" not in logs.stdout
    assert any(o == "pass" for o, _ in rows[2:])  # node 1 solves what node 0 could not read


@pytest.mark.slow
def test_a_resume_records_what_it_changed_and_updates_the_config(resumed):
    cwd, _, _ = resumed
    run = cwd / "archive" / "demo"
    events = {k: json.loads(d) for k, d in _rows(run / "hgm.db", "select kind, data from events")
              if k in ("started", "resumed")}
    assert events["started"]["overrides"]["max_evals"] == 2 and events["started"]["hgm_version"]
    assert events["resumed"]["overrides"] == {"max_evals": 4}
    assert events["resumed"]["changed"] == {"max_evals": [2, 4]}
    assert "max_evals: 4" in (run / "config.yaml").read_text()
    stops = [json.loads(d) for (d,) in _rows(run / "hgm.db", "select data from events where kind = 'stopped'")]
    assert [s["kind"] for s in stops] == ["finished", "finished"] and stops[-1]["exit_code"] == 0
    sessions = json.loads(_hgm(cwd, "status", "archive/demo", "--json").stdout)["sessions"]
    assert [s["kind"] for s in sessions] == ["started", "resumed"]
    assert sessions[1]["changed"] == {"max_evals": [2, 4]} and sessions[1]["stop_reason"]
    assert "resumed" in _hgm(cwd, "status", "archive/demo").stdout


@pytest.mark.slow
def test_a_different_model_on_resume_needs_allow_model_change(resumed, tmp_path):
    cwd, _, _ = resumed
    shutil.copytree(cwd / "archive" / "demo", tmp_path / "run")
    other = "scripted:demo?cost_usd=0.002"
    refused = _hgm(tmp_path, "run", "--resume", "run", "--model", other)
    assert refused.returncode == BAD_INPUT and "--allow-model-change" in refused.stderr
    assert "run folder:" not in refused.stdout
    assert "model: scripted:demo\n" in (tmp_path / "run" / "config.yaml").read_text()
    allowed = _hgm(tmp_path, "run", "--resume", "run", "--model", other, "--allow-model-change")
    assert allowed.returncode == FINISHED, allowed.stdout + allowed.stderr
    assert f"model: {other}" in (tmp_path / "run" / "config.yaml").read_text()
    (data,) = _rows(tmp_path / "run" / "hgm.db", "select data from events where kind = 'resumed' order by id desc limit 1")[0]
    assert json.loads(data)["changed"]["model"] == ["scripted:demo", other]


@pytest.mark.slow
def test_the_default_run_folder_is_made_under_the_working_folder(tmp_path):
    proc = _hgm(tmp_path, "run", *RUN, "--max-evals", 1)
    assert proc.returncode == FINISHED, proc.stdout + proc.stderr
    (made,) = list((tmp_path / "archive").glob("run-*"))
    assert (made / "hgm.db").is_file() and _hgm(tmp_path, "check", made.relative_to(tmp_path)).returncode == 0


def _bad_yaml(folder: Path) -> Path:
    (folder / "bad.yaml").write_text("model: [scripted:demo\nworkers: 2\n")
    return folder / "bad.yaml"


def _list_yaml(folder: Path) -> Path:
    (folder / "list.yaml").write_text("- model\n- workers\n")
    return folder / "list.yaml"


BAD_RUNS = {
    "config that is not YAML": (lambda d: ["--config", _bad_yaml(d).name], "not valid YAML"),
    "config that is a list": (lambda d: ["--config", _list_yaml(d).name], "expected a mapping"),
    "policy parameter": (lambda d: ["--policy", "hgm?alpha=abc"], "policy hgm: alpha must be a number, not 'abc'"),
    "unknown sandbox": (lambda d: ["--sandbox", "nosuch"], "nosuch"),
    "unknown benchmark": (lambda d: ["--benchmark", "nosuch"], "unknown benchmark 'nosuch'"),
}


@pytest.mark.parametrize("case", list(BAD_RUNS))
def test_bad_input_is_one_line_with_the_bad_input_code(tmp_path, case):
    args, message = BAD_RUNS[case]
    proc = _hgm(tmp_path, "run", "--model", "scripted:demo", "--max-evals", 1, *args(tmp_path))
    assert proc.returncode == BAD_INPUT, proc.stdout + proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "run folder:" not in proc.stdout and not (tmp_path / "archive").exists()


@pytest.mark.parametrize("text", ["model: [unclosed\n", "- a\n- b\n"])
def test_a_broken_config_yaml_of_a_run_is_a_message_for_every_command(tmp_path, text):
    run = tmp_path / "run"
    made = _hgm(tmp_path, "simulate", "--policies", "random", "--seeds", 1, "--budget", 10, "--out", run)
    assert made.returncode == 0, made.stderr
    (folder,) = [p.parent for p in run.rglob("config.yaml")]
    (folder / "config.yaml").write_text(text)
    for command in (["status", folder], ["tree", folder], ["best", folder], ["run", "--resume", folder]):
        proc = _hgm(tmp_path, *command)
        assert proc.returncode in (1, BAD_INPUT), (command, proc.stderr)
        assert "config.yaml" in proc.stderr and "Traceback" not in proc.stderr, (command, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, (command, proc.stderr)
    check = _hgm(tmp_path, "check", folder)
    assert check.returncode == 1 and "config.yaml" in check.stderr and "Traceback" not in check.stderr
