"""Every polyglot language graded in the toolchains image, as upstream's harness intends.

The fixture (tests/fixtures/polyglot/toolchains) holds one small original exercise per
language in upstream's layout: C++ with a CMakeLists.txt that names its target after the
folder and links Boost, JavaScript run by jest through babel, Java with Gradle build files
that Debian's Gradle cannot read and a reference in two classes, Rust whose reference needs
a crate named only in ``.meta/Cargo-example.toml``, Go whose cases live in a
``files.editor`` file and whose reference uses Go 1.21's ``slices``.

Run with ``make test-toolchains`` (builds the image first).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hgm.bench import copy_workspace
from hgm.bench.polyglot import PolyglotBenchmark
from hgm.jobs.evaluation import run_hidden_tests
from hgm.sandbox import get_sandbox

pytestmark = pytest.mark.toolchains

FIXTURE = Path(__file__).parent / "fixtures" / "polyglot" / "toolchains"
LANGUAGES = "python,go,rust,javascript,java,cpp"
SANDBOX = "docker?toolchains=1"


@pytest.fixture(scope="module")
def box():
    sandbox = get_sandbox(SANDBOX)
    yield sandbox
    sandbox.close()


@pytest.mark.timeout(1800)
def test_bench_check_passes_one_exercise_per_language(tmp_path):
    env = {**os.environ, "HGM_CACHE_DIR": str(tmp_path / "cache")}
    spec = f"polyglot:{FIXTURE}?languages=go,rust,javascript,java,cpp"
    done = subprocess.run(
        [sys.executable, "-m", "hgm.cli", "bench", "check", spec, "--sandbox", SANDBOX, "--json"],
        capture_output=True, text=True, env=env, timeout=1800,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == {"tasks": 5, "ok": 5, "problems": []}


@pytest.mark.timeout(900)
def test_wrong_go_solution_with_emptied_editor_cases_does_not_pass(box, tmp_path):
    (task,) = PolyglotBenchmark(
        FIXTURE, languages="go", cache_dir=tmp_path / "cache"
    ).tasks()
    workspace = copy_workspace(task, tmp_path / "ws")
    cases = workspace / "cases_test.go"
    cases.write_text(
        "package spread\n\nvar spreadCases = []struct {\n\tnumbers []int\n\twant    int\n}{}\n"
    )
    (tmp_path / "run").mkdir()
    result = run_hidden_tests(box, task, workspace, tmp_path / "run", 300)
    assert result.exit_code not in (0, None), result.stdout + result.stderr
    assert "Spread([3 9 1]) = 0, want 8" in result.stdout + result.stderr


@pytest.mark.timeout(900)
def test_extra_java_class_beside_the_solution_is_graded(box, tmp_path):
    (task,) = PolyglotBenchmark(
        FIXTURE, languages="java", cache_dir=tmp_path / "cache"
    ).tasks()
    workspace = copy_workspace(task, tmp_path / "ws")
    main = workspace / "src" / "main" / "java"
    for name in ("Tally.java", "Count.java"):
        (main / name).write_text((task.solution / "src" / "main" / "java" / name).read_text())
    (tmp_path / "run").mkdir()
    result = run_hidden_tests(box, task, workspace, tmp_path / "run", 300)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "2 tests successful" in result.stdout
