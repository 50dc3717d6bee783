"""Real skill folders and a real run holding them, for the export and MCP tests.

Two skills, each a folder as agents write them (SKILL.md, a stdlib module, unittest tests):
``word-stats`` (str, bool, int, ``list[str] | None``, ``dict[str, int]`` result) and
``shape-tools`` (``list[list[float]]``, ``Literal``, ``dict[str, int]`` parameter, ``str | None``).
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

WORD_STATS_MODULE = '''\
"""Word statistics of a text."""

import re

__all__ = ["count_words", "top_words"]


def count_words(text: str, lowercase: bool = True) -> dict[str, int]:
    """Count how often each word occurs in ``text``."""
    print("counting words")  # a skill may print: it must not spoil the answer
    words = re.findall(r"[A-Za-z']+", text.lower() if lowercase else text)
    counts: dict[str, int] = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    return counts


def top_words(text: str, k: int = 3, exclude: list[str] | None = None) -> list[str]:
    """The ``k`` most frequent words of ``text`` (ties by first appearance), minus ``exclude``."""
    counts = count_words(text)
    for w in exclude or []:
        counts.pop(w, None)
    return sorted(counts, key=lambda w: -counts[w])[:k]
'''

WORD_STATS_TESTS = '''\
import unittest

import word_stats
from word_stats import top_words


class WordStatsTest(unittest.TestCase):
    def test_counts(self):
        self.assertEqual(word_stats.count_words("a b A"), {"a": 2, "b": 1})

    def test_top(self):
        self.assertEqual(top_words("x y y z z z", k=2), ["z", "y"])
        self.assertEqual(top_words("x y y z z z", k=2, exclude=["z"]), ["y", "x"])
'''

SHAPES_MODULE = '''\
"""Small geometry helpers."""

from typing import Literal

__all__ = ["scale", "label", "describe"]


def scale(points: list[list[float]], factor: float) -> list[list[float]]:
    """Multiply every coordinate of ``points`` by ``factor``."""
    return [[c * factor for c in p] for p in points]


def label(kind: Literal["circle", "square"], sizes: dict[str, int]) -> str:
    """A label such as ``circle: a=1, b=2`` (sizes sorted by name)."""
    return f"{kind}: " + ", ".join(f"{k}={v}" for k, v in sorted(sizes.items()))


def describe(name: str, note: str | None = None) -> str:
    """Describe a shape by name, with an optional note."""
    return name if note is None else f"{name} ({note})"
'''

SHAPES_TESTS = '''\
import unittest

import shape_tools as st


class ShapeTest(unittest.TestCase):
    def test_scale(self):
        self.assertEqual(st.scale([[1.0, 2.0]], 2.0), [[2.0, 4.0]])

    def test_label(self):
        self.assertEqual(st.label("square", {"b": 2, "a": 1}), "square: a=1, b=2")

    def test_describe(self):
        self.assertEqual(st.describe("c", "red"), "c (red)")
'''

PROBE_MODULE = '''\
"""Look at the machine the skill runs on."""

import os

__all__ = ["path_exists"]


def path_exists(path: str) -> bool:
    """Whether ``path`` exists where this code runs."""
    return os.path.exists(path)
'''

PROBE_TESTS = '''\
import unittest

from path_probe import path_exists


class ProbeTest(unittest.TestCase):
    def test_root_exists(self):
        self.assertTrue(path_exists("/"))
'''

SKILLS = {
    "word-stats": (
        "Count words in a text and list the most frequent ones. Use when you need word frequencies.",
        WORD_STATS_MODULE,
        WORD_STATS_TESTS,
    ),
    "shape-tools": (
        "Scale point lists and label shapes. Use when you transform 2D points or name shapes.",
        SHAPES_MODULE,
        SHAPES_TESTS,
    ),
    "path-probe": (
        "Tell whether a path exists on the machine the skill runs on. Use to inspect the sandbox.",
        PROBE_MODULE,
        PROBE_TESTS,
    ),
}


def write_skill(skills_dir: Path, name: str) -> Path:
    """Write skill ``name`` of :data:`SKILLS` into ``skills_dir/<name>/``."""
    description, module, tests = SKILLS[name]
    folder = skills_dir / name
    (folder / "tests").mkdir(parents=True)
    module_name = name.replace("-", "_")
    (folder / "SKILL.md").write_text(
        textwrap.dedent(f"""\
        ---
        name: {name}
        description: {description}
        license: MIT
        ---
        # {name}

        Use this skill when the task needs it. Example:

        ```python
        import {module_name}
        ```
        """),
        encoding="utf-8",
    )
    (folder / f"{module_name}.py").write_text(module, encoding="utf-8")
    (folder / "tests" / "__init__.py").write_text("", encoding="utf-8")
    (folder / "tests" / f"test_{module_name}.py").write_text(tests, encoding="utf-8")
    return folder


def agent_tree(root: Path, skills: tuple[str, ...]) -> Path:
    """An agent's source tree at ``root`` carrying ``skills`` in skills/."""
    root.mkdir(parents=True)
    (root / "agent.py").write_text("print('an agent')\n", encoding="utf-8")
    for name in skills:
        write_skill(root / "skills", name)
    return root


def make_run(tmp_path: Path, *, skills: bool = True, extra: tuple[str, ...] = ()) -> Path:
    """A run whose node 0 has word-stats and whose node 1 (the best) adds shape-tools and
    ``extra``. With ``skills=False`` neither node has a skill.
    """
    from hgm.archive import Run
    from hgm.types import NodeKind, Outcome

    seed = agent_tree(tmp_path / "seed", ("word-stats",) if skills else ())
    child = tmp_path / "child"
    shutil.copytree(seed, child)
    if skills:
        for name in ("shape-tools", *extra):
            write_skill(child / "skills", name)
    else:
        (child / "agent.py").write_text("print('a better agent')\n", encoding="utf-8")
    path = tmp_path / "run"
    with Run.create(path, seed, config={"final_min_evals": 2, "embedding_model": "scripted"}, task_ids=["t0", "t1"]) as run:
        node = run.add_node(0, child, kind=NodeKind.SKILL if skills else NodeKind.EDIT, proposal="add a skill")
        run.record_evaluation(0, 0, Outcome.FAIL)
        run.record_evaluation(0, 1, Outcome.FAIL)
        run.record_evaluation(node.id, 0, Outcome.PASS)
        run.record_evaluation(node.id, 1, Outcome.PASS)
    return path
