"""Oracle checks of a benchmark (``hgm bench check``) and the list of benchmarks (``hgm bench list``).

A task is sound when four things hold, all checked through the sandbox the run would use,
with the same mechanics as an evaluation (:func:`hgm.jobs.evaluation.judge_hidden_tests`: a
copy of the workspace, the hidden tests injected, the test command run without network):

1. it loads: its folders are there and, for a ``dir`` task, its ``task.toml`` still
   validates;
2. its hidden tests fail on the untouched workspace (else an agent that does nothing
   "solves" it), and finish within the time limit there;
3. they pass once the reference solution is applied, where the task has one (else no agent
   can solve it); a task without one is reported *unchecked*, never ok;
4. the test command is deterministic: run ``repeats`` times on the same workspace, it gives
   the same verdict each time (checked on the untouched workspace and on the solution).

A test command that cannot run at all (exit status 126 or 127, or a runner that says no
tests ran) is a problem whatever the solution: its "failure" on the untouched workspace
proves nothing.
"""

from __future__ import annotations

import importlib
import inspect
import re
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

from hgm.bench import (
    _SUBSET_PARAMS,
    BENCHMARKS,
    Benchmark,
    BenchmarkError,
    TaskInfo,
    apply_solution,
    copy_workspace,
    get_benchmark,
)
from hgm.bench.dirbench import TASK_FILE, load_task_info
from hgm.sandbox import RunResult, Sandbox
from hgm.scratch import prefix as scratch_prefix
from hgm.types import Task

DEFAULT_TEST_TIME_LIMIT_S = 120.0
"""The hidden tests' time limit, as the run's default ``test_time_limit_s``."""
_TAIL_LINES = 6
_CANNOT_RUN_CODES = (126, 127)  # the shell's "not executable" and "command not found"
_NO_TESTS_RAN = re.compile(
    r"no tests ran|\bRan 0 tests\b|No tests found|\[no test files\]|\b0 tests found\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TaskCheck:
    """The verdict on one task: no problems means it is sound, as far as it was checked.

    ``unchecked``: the task has no reference solution, so only the untouched workspace was
    checked; such a task is not ``ok``, whatever its tests did.
    """

    task: str
    problems: tuple[str, ...] = ()
    tier: str | None = None
    unchecked: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and not self.unchecked


@dataclass(frozen=True)
class CheckReport:
    """The verdicts on a benchmark's tasks, in benchmark order.

    ``load_error`` is set (and ``results`` empty) when the benchmark itself did not load.
    """

    benchmark: str
    results: tuple[TaskCheck, ...]
    load_error: str | None = None

    @property
    def tasks(self) -> int:
        return len(self.results)

    @property
    def ok(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def unchecked(self) -> list[str]:
        """Tasks without problems that have no reference solution to check."""
        return [r.task for r in self.results if r.unchecked and not r.problems]

    @property
    def problems(self) -> list[dict[str, str]]:
        """Every problem as ``{"task": id, "problem": text}``; a benchmark that did not
        load is one problem under the benchmark's name."""
        if self.load_error is not None:
            return [{"task": self.benchmark, "problem": self.load_error}]
        return [{"task": r.task, "problem": p} for r in self.results for p in r.problems]

    def to_json(self) -> dict:
        """``{"tasks": int, "ok": int, "problems": [{"task": str, "problem": str}]}``, with
        ``"unchecked": [task ids]`` added when some tasks have no reference solution."""
        data: dict = {"tasks": self.tasks, "ok": self.ok, "problems": self.problems}
        if self.unchecked:
            data["unchecked"] = self.unchecked
        return data


def check_benchmark(
    bench: Benchmark,
    sandbox: Sandbox,
    *,
    infos: Iterable[TaskInfo] | None = None,
    progress: Callable[[TaskCheck], None] | None = None,
    repeats: int = 2,
    workers: int = 2,
    time_limit_s: float = DEFAULT_TEST_TIME_LIMIT_S,
) -> CheckReport:
    """Check every task of ``bench`` (see the module docstring) in ``sandbox``.

    ``infos``: :class:`TaskInfo` records whose tiers go into the results, for tasks whose
    tier is not in a ``task.toml`` beside them (default: ``bench.task_infos()`` where the
    benchmark has it). ``progress`` is called in
    the calling thread with each task's result as it completes. ``workers`` tasks are
    checked at once; ``time_limit_s`` bounds each run of a test command.
    """
    if repeats < 2:
        raise ValueError(f"repeats must be >= 2 to check determinism, got {repeats}")
    tasks = bench.tasks()
    tiers = _tiers(bench, infos)
    results: list[TaskCheck | None] = [None] * len(tasks)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="hgm-check") as pool:
        futures = {
            pool.submit(check_task, task, sandbox, repeats=repeats, time_limit_s=time_limit_s): i
            for i, task in enumerate(tasks)
        }
        for future in as_completed(futures):
            i = futures[future]
            result = future.result()
            if tasks[i].id in tiers:
                result = replace(result, tier=tiers[tasks[i].id])
            results[i] = result
            if progress is not None:
                progress(result)
    return CheckReport(bench.name, tuple(r for r in results if r is not None))


def check_spec(spec: str, sandbox: Sandbox, **options) -> CheckReport:
    """Resolve ``spec`` and check it; a benchmark that does not load gives a report whose
    one problem is the loading error (``options`` as for :func:`check_benchmark`)."""
    try:
        bench = get_benchmark(spec)
    except BenchmarkError as e:
        return CheckReport(spec.strip(), (), load_error=str(e))
    return check_benchmark(bench, sandbox, **options)


def check_task(
    task: Task,
    sandbox: Sandbox,
    *,
    repeats: int = 2,
    time_limit_s: float = DEFAULT_TEST_TIME_LIMIT_S,
) -> TaskCheck:
    """Check one task (see the module docstring); safe to call from several threads.

    The result carries the task's tier when the task is a ``dir`` task with one.
    """
    problems, tier = _load(task)
    if problems:
        return TaskCheck(task.id, tuple(problems), tier)
    try:
        with tempfile.TemporaryDirectory(prefix=scratch_prefix("check")) as tmp:
            scratch = Path(tmp)
            untouched = _runs(sandbox, task, scratch / "untouched", repeats, time_limit_s)
            problems += _judge(untouched, expect_pass=False, limit_s=time_limit_s)
            runnable = untouched[0].verdict not in ("error", "cannot run")
            if task.solution is not None and runnable:
                solved = _runs(sandbox, task, scratch / "solved", repeats, time_limit_s, True)
                problems += _judge(solved, expect_pass=True, limit_s=time_limit_s)
    except (BenchmarkError, OSError) as e:
        problems.append(f"could not prepare the task's files: {e}")
    return TaskCheck(task.id, tuple(problems), tier, unchecked=task.solution is None)


def _load(task: Task) -> tuple[list[str], str | None]:
    """What keeps ``task`` from loading (missing folders; for a ``dir`` task, a
    ``task.toml`` that no longer validates), and the task's tier where it has one."""
    problems, tier = [], None
    if not task.test_command.strip():
        problems.append("the test command is empty")
    if not Path(task.workspace).is_dir():
        problems.append(f"{task.workspace}/: workspace folder is missing")
    tests = Path(task.tests)
    if not tests.is_dir() or not any(p.is_file() for p in tests.rglob("*")):
        problems.append(f"{tests}/: no hidden test files")
    if task.solution is not None and not Path(task.solution).is_dir():
        problems.append(f"{task.solution}/: reference solution folder is missing")
    if (tests.parent / TASK_FILE).is_file():
        try:
            tier = load_task_info(tests.parent).tier
        except BenchmarkError as e:
            problems += str(e).splitlines()
    return problems, tier


def list_benchmarks() -> list[dict]:
    """Every benchmark scheme: ``name``, ``spec`` (how to write it), ``description``,
    ``params`` (query parameters it takes); for ``builtin`` its ``tasks`` (``id``, ``tier``,
    ``language``), for ``polyglot`` its ``languages`` (name -> what the sandbox needs)."""
    entries = []
    for name in sorted(BENCHMARKS):
        spec, description = _USAGE.get(name, (None, None))
        try:
            cls = _benchmark_class(name)
        except ImportError as e:
            entries.append(
                {
                    "name": name,
                    "spec": spec or name,
                    "description": f"unavailable: {e}",
                    "params": [],
                }
            )
            continue
        if spec is None:
            spec = f"{name}:ARG" if _needs_argument(cls) else name
        doc = inspect.getdoc(cls) or ""
        entry = {
            "name": name,
            "spec": spec,
            "description": description or doc.split("\n\n")[0].replace("\n", " "),
            "params": list(dict.fromkeys([*getattr(cls, "params", ()), *_SUBSET_PARAMS])),
        }
        if name == "polyglot":
            entry["languages"] = {lang: tc.needs for lang, tc in cls.toolchains().items()}
        if name == "builtin":
            entry["tasks"] = [
                {"id": info.task.id, "tier": info.tier, "language": info.task.language}
                for info in cls().task_infos()
            ]
        entries.append(entry)
    return entries


_USAGE: dict[str, tuple[str, str]] = {
    "builtin": ("builtin", "Original Python tasks shipped with hgm, in five difficulty tiers."),
    "dir": ("dir:PATH", "A folder of task folders in the dir format (docs/tasks.md)."),
    "polyglot": (
        "polyglot:PATH[?languages=python,go&subset=small|a,b&tries=2]",
        "A local checkout of Aider's polyglot-benchmark (python by default).",
    ),
    "swebench": (
        "swebench:lite|verified[?ids=a,b&dataset=PATH&repos=DIR]",
        "SWE-bench Lite or Verified instances (needs the network, or a local dataset and repos).",
    ),
}


# -- running the hidden tests ----------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """One run of the test command: ``verdict`` is pass, fail, timeout, error, or cannot
    run (the command or its tests could not start)."""

    verdict: str
    where: str
    detail: str = ""


def _runs(
    sandbox: Sandbox,
    task: Task,
    scratch: Path,
    repeats: int,
    time_limit_s: float,
    solved: bool = False,
) -> list[_Run]:
    # Imported when needed: hgm.jobs pulls in the archive and the gateway, which listing
    # benchmarks has no use for.
    from hgm.jobs.evaluation import judge_hidden_tests

    workspace = copy_workspace(task, scratch / "workspace")
    if solved:
        apply_solution(task, workspace)
    where = "with the reference solution" if solved else "on the untouched workspace"
    runs = []
    for i in range(repeats):
        (scratch / f"run{i}").mkdir(parents=True)
        tests = judge_hidden_tests(sandbox, task, workspace, scratch / f"run{i}", time_limit_s)
        runs.append(_classify(tests.result, where, tests.verdict.reason))
        if runs[-1].verdict == "error":
            break
    return runs


def _classify(result: RunResult, where: str, failed: str | None = None) -> _Run:
    """``failed``: why hgm's verdict (not just the exit code) is not a pass, or None."""
    if result.error is not None:
        return _Run("error", where, result.error)
    if result.timed_out:
        return _Run("timeout", where)
    output = result.stdout + "\n" + result.stderr
    lines = output.strip().splitlines()
    tail = " | ".join(line.strip() for line in lines[-_TAIL_LINES:] if line.strip())
    why = f" ({failed})" if failed and result.exit_code == 0 else ""
    detail = f"exit code {result.exit_code}{why}: {tail}"
    no_tests = _NO_TESTS_RAN.search(output)
    if result.exit_code in _CANNOT_RUN_CODES or (failed is not None and no_tests):
        return _Run("cannot run", where, detail)
    return _Run("pass" if failed is None else "fail", where, detail)


def _errored(runs: list[_Run]) -> bool:
    return any(r.verdict == "error" for r in runs)


def _judge(runs: list[_Run], *, expect_pass: bool, limit_s: float) -> list[str]:
    first = runs[0]
    if _errored(runs):
        error = next(r for r in runs if r.verdict == "error")
        return [f"the sandbox failed {error.where}: {error.detail}"]
    problems = []
    if first.verdict == "cannot run":
        problems.append(f"the test command cannot run {first.where} ({first.detail})")
    elif first.verdict == "timeout":
        problems.append(f"hidden tests did not finish within {limit_s:g} s {first.where}")
    elif expect_pass and first.verdict != "pass":
        problems.append(f"hidden tests fail with the reference solution ({first.detail})")
    elif not expect_pass and first.verdict == "pass":
        problems.append("hidden tests pass on the untouched workspace")
    verdicts = [r.verdict for r in runs]
    if len(set(verdicts)) > 1:
        problems.append(
            f"test command is not deterministic: {first.where} it gave {', then '.join(verdicts)}"
        )
    return problems


def _tiers(bench: Benchmark, infos: Iterable[TaskInfo] | None) -> dict[str, str | None]:
    if infos is None:
        task_infos = getattr(bench, "task_infos", None)
        infos = task_infos() if callable(task_infos) else ()
    return {info.task.id: info.tier for info in infos}


def _benchmark_class(name: str) -> type:
    module_name, _, cls_name = BENCHMARKS[name].partition(":")
    return getattr(importlib.import_module(module_name), cls_name)


def _needs_argument(cls: type) -> bool:
    params = list(inspect.signature(cls).parameters.values())
    return bool(params) and params[0].default is inspect.Parameter.empty
