"""The polyglot adapter: a local checkout in Aider's polyglot-benchmark layout becomes tasks.

The fixture (tests/fixtures/polyglot/checkout) holds four small original Python exercises in
that layout; tests/fixtures/polyglot/broken holds one exercise without its .meta/config.json.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from hgm.bench import BenchmarkError, copy_workspace, get_benchmark
from hgm.bench.check import check_benchmark
from hgm.bench.polyglot import PolyglotBenchmark, default_cache_dir
from hgm.jobs.evaluation import run_hidden_tests
from hgm.sandbox import get_sandbox

FIXTURES = Path(__file__).parent / "fixtures" / "polyglot"
CHECKOUT = FIXTURES / "checkout"
BROKEN = FIXTURES / "broken"
PRACTICE = CHECKOUT / "python" / "exercises" / "practice"
IDS = ["python/bracket-depth", "python/clock-angle", "python/ledger", "python/word-tally"]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """Laid-out exercises go to a folder of this test (specs read HGM_CACHE_DIR)."""
    monkeypatch.setenv("HGM_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "polyglot"


@pytest.fixture(scope="module")
def tasks():
    with tempfile.TemporaryDirectory() as tmp:
        yield {t.id: t for t in PolyglotBenchmark(CHECKOUT, cache_dir=Path(tmp)).tasks()}


def files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def copy_exercise(name: str, root: Path) -> Path:
    """A writable copy of one fixture exercise in a checkout of its own under ``root``."""
    dest = root / "python" / "exercises" / "practice" / name
    shutil.copytree(PRACTICE / name, dest)
    return dest


def load_error(path: Path, **params: str) -> str:
    with pytest.raises(BenchmarkError) as info:
        PolyglotBenchmark(path, cache_dir=path / ".cache", **params)
    return str(info.value)


def write_exercise(root: Path, language: str, name: str, config: dict, content: dict) -> Path:
    folder = root / language / "exercises" / "practice" / name
    for rel, text in {**content, ".docs/instructions.md": "# Instructions\n\nDo it.\n"}.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    (folder / ".meta" / "config.json").write_text(json.dumps({"files": config}))
    return folder


# --- loading the fixture --------------------------------------------------------------


def test_fixture_loads_one_task_per_exercise_in_name_order(tasks):
    assert list(tasks) == IDS
    assert all(t.language == "python" for t in tasks.values())


def test_instructions_join_introduction_instructions_and_append_in_order(tasks):
    text = tasks["python/word-tally"].instructions
    intro = text.index("A newsroom wants")
    body = text.index("Count how often each word occurs")
    append = text.index("Return a plain `dict`")
    assert intro < body < append
    assert "word_tally.py" in text.split("Return a plain")[1]  # the file to edit is named


def test_workspace_holds_stubs_and_support_files_without_tests_meta_or_docs(tasks):
    assert files(tasks["python/bracket-depth"].workspace) == {"bracket_depth.py", "pairs.py"}
    assert files(tasks["python/word-tally"].workspace) == {"word_tally.py"}


def test_hidden_tests_are_the_listed_test_files(tasks):
    assert files(tasks["python/ledger"].tests) == {"ledger_test.py", "ledger_history_test.py"}
    task = tasks["python/ledger"]
    assert task.test_command.endswith("python3 -m unittest ledger_test ledger_history_test")


def test_reference_solution_is_the_example_under_the_solution_file_name(tasks):
    solution = tasks["python/clock-angle"].solution
    assert files(solution) == {"clock_angle.py"}
    example = PRACTICE / "clock-angle" / ".meta" / "example.py"
    assert (solution / "clock_angle.py").read_text() == example.read_text()


def test_fixture_passes_the_oracle_check_in_the_local_sandbox(cache):
    report = check_benchmark(get_benchmark(f"polyglot:{CHECKOUT}"), get_sandbox("local"))
    assert report.to_json() == {"tasks": 4, "ok": 4, "problems": []}


def test_a_file_the_agent_leaves_at_a_test_path_is_replaced_by_the_hidden_test(tasks, tmp_path):
    task = tasks["python/word-tally"]
    workspace = copy_workspace(task, tmp_path / "ws")
    (workspace / "word_tally_test.py").write_text("import unittest\n")  # would pass: no tests
    result = run_hidden_tests(get_sandbox("local"), task, workspace, tmp_path, 60)
    assert result.exit_code not in (0, None), result.stdout + result.stderr


# --- specs and subsets ----------------------------------------------------------------


def test_spec_names_the_benchmark_with_its_parameters(cache):
    bench = get_benchmark(f"polyglot:{CHECKOUT}?languages=python")
    assert bench.name == f"polyglot:{CHECKOUT}?languages=python"
    assert [t.id for t in bench.tasks()] == IDS


def test_subset_takes_exercise_names_or_ids_and_keeps_benchmark_order(cache):
    bench = get_benchmark(f"polyglot:{CHECKOUT}?subset=ledger,python/clock-angle")
    assert [t.id for t in bench.tasks()] == ["python/clock-angle", "python/ledger"]


def test_generic_ids_and_sample_work_on_polyglot_task_ids(cache):
    by_ids = get_benchmark(f"polyglot:{CHECKOUT}?ids=python/ledger,python/bracket-depth")
    assert [t.id for t in by_ids.tasks()] == ["python/ledger", "python/bracket-depth"]
    sample = get_benchmark(f"polyglot:{CHECKOUT}?sample=2&seed=1")
    assert len(sample.tasks()) == 2 and {t.id for t in sample.tasks()} <= set(IDS)


def test_unknown_exercise_in_subset_is_an_error_listing_valid_ones(cache):
    with pytest.raises(BenchmarkError) as info:
        get_benchmark(f"polyglot:{CHECKOUT}?subset=ledger,bowling")
    assert "bowling" in str(info.value) and "python/word-tally" in str(info.value)


def test_unknown_language_is_an_error_listing_known_ones(cache):
    with pytest.raises(BenchmarkError) as info:
        get_benchmark(f"polyglot:{CHECKOUT}?languages=cobol")
    assert "cobol" in str(info.value) and "python" in str(info.value)


def test_unknown_query_parameter_lists_polyglot_parameters(cache):
    with pytest.raises(BenchmarkError) as info:
        get_benchmark(f"polyglot:{CHECKOUT}?language=python")
    assert "languages" in str(info.value) and "subset" in str(info.value)


def test_default_cache_follows_hgm_cache_dir(cache):
    assert default_cache_dir() == cache


# --- wrong layouts ----------------------------------------------------------------------


def test_folder_in_the_wrong_layout_names_the_missing_practice_folder(tmp_path):
    (tmp_path / "exercises" / "bowling").mkdir(parents=True)
    assert load_error(tmp_path) == f"{tmp_path}: no python/exercises/practice folder"


def test_language_without_exercises_folder_is_named(tmp_path):
    shutil.copytree(CHECKOUT, tmp_path / "checkout")
    message = load_error(tmp_path / "checkout", languages="python,go")
    assert message == f"{tmp_path / 'checkout'}: no go/exercises/practice folder"


def test_missing_path_is_a_clear_error(tmp_path):
    assert load_error(tmp_path / "nope") == f"{tmp_path / 'nope'}: not a folder"


def test_exercise_without_config_names_the_missing_file(tmp_path):
    expected = f"{BROKEN}/python/exercises/practice/no-config/.meta/config.json: missing"
    with pytest.raises(BenchmarkError) as info:
        PolyglotBenchmark(BROKEN, cache_dir=tmp_path)
    assert str(info.value) == expected


def test_config_without_test_files_names_the_field(tmp_path):
    folder = copy_exercise("clock-angle", tmp_path)
    config = folder / ".meta" / "config.json"
    data = json.loads(config.read_text())
    del data["files"]["test"]
    config.write_text(json.dumps(data))
    assert f"{config}: field 'files.test' is missing" in load_error(tmp_path)


def test_listed_file_that_does_not_exist_is_named(tmp_path):
    folder = copy_exercise("ledger", tmp_path)
    (folder / "ledger_history_test.py").unlink()
    message = load_error(tmp_path)
    assert f"{folder / 'ledger_history_test.py'}: missing" in message
    assert "files.test" in message


def test_missing_instructions_are_named(tmp_path):
    folder = copy_exercise("ledger", tmp_path)
    (folder / ".docs" / "instructions.md").unlink()
    assert f"{folder / '.docs' / 'instructions.md'}: missing" in load_error(tmp_path)


def test_invalid_config_json_is_named(tmp_path):
    folder = copy_exercise("ledger", tmp_path)
    (folder / ".meta" / "config.json").write_text("{not json")
    assert f"{folder / '.meta' / 'config.json'}: not valid JSON" in load_error(tmp_path)


def test_every_broken_exercise_is_reported_at_once(tmp_path):
    for name in ("ledger", "clock-angle"):
        (copy_exercise(name, tmp_path) / ".meta" / "config.json").unlink()
    message = load_error(tmp_path)
    assert "ledger/.meta/config.json: missing" in message
    assert "clock-angle/.meta/config.json: missing" in message


def test_an_exercise_outside_the_subset_is_not_read(tmp_path):
    copy_exercise("ledger", tmp_path)
    (copy_exercise("clock-angle", tmp_path) / ".meta" / "config.json").unlink()
    bench = PolyglotBenchmark(tmp_path, subset="ledger", cache_dir=tmp_path / "cache")
    assert [t.id for t in bench.tasks()] == ["python/ledger"]


# --- the cache and other languages ------------------------------------------------------


def test_cached_layout_is_reused_and_renewed_when_the_exercise_changes(tmp_path):
    folder = copy_exercise("ledger", tmp_path / "checkout")

    def workspace() -> Path:
        (task,) = PolyglotBenchmark(tmp_path / "checkout", cache_dir=tmp_path / "cache").tasks()
        return task.workspace

    first = workspace()
    assert workspace() == first
    (folder / "ledger.py").write_text("class Ledger:\n    pass\n")
    changed = workspace()
    assert changed != first
    assert (changed / "ledger.py").read_text() == "class Ledger:\n    pass\n"


def test_rust_example_pairs_with_the_source_file_of_its_suffix(tmp_path):
    write_exercise(
        tmp_path,
        "rust",
        "adder",
        {
            "solution": ["src/lib.rs", "Cargo.toml"],
            "test": ["tests/adder.rs"],
            "example": [".meta/example.rs"],
        },
        {
            "src/lib.rs": "stub",
            "Cargo.toml": "[package]",
            "tests/adder.rs": "#[test] fn t() {}",
            ".meta/example.rs": "solved",
        },
    )
    (task,) = PolyglotBenchmark(tmp_path, languages="rust", cache_dir=tmp_path / "c").tasks()
    assert task.id == "rust/adder" and task.language == "rust"
    assert files(task.workspace) == {"src/lib.rs", "Cargo.toml"}
    assert files(task.tests) == {"tests/adder.rs"}
    assert (task.solution / "src" / "lib.rs").read_text() == "solved"
    assert "cargo test --offline" in task.test_command
    assert task.test_command.endswith("-- --include-ignored")


def test_javascript_tests_shipped_disabled_are_enabled(tmp_path):
    write_exercise(
        tmp_path,
        "javascript",
        "adder",
        {"solution": ["adder.js"], "test": ["adder.spec.js"], "example": [".meta/proof.ci.js"]},
        {
            "adder.js": "stub",
            "package.json": "{}",
            ".meta/proof.ci.js": "solved",
            "adder.spec.js": "test('a', f);\nxtest('b', g);\n",
        },
    )
    (task,) = PolyglotBenchmark(tmp_path, languages="javascript", cache_dir=tmp_path / "c").tasks()
    assert (task.tests / "adder.spec.js").read_text() == "test('a', f);\ntest('b', g);\n"
    assert files(task.workspace) == {"adder.js", "package.json"}


def test_examples_that_cannot_be_paired_leave_the_task_without_solution(tmp_path):
    write_exercise(
        tmp_path,
        "python",
        "two",
        {"solution": ["a.py", "b.py"], "test": ["two_test.py"], "example": [".meta/example.py"]},
        {"a.py": "", "b.py": "", "two_test.py": "", ".meta/example.py": ""},
    )
    (task,) = PolyglotBenchmark(tmp_path, cache_dir=tmp_path / "c").tasks()
    assert task.solution is None


@pytest.mark.skipif(
    not (shutil.which("cmake") and shutil.which("g++") and shutil.which("make")),
    reason="needs cmake, make and g++ (apt-get install cmake g++)",
)
def test_cpp_exercise_runs_through_cmake_in_the_sandbox(tmp_path):
    cmake = (
        "cmake_minimum_required(VERSION 3.10)\nproject(adder CXX)\n"
        "add_executable(adder_test adder.cpp adder_test.cpp)\n"
        "add_custom_command(TARGET adder_test POST_BUILD COMMAND adder_test)\n"
    )
    write_exercise(
        tmp_path,
        "cpp",
        "adder",
        {"solution": ["adder.cpp"], "test": ["adder_test.cpp"], "example": [".meta/example.cpp"]},
        {
            "CMakeLists.txt": cmake,
            "adder.cpp": "int add(int a, int b) { return a - b; }\n",
            ".meta/example.cpp": "int add(int a, int b) { return a + b; }\n",
            "adder_test.cpp": "int add(int, int);\nint main() { return add(2, 3) == 5 ? 0 : 1; }\n",
        },
    )
    bench = PolyglotBenchmark(tmp_path, languages="cpp", cache_dir=tmp_path / "c")
    report = check_benchmark(bench, get_sandbox("local"), time_limit_s=120)
    assert report.to_json() == {"tasks": 1, "ok": 1, "problems": []}


# --- grading takes only the solution files ---------------------------------------------


def write_tally_with_cases(root: Path) -> PolyglotBenchmark:
    """A Python exercise whose test cases live in a ``files.editor`` file, as 19 of
    upstream's Go exercises keep theirs in ``cases_test.go``."""
    write_exercise(
        root,
        "python",
        "doubler",
        {
            "solution": ["doubler.py"],
            "test": ["doubler_test.py"],
            "example": [".meta/example.py"],
            "editor": ["cases.py"],
        },
        {
            "doubler.py": "def double(n):\n    return n\n",
            ".meta/example.py": "def double(n):\n    return 2 * n\n",
            "cases.py": "CASES = [(1, 2), (3, 6)]\n",
            "doubler_test.py": (
                "import unittest\nfrom cases import CASES\nfrom doubler import double\n\n\n"
                "class DoublerTest(unittest.TestCase):\n    def test_cases(self):\n"
                "        for n, want in CASES:\n            self.assertEqual(double(n), want)\n"
            ),
        },
    )
    return PolyglotBenchmark(root, cache_dir=root / "cache")


def judged(task, workspace: Path, tmp_path: Path) -> int | None:
    (tmp_path / "run").mkdir()
    return run_hidden_tests(get_sandbox("local"), task, workspace, tmp_path / "run", 60).exit_code


def test_editor_files_are_shown_to_the_agent_and_put_back_before_grading(tmp_path):
    (task,) = write_tally_with_cases(tmp_path).tasks()
    assert "cases.py" in files(task.workspace) and "cases.py" in files(task.tests)
    workspace = copy_workspace(task, tmp_path / "ws")
    (workspace / "cases.py").write_text("CASES = []\n")  # the wrong solution now passes
    assert judged(task, workspace, tmp_path) not in (0, None)


def test_a_package_planted_to_shadow_the_cases_file_does_not_survive_grading(tmp_path):
    # A package wins over a module of the same name: with only the tests put back, the
    # wrong solution passed against this empty list of cases.
    (task,) = write_tally_with_cases(tmp_path).tasks()
    workspace = copy_workspace(task, tmp_path / "ws")
    (workspace / "cases").mkdir()
    (workspace / "cases" / "__init__.py").write_text("CASES = []\n")
    assert judged(task, workspace, tmp_path) not in (0, None)


def test_removed_test_and_editor_files_are_put_back(tmp_path):
    (task,) = write_tally_with_cases(tmp_path).tasks()
    workspace = copy_workspace(task, tmp_path / "ws")
    (workspace / "cases.py").unlink()
    (workspace / "doubler.py").write_text("def double(n):\n    return 2 * n\n")
    assert judged(task, workspace, tmp_path) == 0


def test_the_agents_solution_file_is_what_gets_graded(tmp_path):
    (task,) = write_tally_with_cases(tmp_path).tasks()
    workspace = copy_workspace(task, tmp_path / "ws")
    (workspace / "doubler.py").write_text("def double(n):\n    return n + n\n")
    (workspace / "notes.txt").write_text("scratch the agent left")
    assert judged(task, workspace, tmp_path) == 0
