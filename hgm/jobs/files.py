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
