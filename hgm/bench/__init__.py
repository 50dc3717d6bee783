"""Benchmarks: named sets of coding tasks that agents are evaluated on.

A benchmark is an object with a ``name`` and ``tasks() -> list[Task]``. Benchmarks are named
by string:

- ``"builtin"``: the tasks shipped inside the package (``hgm/bench/builtin_tasks/``);
- ``"dir:PATH"``: a folder of task folders in the ``dir`` format (see docs/tasks.md);
- ``"polyglot:PATH[?languages=python,go&subset=a,b]"``: a local checkout of Aider's
  polyglot-benchmark (docs/benchmarks.md);
- any of them with a subset: ``"builtin?ids=a,b"`` (those tasks, in that order) or
  ``"builtin?sample=10&seed=0"`` (a seeded random sample, in benchmark order).

A benchmark class may take parameters of its own from the query: it names them in a
``params`` class attribute, and they reach its constructor as keyword arguments (strings).

A task's files are used through three helpers: :func:`copy_workspace` (a fresh copy for the
agent), :func:`inject_hidden_tests` (after the agent finishes) and :func:`apply_solution`
(the reference solution, for checking that a task is solvable).
"""

from __future__ import annotations

import importlib
import inspect
import random
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qsl

from hgm.bench.dirbench import (
    BenchmarkError,
    TaskInfo,
    apply_solution,
    copy_workspace,
    hidden_tests_dir,
    inject_hidden_tests,
    load_dir_benchmark,
    load_task_dir,
    load_task_info,
    load_task_infos,
)
from hgm.types import Task


@runtime_checkable
class Benchmark(Protocol):
    """A named, ordered list of tasks. The order is stable: evaluations refer to task indices."""

    name: str

    def tasks(self) -> list[Task]: ...


# name -> "module:Class". The class is called with the spec's argument (the text after
# "name:"), or with no argument when the spec has none.
BENCHMARKS: dict[str, str] = {
    "builtin": "hgm.bench.builtin:BuiltinBenchmark",
    "dir": "hgm.bench.dirbench:DirBenchmark",
    "polyglot": "hgm.bench.polyglot:PolyglotBenchmark",
    "swebench": "hgm.bench.swebench:SwebenchBenchmark",
}

_SUBSET_PARAMS = ("ids", "sample", "seed")


@dataclass(frozen=True)
class SubsetBenchmark:
    """A fixed selection of another benchmark's tasks (the result of ``?ids=`` or ``?sample=``)."""

    name: str
    selected: tuple[Task, ...]

    def tasks(self) -> list[Task]:
        return list(self.selected)


def get_benchmark(spec: str) -> Benchmark:
    """Build a benchmark from a spec such as ``"builtin"``, ``"dir:tasks"`` or
    ``"builtin?ids=a,b"`` / ``"builtin?sample=5&seed=1"``.

    Raises :class:`BenchmarkError` for an unknown name (listing the valid ones), a malformed
    query, an unknown task id, or a task folder that fails validation.
    """
    name, arg, query = _parse_spec(spec)
    if name not in BENCHMARKS:
        raise BenchmarkError(
            f"unknown benchmark {name!r}; choose one of: {', '.join(sorted(BENCHMARKS))}"
        )
    module_name, _, cls_name = BENCHMARKS[name].partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    params, own = _parse_query(spec, query, tuple(getattr(cls, "params", ())))
    args = () if arg is None else (arg,)
    try:
        inspect.signature(cls).bind(*args, **own)
    except TypeError:
        need = "takes no argument" if args else f"needs an argument ({name}:ARG)"
        raise BenchmarkError(f"benchmark {name!r} {need}: {spec!r}") from None
    bench = cls(*args, **own)
    if not params:
        return bench
    selected = select_tasks(
        bench.tasks(),
        ids=params.get("ids"),
        sample=params.get("sample"),
        seed=params.get("seed", 0),
    )
    return SubsetBenchmark(name=spec.strip(), selected=tuple(selected))


def select_tasks(
    tasks: list[Task],
    ids: list[str] | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> list[Task]:
    """Pick tasks by id (in the order given), then a seeded sample of ``sample`` of them.

    A sample keeps the benchmark's order, and the same ``seed`` always picks the same tasks.
    """
    if ids is not None:
        by_id = {t.id: t for t in tasks}
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise BenchmarkError(
                f"unknown task id(s): {', '.join(unknown)}; valid ids: {', '.join(sorted(by_id))}"
            )
        tasks = [by_id[i] for i in dict.fromkeys(ids)]
    if sample is not None:
        if not 0 < sample <= len(tasks):
            raise BenchmarkError(f"sample={sample} must be between 1 and {len(tasks)}")
        picked = random.Random(seed).sample(range(len(tasks)), sample)
        tasks = [tasks[i] for i in sorted(picked)]
    return tasks


def _parse_spec(spec: str) -> tuple[str, str | None, str]:
    head, _, query = spec.strip().partition("?")
    name, colon, arg = head.partition(":")
    if colon and not arg:
        raise BenchmarkError(f"benchmark spec {spec!r} has an empty argument after {name}:")
    return name, (arg if colon else None), query


def _parse_query(spec: str, query: str, own: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """The subset parameters (converted) and the benchmark's own ``params`` (strings)."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise BenchmarkError(f"malformed query in benchmark spec {spec!r}") from None
    params: dict = {}
    own_values: dict[str, str] = {}
    for key, value in pairs:
        if key not in _SUBSET_PARAMS and key not in own:
            valid = ", ".join((*own, *_SUBSET_PARAMS))
            raise BenchmarkError(f"unknown parameter {key!r} in {spec!r}; valid: {valid}")
        if key in params or key in own_values:
            raise BenchmarkError(f"parameter {key!r} is given twice in {spec!r}")
        if key in own:
            own_values[key] = value
        else:
            params[key] = _convert_param(spec, key, value)
    if "seed" in params and "sample" not in params:
        raise BenchmarkError(f"seed= only applies with sample= (in {spec!r})")
    return params, own_values


def _convert_param(spec: str, key: str, value: str) -> list[str] | int:
    if key == "ids":
        ids = [part.strip() for part in value.split(",") if part.strip()]
        if not ids:
            raise BenchmarkError(f"ids= lists no task ids in {spec!r}")
        return ids
    try:
        return int(value)
    except ValueError:
        raise BenchmarkError(f"{key}= must be an integer, got {value!r} in {spec!r}") from None


__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "BenchmarkError",
    "SubsetBenchmark",
    "TaskInfo",
    "apply_solution",
    "copy_workspace",
    "get_benchmark",
    "hidden_tests_dir",
    "inject_hidden_tests",
    "load_dir_benchmark",
    "load_task_dir",
    "load_task_info",
    "load_task_infos",
    "select_tasks",
]
