"""The ``dir`` task format: one folder per task (``task.toml``, ``workspace/``, ``tests/``,
``solution/``), and the file operations a harness does with it.

docs/tasks.md is the reference for the format. Everything read from disk is validated here,
and every problem names the file and the field, so a task author can fix a folder from the
message alone.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hgm.types import Task

TASK_FILE = "task.toml"
DEFAULT_HIDDEN_TESTS_DIR = "tests_hidden"
Tier = Literal["single-bug", "multi-file-bug", "feature", "refactor", "explore"]

# Byte-code caches are junk in a task's files: they would leak a compiled copy of the
# solution or tests, and they differ from machine to machine.
_JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


class BenchmarkError(Exception):
    """A benchmark could not be resolved or loaded; the message says what to fix."""


@dataclass(frozen=True)
class TaskInfo:
    """A task plus the ``dir`` format's metadata that :class:`hgm.types.Task` does not carry."""

    task: Task
    tier: Tier | None = None
    tags: tuple[str, ...] = ()
    hidden_tests_dir: str = DEFAULT_HIDDEN_TESTS_DIR


class TaskFile(BaseModel):
    """The schema of ``task.toml``. Unknown fields are rejected, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    instructions: str
    test_command: str
    time_limit_s: float = Field(default=600.0, gt=0)
    language: str = "python"
    tier: Tier | None = None
    tags: list[str] = []
    hidden_tests_dir: str = DEFAULT_HIDDEN_TESTS_DIR

    @field_validator("instructions", "test_command", "language")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("hidden_tests_dir")
    @classmethod
    def _relative_inside(cls, value: str) -> str:
        parts = PurePosixPath(value).parts
        if not parts or value.startswith("/") or "\\" in value or ".." in parts:
            raise ValueError("must be a relative path inside the workspace, without '..'")
        return value


def load_task_info(path: Path) -> TaskInfo:
    """Load and validate one task folder; raise :class:`BenchmarkError` listing every problem."""
    path = Path(path)
    problems: list[str] = []
    spec = _read_task_file(path, problems)
    if spec is not None and spec.id != path.name:
        problems.append(
            f"{path / TASK_FILE}: field 'id' is {spec.id!r} but the folder is named {path.name!r}"
        )
    problems += _layout_problems(path, spec)
    if problems or spec is None:
        raise BenchmarkError("\n".join(problems))
    solution = path / "solution"
    task = Task(
        id=spec.id,
        instructions=spec.instructions,
        workspace=path / "workspace",
        tests=path / "tests",
        test_command=spec.test_command,
        time_limit_s=float(spec.time_limit_s),
        language=spec.language,
        solution=solution if solution.is_dir() else None,
    )
    return TaskInfo(task, spec.tier, tuple(spec.tags), spec.hidden_tests_dir)


def load_task_dir(path: Path) -> Task:
    """Load and validate one task folder."""
    return load_task_info(path).task


def load_task_infos(path: Path) -> list[TaskInfo]:
    """Load a folder of task folders (sorted by name), or a single task folder.

    Folders whose names start with ``.`` or ``_`` are skipped. Problems in all task folders
    are reported together.
    """
    path = Path(path)
    if not path.is_dir():
        raise BenchmarkError(f"{path}: not a folder")
    if (path / TASK_FILE).is_file():
        return [load_task_info(path)]
    folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if not folders:
        raise BenchmarkError(f"{path}: no task folders (each needs a {TASK_FILE})")
    infos, problems = [], []
    for folder in folders:
        try:
            infos.append(load_task_info(folder))
        except BenchmarkError as e:
            problems.append(str(e))
    if problems:
        raise BenchmarkError("\n".join(problems))
    return infos


def load_dir_benchmark(path: Path) -> list[Task]:
    """Load every task of a folder of task folders, in name order."""
    return [info.task for info in load_task_infos(path)]


class DirBenchmark:
    """The benchmark behind ``dir:PATH``; the folder is validated when the object is made."""

    def __init__(self, path: str | Path, name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or f"dir:{path}"
        self._infos = tuple(load_task_infos(self.path))

    def tasks(self) -> list[Task]:
        return [info.task for info in self._infos]

    def task_infos(self) -> list[TaskInfo]:
        """The tasks with their tier, tags and hidden-tests folder."""
        return list(self._infos)


def hidden_tests_dir(task: Task) -> str:
    """Where ``task``'s hidden tests go, relative to the workspace root.

    Read from the task's ``task.toml`` (``hidden_tests_dir``) when the task comes from a
    ``dir`` folder, else the default ``tests_hidden``.
    """
    task_file = Path(task.tests).parent / TASK_FILE
    if not task_file.is_file():
        return DEFAULT_HIDDEN_TESTS_DIR
    problems: list[str] = []
    spec = _read_task_file(task_file.parent, problems)
    if spec is None:
        raise BenchmarkError("\n".join(problems))
    return spec.hidden_tests_dir


def copy_workspace(task: Task, dest: Path) -> Path:
    """Copy ``task``'s workspace to ``dest`` (created; caches left out) and return ``dest``."""
    shutil.copytree(task.workspace, dest, ignore=_JUNK, dirs_exist_ok=True)
    return Path(dest)


def inject_hidden_tests(task: Task, workspace: Path, hidden_dir: str | None = None) -> None:
    """Put ``task``'s hidden tests into ``workspace/<hidden_dir>``.

    The contents of the task's ``tests/`` folder become that folder. Whatever the agent left
    at that path is removed first, so the tests that run are exactly the task's.
    """
    workspace = Path(workspace).resolve()
    target = workspace / (hidden_dir or hidden_tests_dir(task))
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.parent.resolve().is_relative_to(workspace):
        raise BenchmarkError(f"{target}: hidden tests would land outside the workspace")
    shutil.copytree(task.tests, target, ignore=_JUNK)


def apply_solution(task: Task, workspace: Path) -> None:
    """Overwrite ``workspace`` with the files of ``task``'s reference solution.

    Each file under ``solution/`` replaces the file at the same relative path (full files,
    not patches); files the solution does not mention are left alone.
    """
    if task.solution is None:
        raise BenchmarkError(f"task {task.id!r} has no reference solution")
    workspace = Path(workspace)
    solution = Path(task.solution)
    for source in sorted(solution.rglob("*")):
        rel = source.relative_to(solution)
        if source.is_dir() or "__pycache__" in rel.parts or source.suffix in (".pyc", ".pyo"):
            continue
        target = workspace / rel
        if target.is_symlink():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def _read_task_file(folder: Path, problems: list[str]) -> TaskFile | None:
    task_file = folder / TASK_FILE
    try:
        with task_file.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        problems.append(f"{task_file}: file is missing")
        return None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        problems.append(f"{task_file}: not valid TOML: {e}")
        return None
    try:
        return TaskFile.model_validate(data)
    except ValidationError as e:
        problems += [f"{task_file}: {_describe(err)}" for err in e.errors()]
        return None


def _describe(err: dict) -> str:
    field, *rest = err["loc"] or ("?",)
    where = f"field {field!r}" + (f" (item {'.'.join(map(str, rest))})" if rest else "")
    if err["type"] == "missing":
        return f"{where} is missing"
    if err["type"] == "extra_forbidden":
        known = ", ".join(TaskFile.model_fields)
        return f"unknown field {field!r} (known fields: {known})"
    return f"{where}: {err['msg']}"


def _layout_problems(path: Path, spec: TaskFile | None) -> list[str]:
    problems = []
    for name in ("workspace", "tests"):
        if not (path / name).is_dir():
            problems.append(f"{path / name}/: folder is missing")
    tests = path / "tests"
    if tests.is_dir() and not any(p.is_file() for p in tests.rglob("*")):
        problems.append(f"{tests}/: folder has no files (the hidden tests go here)")
    solution = path / "solution"
    if solution.exists() and not solution.is_dir():
        problems.append(f"{solution}: must be a folder")
    if spec is not None and (path / "workspace" / spec.hidden_tests_dir).exists():
        problems.append(
            f"{path / 'workspace' / spec.hidden_tests_dir}: already exists; field "
            f"'hidden_tests_dir' in {path / TASK_FILE} must name a path the workspace lacks"
        )
    return problems
