"""The ``polyglot:PATH`` benchmark: a local checkout of Aider's polyglot-benchmark layout.

The layout read (docs/benchmarks.md has the full description)::

    PATH/<language>/exercises/practice/<exercise>/
        .meta/config.json      {"files": {"solution": [...], "test": [...], "example": [...]}}
        .docs/instructions.md  (+ optional introduction.md, instructions.append.md)
        solution stubs, test files, support files (build files, helpers)

Each exercise becomes one task with id ``<language>/<exercise>``. A task's files must be
folders of their own (the harness copies ``Task.workspace`` whole), so every exercise is
laid out once in a cache folder -- ``workspace/`` (the exercise minus its tests, ``.meta``
and ``.docs``), ``tests/`` (every file the exercise ships except its solution files: the
tests, ``files.editor`` files, build files) and ``solution/`` (the example files under the
solution files' names). The cache entry is named by a digest
of the exercise's content, so an edited exercise gets a fresh entry and an unchanged one is
reused. The cache lives in ``$HGM_CACHE_DIR/polyglot`` (default
``$XDG_CACHE_HOME/hgm/polyglot``, else ``~/.cache/hgm/polyglot``).

Hidden tests are injected like any task's (into ``tests_hidden/``); every test command first
keeps only the solution files of the agent's workspace and puts everything else back as the
exercise ships it, then runs the language's runner (:mod:`hgm.bench._polyglot_toolchains`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hgm.bench._polyglot_toolchains import TOOLCHAINS, Toolchain, test_command
from hgm.bench.dirbench import BenchmarkError
from hgm.bench.subsets import is_subset_name, subset_ids
from hgm.types import Task

CONFIG_FILE = ".meta/config.json"
DEFAULT_LANGUAGES = ("python",)
DOC_PARTS = ("introduction.md", "instructions.md", "instructions.append.md")
"""The ``.docs`` files joined into a task's instructions, in this order; only the second is
required."""
MAX_TRIES = 5
"""The most attempts ``tries=`` allows (Aider's protocol uses 2)."""
CARGO_EXAMPLE = ".meta/Cargo-example.toml"
"""A Rust exercise's reference Cargo.toml (its solution's dependencies), where it has one."""
JAVA_REFERENCE = ".meta/src/reference/"
"""Where a Java exercise keeps its reference classes; they go to ``src/main/``."""
_LAYOUT_VERSION = "2"  # part of every cache digest: bump when the cached layout changes
_JUNK_NAMES = frozenset({"__pycache__", ".pytest_cache", "node_modules", "target", "build"})
_JUNK_SUFFIXES = (".pyc", ".pyo")


class _Files(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    solution: list[str] = Field(min_length=1)
    test: list[str] = Field(min_length=1)
    example: list[str] = []


class _Config(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    files: _Files


@dataclass(frozen=True)
class Exercise:
    """One exercise as read from the checkout; file lists are relative to ``folder``."""

    language: str
    name: str
    folder: Path
    solution: tuple[str, ...]
    tests: tuple[str, ...]
    examples: tuple[str, ...]
    instructions: str

    @property
    def id(self) -> str:
        return f"{self.language}/{self.name}"


class PolyglotBenchmark:
    """The benchmark behind ``polyglot:PATH[?languages=python,go&subset=a,b]``.

    ``languages``: comma-separated language folders, in the order wanted (default
    ``python``, or with a named subset the languages it uses). ``subset``: a subset DGM and
    HGM published (``small``, ``medium``: :mod:`hgm.bench.subsets`), or comma-separated
    exercise names (``bowling``, every selected language's) or task ids
    (``python/bowling``); tasks keep benchmark order. Only the selected exercises are read,
    and every problem among them is reported at once. ``tries``: attempts per task (default
    1, as DGM and HGM run; 2 is Aider's protocol, where a second attempt sees the failed
    tests' output: :mod:`hgm.jobs._attempts`).
    """

    params = ("languages", "subset", "tries")

    def __init__(
        self,
        path: str | Path,
        languages: str | None = None,
        subset: str | None = None,
        tries: str | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.path = Path(path)
        attempts = _tries(tries)
        wanted = None if subset is None else _split(subset, "subset")
        if subset is not None and is_subset_name("polyglot", subset.strip()):
            wanted = tuple(subset_ids("polyglot", subset.strip()))
            used = {i.partition("/")[0] for i in wanted}
            default = tuple(lang for lang in TOOLCHAINS if lang in used)
            if languages is not None:
                keep = set(_split(languages, "languages"))
                wanted = tuple(i for i in wanted if i.partition("/")[0] in keep)
                if not wanted:
                    raise BenchmarkError(f"subset {subset.strip()!r} has no exercise in {languages}")
        else:
            default = DEFAULT_LANGUAGES
        langs = default if languages is None else _split(languages, "languages")
        given = (("languages", languages), ("subset", subset), ("tries", tries))
        query = "&".join(f"{k}={v}" for k, v in given if v is not None)
        self.name = f"polyglot:{path}" + (f"?{query}" if query else "")
        exercises = read_exercises(self.path, langs, wanted)
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._tasks = tuple(replace(exercise_task(ex, cache), tries=attempts) for ex in exercises)

    def tasks(self) -> list[Task]:
        return list(self._tasks)

    @staticmethod
    def toolchains() -> dict[str, Toolchain]:
        """The languages this adapter knows, and how each is tested."""
        return dict(TOOLCHAINS)


def default_cache_dir() -> Path:
    """Where laid-out exercises are kept (see the module docstring)."""
    root = os.environ.get("HGM_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = Path(xdg, "hgm") if xdg else Path.home() / ".cache" / "hgm"
    return Path(root) / "polyglot"


def read_exercises(
    path: Path, languages: tuple[str, ...], subset: tuple[str, ...] | None
) -> list[Exercise]:
    """Read the selected exercises of ``languages`` (each language's in name order)."""
    unknown = [lang for lang in languages if lang not in TOOLCHAINS]
    if unknown:
        raise BenchmarkError(
            f"unknown language(s): {', '.join(unknown)}; known: {', '.join(TOOLCHAINS)}"
        )
    if not path.is_dir():
        raise BenchmarkError(f"{path}: not a folder")
    folders = [(lang, folder) for lang in languages for folder in _exercise_folders(path, lang)]
    if subset is not None:
        folders = _select(folders, subset)
    exercises, problems = [], []
    for lang, folder in folders:
        try:
            exercises.append(read_exercise(folder, lang))
        except BenchmarkError as e:
            problems.append(str(e))
    if problems:
        raise BenchmarkError("\n".join(problems))
    return exercises


def read_exercise(folder: Path, language: str) -> Exercise:
    """Read and validate one exercise folder; raise :class:`BenchmarkError` listing every
    problem, each naming the file (and field) to fix."""
    problems: list[str] = []
    config = _read_config(folder, problems)
    instructions = _read_instructions(folder, problems)
    if config is not None:
        files = config.files
        for field, names in (
            ("solution", files.solution),
            ("test", files.test),
            ("example", files.example),
        ):
            for name in names:
                problems += _file_problems(folder, field, name)
    if problems or config is None:
        raise BenchmarkError("\n".join(problems))
    return Exercise(
        language=language,
        name=folder.name,
        folder=folder,
        solution=tuple(config.files.solution),
        tests=tuple(config.files.test),
        examples=tuple(config.files.example),
        instructions=instructions + _closing_note(config.files.solution),
    )


def exercise_task(ex: Exercise, cache: Path) -> Task:
    """The task for ``ex``, its files laid out in ``cache`` (reused when unchanged)."""
    mapping = solution_mapping(ex)
    folder = _materialize(ex, mapping, cache)
    return Task(
        id=ex.id,
        instructions=ex.instructions,
        workspace=folder / "workspace",
        tests=folder / "tests",
        test_command=test_command(ex.language, ex.name, ex.solution, ex.tests),
        language=ex.language,
        solution=folder / "solution" if mapping else None,
    )


def solution_mapping(ex: Exercise) -> dict[str, str]:
    """Example file -> the file it stands for; empty when they cannot be paired.

    A Java reference class under ``.meta/src/reference/`` goes to the same path under
    ``src/main/`` (a reference may span several classes). Any other example pairs with the
    solution file of the same name, else with the only unpaired solution file of the same
    suffix (``.meta/example.py`` -> ``bowling.py``; ``.meta/example.rs`` -> ``src/lib.rs``
    beside ``Cargo.toml``). Every example must pair. A Rust exercise's
    ``.meta/Cargo-example.toml`` stands for its ``Cargo.toml``.
    """
    mapping: dict[str, str] = {}
    if "Cargo.toml" in ex.solution and (ex.folder / CARGO_EXAMPLE).is_file():
        mapping[CARGO_EXAMPLE] = "Cargo.toml"
    for example in ex.examples:
        if example.startswith(JAVA_REFERENCE):
            mapping[example] = "src/main/" + example[len(JAVA_REFERENCE) :]
            continue
        free = [s for s in ex.solution if s not in mapping.values()]
        same_name = [s for s in free if PurePosixPath(s).name == PurePosixPath(example).name]
        same_suffix = [s for s in free if PurePosixPath(s).suffix == PurePosixPath(example).suffix]
        match = same_name or (same_suffix if len(same_suffix) == 1 else [])
        if len(match) != 1:
            return {}
        mapping[example] = match[0]
    return mapping


# -- reading ----------------------------------------------------------------------------


def _tries(value: str | None) -> int:
    if value is None:
        return 1
    if not value.strip().isdigit() or not 1 <= int(value) <= MAX_TRIES:
        raise BenchmarkError(f"tries= must be a whole number from 1 to {MAX_TRIES}, got {value!r}")
    return int(value)


def _split(value: str, what: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    if not items:
        raise BenchmarkError(f"{what}= lists nothing")
    return items


def _exercise_folders(path: Path, language: str) -> list[Path]:
    practice = path / language / "exercises" / "practice"
    if not practice.is_dir():
        raise BenchmarkError(f"{path}: no {language}/exercises/practice folder")
    folders = sorted(
        p for p in practice.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
    )
    if not folders:
        raise BenchmarkError(f"{practice}: no exercise folders")
    return folders


def _select(folders: list[tuple[str, Path]], subset: tuple[str, ...]) -> list[tuple[str, Path]]:
    known = {f"{lang}/{folder.name}" for lang, folder in folders} | {f.name for _, f in folders}
    unknown = [name for name in subset if name not in known]
    if unknown:
        raise BenchmarkError(
            f"unknown exercise(s) in subset=: {', '.join(unknown)}; "
            f"valid: {', '.join(sorted(f'{lang}/{f.name}' for lang, f in folders))}"
        )
    wanted = set(subset)
    return [(lang, f) for lang, f in folders if f.name in wanted or f"{lang}/{f.name}" in wanted]


def _read_config(folder: Path, problems: list[str]) -> _Config | None:
    config_file = folder / CONFIG_FILE
    try:
        data = json.loads(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{config_file}: missing")
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        problems.append(f"{config_file}: not valid JSON: {e}")
        return None
    try:
        return _Config.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            where = ".".join(map(str, err["loc"])) or "?"
            what = "is missing" if err["type"] == "missing" else err["msg"]
            problems.append(f"{config_file}: field {where!r} {what}")
        return None


def _read_instructions(folder: Path, problems: list[str]) -> str:
    docs = folder / ".docs"
    if not (docs / "instructions.md").is_file():
        problems.append(f"{docs / 'instructions.md'}: missing")
        return ""
    parts = [
        (docs / name).read_text(encoding="utf-8").strip()
        for name in DOC_PARTS
        if (docs / name).is_file()
    ]
    return "\n\n".join(part for part in parts if part)


def _closing_note(solution: list[str]) -> str:
    return (
        f"\n\nWrite your solution in {', '.join(solution)}. Keep the names of the existing "
        "files, functions and classes: hidden tests use them. Do not add dependencies.\n"
    )


def _file_problems(folder: Path, field: str, name: str) -> list[str]:
    where = f"{folder / CONFIG_FILE}: files.{field}"
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or "\\" in name or not rel.parts:
        return [f"{where}: {name!r} must be a relative path inside the exercise"]
    if field != "example" and rel.parts[0] in (".meta", ".docs"):
        return [f"{where}: {name!r} must not lie in .meta or .docs"]
    if not (folder / rel).is_file():
        return [f"{folder / rel}: missing (listed in {where})"]
    return []


# -- the cached layout ------------------------------------------------------------------


def _materialize(ex: Exercise, mapping: dict[str, str], cache: Path) -> Path:
    dest = cache / f"{ex.language}-{ex.name}-{_digest(ex)[:16]}"
    if dest.is_dir():
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".build-", dir=cache))
    try:
        _lay_out(ex, mapping, build)
        # Built aside and renamed: a reader never sees half an entry, and of two loads
        # racing, the second finds the first one's entry and drops its own.
        build.rename(dest)
    except OSError:
        if not dest.is_dir():
            raise
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return dest


def _lay_out(ex: Exercise, mapping: dict[str, str], root: Path) -> None:
    # tests/ holds every file the exercise ships except its solution files: the test
    # command puts them all back before grading (tests, files.editor files, build files).
    hidden = {PurePosixPath(t) for t in ex.tests}
    solution = {PurePosixPath(s) for s in ex.solution}
    for rel in _exercise_files(ex.folder):
        if rel.parts[0] in (".meta", ".docs"):
            continue
        if rel not in hidden:
            _copy(ex.folder / rel, root / "workspace" / rel)
        if rel not in solution and rel not in hidden:
            _copy(ex.folder / rel, root / "tests" / rel)
    (root / "workspace").mkdir(exist_ok=True)
    unskip = TOOLCHAINS[ex.language].unskip
    for rel in ex.tests:
        target = root / "tests" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if unskip is None:
            shutil.copyfile(ex.folder / rel, target)
        else:
            target.write_text(
                unskip((ex.folder / rel).read_text(encoding="utf-8")), encoding="utf-8"
            )
    for example, solution_file in mapping.items():
        _copy(ex.folder / example, root / "solution" / solution_file)


def _exercise_files(folder: Path) -> list[PurePosixPath]:
    files = []
    for p in sorted(folder.rglob("*")):
        rel = PurePosixPath(p.relative_to(folder).as_posix())
        if any(part in _JUNK_NAMES for part in rel.parts) or rel.suffix in _JUNK_SUFFIXES:
            continue
        if p.is_file() and not p.is_symlink():
            files.append(rel)
    return files


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)  # copy2 keeps the mode: gradlew and scripts stay executable


def _digest(ex: Exercise) -> str:
    h = hashlib.sha256()
    h.update(
        json.dumps([_LAYOUT_VERSION, ex.language, ex.solution, ex.tests, ex.examples]).encode()
    )
    for rel in _exercise_files(ex.folder):
        data = (ex.folder / rel).read_bytes()
        h.update(f"\0{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()
