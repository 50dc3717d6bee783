"""File-tree helpers for jobs: bounded copies of trees the agent controls, capped reads, prompts."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

# Never part of an agent's source: caches, logs, and what a run of the agent leaves behind.
JUNK_NAMES = frozenset(
    {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git", ".hgm", "trajectory.json"}
)
JUNK_SUFFIXES = (".pyc", ".pyo", ".log", ".tmp", ".swp")


def is_junk(name: str) -> bool:
    return name in JUNK_NAMES or name.endswith(JUNK_SUFFIXES)


@dataclass(frozen=True)
class TreeLimits:
    """Bounds on a tree the agent controls, checked while it is copied or compared."""

    max_depth: int = 64
    """Folders nested deeper than this below the root."""
    max_entries: int = 200_000
    """Files and folders in all."""
    max_bytes: int = 1 << 30
    """Sum of the files' apparent sizes (a sparse file counts as its full size)."""
    what: str = "the tree"
    """How messages name the tree ("the workspace", "the agent's source")."""


class TreeTooLarge(Exception):
    """A tree broke one of its :class:`TreeLimits`, or holds what cannot be read (its owner
    made it unreadable); the message says which, in one line."""


def walk_tree(root: Path, limits: TreeLimits = TreeLimits()) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry under ``root`` as (relative posix path, lstat), parents before children.

    Iterative (no recursion, whatever the depth) and bounded: raises :class:`TreeTooLarge`
    as soon as the tree is deeper, larger or has more entries than ``limits`` allow. Junk
    (:func:`is_junk`) is skipped with everything below it; symlinks and special files are
    yielded as such, never followed.
    """
    root = Path(root)
    stack: list[tuple[str, int]] = [("", 0)]
    entries = size = 0
    while stack:
        rel, depth = stack.pop()
        children = _listing(root / rel if rel else root, rel, limits)
        for entry in children:
            if is_junk(entry.name):
                continue
            st = entry.stat(follow_symlinks=False)
            entries += 1
            if entries > limits.max_entries:
                raise TreeTooLarge(f"{limits.what} has more than {limits.max_entries} files and folders")
            child = f"{rel}/{entry.name}" if rel else entry.name
            if stat.S_ISDIR(st.st_mode):
                if depth + 1 > limits.max_depth:
                    raise TreeTooLarge(f"{limits.what} is nested deeper than {limits.max_depth} folders")
                stack.append((child, depth + 1))
            elif stat.S_ISREG(st.st_mode):
                size += st.st_size
                if size > limits.max_bytes:
                    raise TreeTooLarge(f"{limits.what} holds more than {limits.max_bytes} bytes of files")
            yield child, st


def copy_clean(src: Path, dst: Path, limits: TreeLimits = TreeLimits()) -> Path:
    """Copy a tree without junk, symlinks or special files, within ``limits``.

    An agent's tree is source code: a symlink there is either junk or an escape attempt,
    and a fifo would block the copy. Raises :class:`TreeTooLarge` (and leaves a partial
    ``dst``) when the tree breaks a limit.
    """
    src, dst = Path(src), Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    for rel, st in walk_tree(src, limits):
        if stat.S_ISDIR(st.st_mode):
            (dst / rel).mkdir(exist_ok=True)
        elif stat.S_ISREG(st.st_mode):
            _readable(src / rel, rel, limits, stat.S_IRUSR)
            shutil.copy2(src / rel, dst / rel, follow_symlinks=False)
    return dst


def _listing(folder: Path, rel: str, limits: TreeLimits) -> list[os.DirEntry]:
    _readable(folder, rel, limits, stat.S_IRWXU)
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


def _readable(path: Path, rel: str, limits: TreeLimits, bits: int) -> None:
    """Give the owner ``bits`` on ``path`` where it lacks them: the agent may have taken
    them away, and the copy is ours to read. What still cannot be read is the agent's doing."""
    try:
        mode = os.lstat(path).st_mode
        if mode & bits != bits:
            os.chmod(path, stat.S_IMODE(mode) | bits)
        if not os.access(path, os.R_OK):
            raise PermissionError(path)
    except OSError as e:
        raise TreeTooLarge(f"{limits.what} has {rel or 'its root'}, which cannot be read: {e.strerror or e}") from None


def remove_tree(root: Path) -> None:
    """Delete ``root`` however deep it is (shutil.rmtree recurses) and whatever its modes."""
    root = Path(root)
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        root.unlink()
        return
    if not root.exists():
        return
    stack = [(str(root), False)]
    while stack:
        path, emptied = stack.pop()
        if emptied:
            os.rmdir(path)
            continue
        with contextlib.suppress(OSError):
            os.chmod(path, stat.S_IRWXU)
        stack.append((path, True))
        with os.scandir(path) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, False))
                else:
                    os.unlink(entry.path)


@contextlib.contextmanager
def scratch_dir(kind: str) -> Iterator[Path]:
    """A temporary folder for one job, removed afterwards with :func:`remove_tree`."""
    from hgm.scratch import prefix

    path = Path(tempfile.mkdtemp(prefix=prefix(kind)))
    try:
        yield path
    finally:
        remove_tree(path)


def read_capped(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of ``path``; a longer file ends with a truncation marker."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
        if len(data) <= limit:
            return data
        size = os.fstat(f.fileno()).st_size
    return data[:limit] + truncation_marker(size, limit)


def truncation_marker(size: int, kept: int) -> bytes:
    """The line that ends an artifact hgm cut short."""
    return f"\n[hgm: truncated: {size} bytes, kept the first {kept}]\n".encode()


def cap_bytes(data: bytes, limit: int) -> bytes:
    """``data`` cut to ``limit`` bytes (plus a marker) when longer."""
    return data if len(data) <= limit else data[:limit] + truncation_marker(len(data), limit)


def trees_equal(a: Path, b: Path, limits: TreeLimits = TreeLimits()) -> bool:
    """True when two trees hold the same files with the same bytes (junk ignored)."""

    def listing(root: Path) -> dict[str, tuple[int, str]]:
        out = {}
        for rel, st in walk_tree(root, limits):
            if stat.S_ISREG(st.st_mode):
                out[rel] = (st.st_size, _digest(root / rel))
        return out

    return listing(a) == listing(b)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


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
