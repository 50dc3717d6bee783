"""Benchmarks: the `dir` task format, the spec resolver, and the built-in tasks' oracle check.

The built-in tasks are checked with real subprocesses (no sandbox): on a copy of each task's
workspace, the hidden tests must fail as shipped and pass once the reference solution is in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hgm.bench import (
    Benchmark,
    BenchmarkError,
    apply_solution,
    copy_workspace,
    get_benchmark,
    inject_hidden_tests,
    load_dir_benchmark,
    load_task_dir,
)
from hgm.bench.builtin import BUILTIN_TASKS_DIR, BuiltinBenchmark

BUILTIN_IDS = sorted(p.name for p in BUILTIN_TASKS_DIR.iterdir() if (p / "task.toml").is_file())
# `python` in a test command must be this interpreter, whatever the caller's PATH says.
RUN_ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    "PYTHONDONTWRITEBYTECODE": "1",
}
RUN_ENV.pop("PYTHONPATH", None)


# --- helpers ------------------------------------------------------------------------------


def write_task(root: Path, name: str = "sample", toml: str | None = None, **parts: bool) -> Path:
    """A minimal valid task folder; ``toml`` replaces task.toml, ``workspace=False`` etc. omit parts."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "task.toml").write_text(
        toml
        if toml is not None
        else f'id = "{name}"\ninstructions = "Make add() add."\n'
        'test_command = "python -m unittest discover -s tests_hidden -q"\n'
    )
    if parts.get("workspace", True):
        (folder / "workspace").mkdir()
        (folder / "workspace" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
        (folder / "workspace" / "notes.txt").write_text("keep me\n")
    if parts.get("tests", True):
        (folder / "tests").mkdir()
        (folder / "tests" / "test_calc.py").write_text(
            "import unittest\nfrom calc import add\n\n"
            "class T(unittest.TestCase):\n"
            "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n"
        )
    if parts.get("solution", True):
        (folder / "solution").mkdir()
        (folder / "solution" / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    return folder


def load_error(path: Path) -> str:
    with pytest.raises(BenchmarkError) as info:
        load_dir_benchmark(path)
    return str(info.value)


def run_test_command(task, workspace: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            task.test_command,
            shell=True,
            cwd=workspace,
            env=RUN_ENV,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{task.id}: test command did not finish in 120 s")


def verdict(result: subprocess.CompletedProcess) -> tuple[int, str]:
    """Exit status and unittest's summary line (the timing line varies between runs)."""
    lines = (result.stdout + result.stderr).strip().splitlines()
    return result.returncode, lines[-1] if lines else ""


_untouched_runs: dict[str, list[subprocess.CompletedProcess]] = {}


def untouched_runs(task_id: str, tmp_root: Path) -> list[subprocess.CompletedProcess]:
    """Two runs of the hidden tests on an untouched copy of the workspace (shared by tests)."""
    if task_id not in _untouched_runs:
        task = builtin_task(task_id)
        workspace = copy_workspace(task, tmp_root / task_id)
        inject_hidden_tests(task, workspace)
        _untouched_runs[task_id] = [run_test_command(task, workspace) for _ in range(2)]
    return _untouched_runs[task_id]


def builtin_task(task_id: str):
    return load_task_dir(BUILTIN_TASKS_DIR / task_id)


# --- the built-in tasks -------------------------------------------------------------------


def test_builtin_benchmark_loads_every_task_folder():
    bench = get_benchmark("builtin")
    assert isinstance(bench, Benchmark)
    assert bench.name == "builtin"
    assert [t.id for t in bench.tasks()] == BUILTIN_IDS
    assert len(BUILTIN_IDS) >= 14


def test_every_builtin_task_has_tier_solution_and_unittest_command():
    for info in BuiltinBenchmark().task_infos():
        assert info.tier is not None, info.task.id
        assert info.task.solution is not None, info.task.id
        assert "unittest" in info.task.test_command, info.task.id
        assert "pytest" not in info.task.test_command, info.task.id


def test_builtin_tasks_cover_every_tier():
    tiers = {info.tier for info in BuiltinBenchmark().task_infos()}
    assert tiers == {"single-bug", "multi-file-bug", "feature", "refactor", "explore"}


def test_builtin_tasks_are_small():
    size = sum(p.stat().st_size for p in BUILTIN_TASKS_DIR.rglob("*") if p.is_file())
    assert size < 1_000_000


@pytest.mark.parametrize("task_id", BUILTIN_IDS)
def test_hidden_tests_fail_on_untouched_workspace(task_id, tmp_path_factory):
    first, _ = untouched_runs(task_id, tmp_path_factory.mktemp("untouched"))
    assert first.returncode != 0, first.stdout + first.stderr


@pytest.mark.parametrize("task_id", BUILTIN_IDS)
def test_hidden_tests_pass_after_reference_solution(task_id, tmp_path):
    task = builtin_task(task_id)
    workspace = copy_workspace(task, tmp_path / "ws")
    apply_solution(task, workspace)
    inject_hidden_tests(task, workspace)
    result = run_test_command(task, workspace)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("task_id", BUILTIN_IDS)
def test_test_command_gives_the_same_result_twice(task_id, tmp_path_factory):
    first, second = untouched_runs(task_id, tmp_path_factory.mktemp("untouched"))
    assert verdict(first) == verdict(second)


# --- the dir loader -----------------------------------------------------------------------


def test_dir_loader_reads_fields_and_defaults(tmp_path):
    write_task(tmp_path, "sample")
    (task,) = load_dir_benchmark(tmp_path)
    assert task.id == "sample"
    assert task.instructions == "Make add() add."
    assert task.workspace == tmp_path / "sample" / "workspace"
    assert task.tests == tmp_path / "sample" / "tests"
    assert task.solution == tmp_path / "sample" / "solution"
    assert (task.time_limit_s, task.language) == (600.0, "python")


def test_dir_loader_lists_tasks_in_name_order_and_skips_hidden_folders(tmp_path):
    for name in ("zeta", "alpha", "mid"):
        write_task(tmp_path, name)
    (tmp_path / ".cache").mkdir()
    (tmp_path / "__pycache__").mkdir()
    assert [t.id for t in load_dir_benchmark(tmp_path)] == ["alpha", "mid", "zeta"]


def test_dir_loader_rejects_missing_field(tmp_path):
    write_task(tmp_path, "foo", toml='id = "foo"\ninstructions = "x"\n')
    expected = f"{tmp_path / 'foo' / 'task.toml'}: field 'test_command' is missing"
    assert expected in load_error(tmp_path)


def test_dir_loader_rejects_unknown_field(tmp_path):
    write_task(
        tmp_path,
        "foo",
        toml='id = "foo"\ninstructions = "x"\ntest_command = "true"\ntimeout = 5\n',
    )
    message = load_error(tmp_path)
    assert f"{tmp_path / 'foo' / 'task.toml'}: unknown field 'timeout'" in message
    assert "time_limit_s" in message  # the known fields are listed


def test_dir_loader_rejects_id_that_differs_from_folder_name(tmp_path):
    write_task(tmp_path, "foo", toml='id = "bar"\ninstructions = "x"\ntest_command = "true"\n')
    message = load_error(tmp_path)
    assert f"{tmp_path / 'foo' / 'task.toml'}: field 'id' is 'bar'" in message
    assert "'foo'" in message


def test_dir_loader_rejects_missing_workspace(tmp_path):
    write_task(tmp_path, "foo", workspace=False)
    assert f"{tmp_path / 'foo' / 'workspace'}/: folder is missing" in load_error(tmp_path)


def test_dir_loader_rejects_missing_tests(tmp_path):
    write_task(tmp_path, "foo", tests=False)
    assert f"{tmp_path / 'foo' / 'tests'}/: folder is missing" in load_error(tmp_path)


def test_dir_loader_rejects_wrong_field_type(tmp_path):
    write_task(
        tmp_path,
        "foo",
        toml='id = "foo"\ninstructions = "x"\ntest_command = "true"\ntime_limit_s = "ten"\n',
    )
    assert f"{tmp_path / 'foo' / 'task.toml'}: field 'time_limit_s'" in load_error(tmp_path)


def test_dir_loader_rejects_invalid_toml(tmp_path):
    write_task(tmp_path, "foo", toml='id = "foo\n')
    assert f"{tmp_path / 'foo' / 'task.toml'}: not valid TOML" in load_error(tmp_path)


def test_dir_loader_rejects_hidden_tests_dir_outside_workspace(tmp_path):
    write_task(
        tmp_path,
        "foo",
        toml='id = "foo"\ninstructions = "x"\ntest_command = "true"\n'
        'hidden_tests_dir = "../escape"\n',
    )
    assert "field 'hidden_tests_dir'" in load_error(tmp_path)


def test_dir_loader_reports_every_broken_task_at_once(tmp_path):
    write_task(tmp_path, "good")
    write_task(tmp_path, "no-tests", tests=False)
    write_task(tmp_path, "no-workspace", workspace=False)
    message = load_error(tmp_path)
    assert "no-tests" in message and "no-workspace" in message
    assert "good" not in message


def test_solution_folder_is_optional(tmp_path):
    write_task(tmp_path, "foo", solution=False)
    assert load_dir_benchmark(tmp_path)[0].solution is None


def test_dir_spec_loads_a_folder_of_tasks(tmp_path):
    write_task(tmp_path, "one")
    write_task(tmp_path, "two")
    bench = get_benchmark(f"dir:{tmp_path}")
    assert bench.name == f"dir:{tmp_path}"
    assert [t.id for t in bench.tasks()] == ["one", "two"]


def test_dir_spec_accepts_a_single_task_folder(tmp_path):
    folder = write_task(tmp_path, "solo")
    assert [t.id for t in get_benchmark(f"dir:{folder}").tasks()] == ["solo"]


def test_dir_spec_with_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(BenchmarkError, match="not a folder"):
        get_benchmark(f"dir:{tmp_path / 'nope'}")


# --- hidden tests, solutions, workspaces --------------------------------------------------


def test_inject_hidden_tests_puts_tests_where_the_command_expects(tmp_path):
    task = load_task_dir(write_task(tmp_path / "tasks", "foo"))
    workspace = copy_workspace(task, tmp_path / "ws")
    inject_hidden_tests(task, workspace)
    assert (workspace / "tests_hidden" / "test_calc.py").is_file()
    assert run_test_command(task, workspace).returncode != 0


def test_inject_hidden_tests_uses_configured_folder(tmp_path):
    folder = write_task(
        tmp_path / "tasks",
        "foo",
        toml='id = "foo"\ninstructions = "x"\n'
        'test_command = "python -m unittest discover -s checks/hidden -q"\n'
        'hidden_tests_dir = "checks/hidden"\n',
    )
    task = load_task_dir(folder)
    workspace = copy_workspace(task, tmp_path / "ws")
    apply_solution(task, workspace)
    inject_hidden_tests(task, workspace)
    assert (workspace / "checks" / "hidden" / "test_calc.py").is_file()
    assert run_test_command(task, workspace).returncode == 0


def test_inject_hidden_tests_replaces_what_the_agent_left_there(tmp_path):
    task = load_task_dir(write_task(tmp_path / "tasks", "foo"))
    workspace = copy_workspace(task, tmp_path / "ws")
    planted = workspace / "tests_hidden"
    planted.mkdir()
    (planted / "test_calc.py").write_text("import unittest\n")
    (planted / "test_extra.py").write_text("import unittest\n")
    inject_hidden_tests(task, workspace)
    assert sorted(p.name for p in planted.iterdir()) == ["test_calc.py"]
    assert "assertEqual(add(2, 3), 5)" in (planted / "test_calc.py").read_text()


def test_apply_solution_replaces_files_and_keeps_the_rest(tmp_path):
    task = load_task_dir(write_task(tmp_path / "tasks", "foo"))
    workspace = copy_workspace(task, tmp_path / "ws")
    (workspace / "agent_scratch.py").write_text("x = 1\n")
    apply_solution(task, workspace)
    assert "a + b" in (workspace / "calc.py").read_text()
    assert (workspace / "notes.txt").read_text() == "keep me\n"
    assert (workspace / "agent_scratch.py").is_file()


def test_apply_solution_without_a_solution_is_an_error(tmp_path):
    task = load_task_dir(write_task(tmp_path / "tasks", "foo", solution=False))
    with pytest.raises(BenchmarkError, match="no reference solution"):
        apply_solution(task, tmp_path)


def test_copy_workspace_leaves_out_byte_code_caches(tmp_path):
    folder = write_task(tmp_path / "tasks", "foo")
    cache = folder / "workspace" / "__pycache__"
    cache.mkdir()
    (cache / "calc.cpython-311.pyc").write_bytes(b"\0")
    workspace = copy_workspace(load_task_dir(folder), tmp_path / "ws")
    assert sorted(p.name for p in workspace.iterdir()) == ["calc.py", "notes.txt"]


# --- specs: subsets, samples, errors ------------------------------------------------------


def test_subset_by_ids_keeps_the_given_order():
    a, b = BUILTIN_IDS[3], BUILTIN_IDS[0]
    bench = get_benchmark(f"builtin?ids={a},{b}")
    assert [t.id for t in bench.tasks()] == [a, b]
    assert bench.name == f"builtin?ids={a},{b}"


def test_unknown_task_id_is_a_clear_error():
    with pytest.raises(BenchmarkError) as info:
        get_benchmark(f"builtin?ids={BUILTIN_IDS[0]},no-such-task")
    assert "no-such-task" in str(info.value)
    assert BUILTIN_IDS[1] in str(info.value)  # valid ids are listed


def test_seeded_sample_is_deterministic():
    first = [t.id for t in get_benchmark("builtin?sample=5&seed=3").tasks()]
    second = [t.id for t in get_benchmark("builtin?sample=5&seed=3").tasks()]
    assert first == second
    assert len(set(first)) == 5


def test_different_seeds_pick_different_samples():
    samples = {
        tuple(t.id for t in get_benchmark(f"builtin?sample=4&seed={seed}").tasks())
        for seed in range(5)
    }
    assert len(samples) > 1


def test_sample_keeps_benchmark_order():
    ids = [t.id for t in get_benchmark("builtin?sample=6&seed=11").tasks()]
    assert ids == sorted(ids, key=BUILTIN_IDS.index)


def test_sample_of_an_id_subset(tmp_path):
    for name in ("a", "b", "c", "d"):
        write_task(tmp_path, name)
    bench = get_benchmark(f"dir:{tmp_path}?ids=d,c,b&sample=2&seed=0")
    assert {t.id for t in bench.tasks()} <= {"b", "c", "d"}
    assert len(bench.tasks()) == 2


def test_sample_larger_than_benchmark_is_an_error():
    with pytest.raises(BenchmarkError, match="sample=999"):
        get_benchmark("builtin?sample=999")


def test_unknown_benchmark_lists_valid_ones():
    with pytest.raises(BenchmarkError) as info:
        get_benchmark("nosuch")
    assert "'nosuch'" in str(info.value)
    assert "builtin" in str(info.value) and "dir" in str(info.value)


def test_unknown_query_parameter_is_rejected():
    with pytest.raises(BenchmarkError, match="unknown parameter 'size'"):
        get_benchmark("builtin?size=3")


def test_seed_without_sample_is_rejected():
    with pytest.raises(BenchmarkError, match="seed"):
        get_benchmark("builtin?seed=3")


def test_builtin_takes_no_argument_and_dir_needs_one():
    with pytest.raises(BenchmarkError, match="takes no argument"):
        get_benchmark("builtin:extra")
    with pytest.raises(BenchmarkError, match="needs an argument"):
        get_benchmark("dir")
