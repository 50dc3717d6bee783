"""Every script in benchmarks/ runs at a tiny size and prints the JSON keys its docstring names.

Nothing here is about timings: a script that crashes, or whose ``--json`` output lost a key it
documents, fails. A new script fails too until benchmarks/report.py's ``SCRIPTS`` gives it a
tiny size and a documented one (what ``make bench`` runs).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load_report():
    spec = importlib.util.spec_from_file_location("hgm_bench_report", BENCHMARKS / "report.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


report = _load_report()
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if p.name not in report.TOOLS)


def _docker_missing() -> str | None:
    from hgm.sandbox import SandboxError, get_sandbox

    try:
        get_sandbox("docker").close()
    except (SandboxError, ImportError, ValueError) as exc:
        return f"needs a Docker engine and the sandbox image (scripts/ensure-docker.sh): {exc}"
    return None


def test_every_benchmark_script_has_sizes_and_documented_json_keys():
    assert SCRIPTS, "no scripts found in benchmarks/"
    for script in SCRIPTS:
        assert script in report.SCRIPTS, f"benchmarks/{script} has no entry in benchmarks/report.py SCRIPTS"
        assert report.documented_keys(BENCHMARKS / script), f"benchmarks/{script}'s docstring names no JSON keys"


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_script_runs_at_a_tiny_size_with_its_documented_keys(script):
    entry = report.SCRIPTS.get(script)
    if entry is None:
        pytest.fail(f"benchmarks/{script} has no entry in benchmarks/report.py SCRIPTS")
    if entry.docker and (why := _docker_missing()):
        pytest.skip(why)
    data, _ = report.run_script(script, entry.tiny, timeout_s=240)
    keys = report.documented_keys(BENCHMARKS / script)
    missing = report.missing_keys(data, keys)
    assert missing == [], f"benchmarks/{script} --json lacks documented keys: {missing}"


def test_missing_keys_follows_dots_and_every_item_of_a_list():
    data = {"a": {"b": 1}, "runs": [{"x": 1, "s": {"y": 2}}, {"x": 2}]}
    assert report.missing_keys(data, ["a.b", "runs.x"]) == []
    assert report.missing_keys(data, ["a.c", "runs.s.y", "runs"]) == ["a.c", "runs.s.y"]
    assert report.missing_keys({"runs": []}, ["runs.x"]) == ["runs.x"]


def _report(commit: str, figures: dict) -> dict:
    machine = {"cores": 2, "memory_gb": 24.0, "load_before": [1.0, 1.0, 1.0], "load_after": [1.0, 1.0, 1.0]}
    return {"date": "2026-12-03T07:00:00+00:00", "commit": commit, "dirty": False, "machine": machine,
            "total_wall_s": 1.0, "benchmarks": {"x": {"script": "x.py", "args": [], "wall_s": 1.0, "figures": figures}}}


def test_compare_prints_the_ratio_of_every_shared_figure(tmp_path):
    a = {"ms": 200.0, "runs": [{"sandbox": "docker", "workers": 4, "evals_per_hour": 1000}], "only_a": 1}
    b = {"ms": 150.0, "runs": [{"sandbox": "docker", "workers": 4, "evals_per_hour": 1500}]}
    (tmp_path / "a.json").write_text(json.dumps(_report("aaa", a)))
    (tmp_path / "b.json").write_text(json.dumps(_report("bbb", b)))
    done = subprocess.run([sys.executable, str(BENCHMARKS / "report.py"), "compare", str(tmp_path / "a.json"),
                           str(tmp_path / "b.json")], capture_output=True, text=True, check=True)  # fmt: skip
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line.startswith("  x.")}
    assert rows["x.ms"] == ["200", "150", "0.750"]
    assert rows["x.runs[docker/4].evals_per_hour"] == ["1000", "1500", "1.500"]
    assert "x.only_a" not in rows and "1 figures are in one report only" in done.stdout


def test_run_writes_a_report_with_machine_commit_date_and_figures(tmp_path):
    out = tmp_path / "report.json"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "report.py"), "run", "--tiny", "--only", "scheduler.py",
                           "--out", str(out)], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = json.loads(out.read_text())
    assert set(written["machine"]) == {"cores", "memory_gb", "load_before", "load_after"}
    assert len(written["machine"]["load_after"]) == 3 and written["machine"]["cores"] >= 1
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=BENCHMARKS, capture_output=True, text=True)
    assert written["commit"] == (head.stdout.strip() if head.returncode == 0 else None)
    assert written["date"].startswith("20")
    assert written["benchmarks"]["scheduler-tiny"]["figures"]["nodes"] == 300
    assert "scheduler-tiny.decision_ms_median" in done.stdout
