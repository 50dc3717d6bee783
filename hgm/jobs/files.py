"""File-tree helpers for jobs: copying agent trees without junk, and prompt templates."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

# Never part of an agent's source: caches, logs, and what a run of the agent leaves behind.
JUNK_NAMES = frozenset(
    {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git", ".hgm", "trajectory.json"}
)
JUNK_SUFFIXES = (".pyc", ".pyo", ".log", ".tmp", ".swp")


def is_junk(name: str) -> bool:
    return name in JUNK_NAMES or name.endswith(JUNK_SUFFIXES)


def copy_clean(src: Path, dst: Path) -> Path:
    """Copy a tree without junk and without following symlinks out of it."""

    def ignore(_dir: str, names: list[str]) -> set[str]:
        return {n for n in names if is_junk(n)}

    shutil.copytree(src, dst, symlinks=True, ignore=ignore, dirs_exist_ok=True)
    for link in [p for p in dst.rglob("*") if p.is_symlink()]:
        # An agent's tree is source code: a symlink there is either junk or an escape attempt.
        link.unlink()
    return dst


def trees_equal(a: Path, b: Path) -> bool:
    """True when two trees hold the same files with the same bytes (junk ignored)."""

    def listing(root: Path) -> dict[str, bytes]:
        out = {}
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root)
            if any(is_junk(part) for part in rel.parts) or not p.is_file():
                continue
            out[str(rel)] = p.read_bytes()
        return out

    return listing(a) == listing(b)


def prompt(name: str) -> str:
    """A prompt template shipped in hgm/prompts/."""
    return resources.files("hgm.prompts").joinpath(f"{name}.txt").read_text()


def shorten(text: str, limit: int = 12_000) -> str:
    """Keep the head and the tail of a long text; the middle is usually the least useful."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters omitted ...]\n{text[-half:]}"


# Names a file at the root of the judged workspace must not take unless the task itself
# has it: the test command runs there, and Python puts that folder first on sys.path.
RUNNER_MODULES = frozenset(
    {"pytest", "_pytest", "pluggy", "py", "iniconfig", "sitecustomize", "usercustomize"}
)
# Test-runner configuration read from the workspace root.
RUNNER_CONFIG = ("pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml")


def guard_test_runner(judged: Path, original: Path | None) -> list[str]:
    """Undo what an agent could do in its workspace to change how the hidden tests run.

    The hidden tests run in a copy of the agent's workspace, because they must import the
    agent's code; so, left alone, an agent could also plant code the test runner imports
    in place of its own: a ``unittest/`` package or ``json.py`` at the root shadows the
    standard library (the root is first on ``sys.path``), a ``conftest.py`` is loaded by
    pytest, a ``pytest.ini`` or ``pyproject.toml`` changes pytest's options. In ``judged``:

    * a module or package at the root named like a standard-library module or a test
      runner's (``unittest/``, ``json.py``, ``pytest/``, ``sitecustomize.py``, ...) that the
      task's workspace ``original`` does not have is removed;
    * every ``conftest.py``, and the runner configuration files at the root
      (:data:`RUNNER_CONFIG`), are put back as they are in ``original``: removed when the
      task has none, restored when the agent changed them.

    Returns one line per change, for the test log.
    """
    import sys

    shadowed = set(sys.stdlib_module_names) | RUNNER_MODULES
    original = None if original is None else Path(original)
    changes: list[str] = []

    def in_original(rel: Path) -> Path | None:
        if original is None:
            return None
        p = original / rel
        return p if (p.exists() and not p.is_symlink()) else None

    for entry in sorted(judged.iterdir()):
        module = entry.name.split(".", 1)[0]
        if module not in shadowed or entry.name in RUNNER_CONFIG:
            continue
        if not (entry.is_dir() or entry.suffix in (".py", ".so", ".pyd")):
            continue
        if in_original(Path(entry.name)) is not None:
            continue
        _remove(entry)
        changes.append(f"removed {entry.name}: it would shadow the module {module!r}")
    watched = [p.relative_to(judged) for p in judged.rglob("conftest.py")]
    watched += [Path(name) for name in RUNNER_CONFIG if (judged / name).exists()]
    if original is not None:
        watched += [p.relative_to(original) for p in original.rglob("conftest.py")]
        watched += [Path(n) for n in RUNNER_CONFIG if (original / n).is_file()]
    for rel in sorted(set(watched)):
        here, there = judged / rel, in_original(rel)
        if there is None:
            if here.exists() or here.is_symlink():
                _remove(here)
                changes.append(f"removed {rel}: test-runner configuration the task does not have")
        elif not here.is_file() or here.read_bytes() != there.read_bytes():
            if here.exists() or here.is_symlink():
                _remove(here)
            here.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(there, here)
            changes.append(f"restored {rel}: test-runner configuration is the task's")
    return changes


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
