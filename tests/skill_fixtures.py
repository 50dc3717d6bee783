"""Small skill folders written by tests (the format is docs/skills.md's)."""

from __future__ import annotations

import textwrap
from pathlib import Path

GOOD_MODULE = '''\
"""Add numbers."""

from __future__ import annotations

import json
from typing import Literal

__all__ = ["add", "describe"]


def add(a: int, b: int = 2, *, labels: list[str] | None = None) -> dict[str, int]:
    """Add two numbers.

    Returns {"sum": a + b}.
    """
    return {"sum": a + b}


def describe(style: Literal["short", "long"] = "short") -> str:
    """Say what this skill does."""
    return json.dumps({"style": style})


def _helper() -> None:
    pass
'''

GOOD_TEST = '''\
import unittest

import adder


class AdderTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(adder.add(1, 2), {"sum": 3})
'''


def write_skill(
    root: Path,
    name: str = "adder",
    *,
    frontmatter: str | None = None,
    module: str = GOOD_MODULE,
    test: str = GOOD_TEST,
    module_file: str | None = None,
) -> Path:
    """Write ``root/<name>/`` as a skill (valid unless a part is overridden) and return it."""
    folder = root / name
    (folder / "tests").mkdir(parents=True, exist_ok=True)
    if frontmatter is None:
        frontmatter = f"name: {name}\ndescription: Add two numbers and describe the result.\nlicense: MIT\nmetadata:\n  author: tests\n"
    body = "\n# Adder\n\nUse it to add numbers: `add(a=1, b=2)`.\n"
    (folder / "SKILL.md").write_text(f"---\n{textwrap.dedent(frontmatter)}---\n{body}")
    (folder / (module_file or name.replace("-", "_") + ".py")).write_text(module)
    (folder / "tests" / "__init__.py").write_text("")
    (folder / "tests" / f"test_{name.replace('-', '_')}.py").write_text(test)
    return folder
