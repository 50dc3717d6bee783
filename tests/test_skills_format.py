"""hgm.skills.format: reading skills and their static problems, on real folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hgm.skills.format import (
    Param,
    SkillError,
    content_hash,
    find_skills,
    read_skill,
    search_text,
    skill_problems,
)
from tests.skill_fixtures import GOOD_MODULE, write_skill


def test_a_good_skill_is_read_with_its_entry_points(tmp_path: Path) -> None:
    folder = write_skill(tmp_path)
    assert skill_problems(folder) == []
    skill = read_skill(folder)
    assert (skill.name, skill.module_file, skill.license) == ("adder", "adder.py", "MIT")
    assert skill.description == "Add two numbers and describe the result."
    assert dict(skill.metadata) == {"author": "tests"}
    assert skill.body.startswith("# Adder")
    add, describe = skill.entry_points
    assert add.name == "add" and add.doc.startswith("Add two numbers.")
    assert add.params == (
        Param("a", "int", True, None),
        Param("b", "int", False, 2),
        Param("labels", "list[str] | None", False, None),
    )
    assert add.returns == "dict[str, int]"
    assert describe.params[0].annotation == "Literal['short', 'long']"
    assert skill.content_hash == content_hash(folder)
    text = search_text(skill)
    assert "adder: Add two numbers" in text
    assert "add(a: int, b: int = 2, labels: list[str] | None = None) -> dict[str, int]: Add two numbers." in text


def test_content_hash_follows_content_and_ignores_bytecode(tmp_path: Path) -> None:
    folder = write_skill(tmp_path)
    before = content_hash(folder)
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "adder.cpython-311.pyc").write_bytes(b"junk")
    (folder / "tests" / "stale.pyc").write_bytes(b"junk")
    assert content_hash(folder) == before
    (folder / "tests" / "data.txt").write_text("x")
    assert content_hash(folder) != before
    other = write_skill(tmp_path / "copy")
    (other / "tests" / "data.txt").write_text("x")
    assert content_hash(other) == content_hash(folder)  # the path of the folder does not count


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (dict(frontmatter="name: adder\n"), "Missing required field in frontmatter: description"),
        (dict(frontmatter="name: [unclosed\ndescription: x\n"), "adder/SKILL.md: Invalid YAML"),
        (dict(frontmatter="name: adder\ndescription: d\ncolour: red\n"), "Unexpected fields in frontmatter: colour"),
        (dict(frontmatter="name: other\ndescription: d\n"), "name 'other' differs from the folder name 'adder'"),
        (dict(frontmatter="name: Adder_X\ndescription: d\n"), "must be lowercase letters, digits and single hyphens"),
        (dict(module_file="adder_impl.py"), "adder/adder.py: missing"),
        (dict(module=GOOD_MODULE.replace("import json", "import numpy as json")), "adder/adder.py line 5: imports 'numpy', which is not in the standard library"),
        (dict(module=GOOD_MODULE + "\nimportlib.import_module('requests')\n"), "imports 'requests'"),
        (dict(test="import unittest\nimport pytest\n"), "adder/tests/test_adder.py line 2: imports 'pytest'"),
        (dict(module=GOOD_MODULE.replace('"""Say what this skill does."""', "return 'x'")), "adder/adder.py: describe: needs a docstring"),
        (dict(module=GOOD_MODULE.replace("b: int = 2", "b=2")), "add: parameter 'b' needs a type annotation"),
        (dict(module=GOOD_MODULE.replace("-> str:", ":")), "describe: needs a return annotation"),
        (dict(module=GOOD_MODULE.replace("-> str:", "-> set[str]:")), "describe: return: unsupported type set[str]"),
        (dict(module=GOOD_MODULE.replace("dict[str, int]", "dict[int, int]")), "dict keys must be str in JSON, not int"),
        (dict(module=GOOD_MODULE.replace("b: int = 2", "b: int = len('ab')")), "parameter 'b': the default must be a literal"),
        (dict(module=GOOD_MODULE.replace("*, labels: list[str] | None = None", "*labels: str")), "*args, **kwargs"),
        (dict(module=GOOD_MODULE.replace('__all__ = ["add", "describe"]', '__all__ = ["add", "missing"]')), "__all__ names 'missing', which is not a top-level function"),
        (dict(module=GOOD_MODULE.replace('__all__ = ["add", "describe"]', "")), "needs __all__"),
        (dict(module=GOOD_MODULE + "\ndef broken(:\n"), "adder/adder.py: syntax error line"),
    ],
)
def test_each_static_problem_is_one_clear_line(tmp_path: Path, change: dict, expected: str) -> None:
    folder = write_skill(tmp_path, **change)
    problems = skill_problems(folder)
    assert any(expected in p for p in problems), problems
    assert all("\n" not in p for p in problems)
    with pytest.raises(SkillError, match="adder"):
        read_skill(folder)


def test_own_modules_relative_imports_and_stdlib_are_allowed(tmp_path: Path) -> None:
    module = GOOD_MODULE.replace("import json", "import json\nimport os.path\nfrom helpers import twice\nfrom . import helpers as _h")
    folder = write_skill(tmp_path, module=module)
    (folder / "helpers.py").write_text("def twice(x):\n    return 2 * x\n")
    assert skill_problems(folder) == []


def test_tests_folder_symlinks_and_size_are_checked(tmp_path: Path) -> None:
    folder = write_skill(tmp_path)
    (folder / "tests" / "__init__.py").unlink()
    assert any("tests/__init__.py: missing" in p for p in skill_problems(folder))
    folder = write_skill(tmp_path / "b")
    os.symlink("/etc/passwd", folder / "passwd")
    assert skill_problems(folder) == ["adder/passwd: symlinks are not allowed in a skill"]
    folder = write_skill(tmp_path / "c")
    (folder / "big.bin").write_bytes(b"0" * 2_100_000)
    assert "too large" in skill_problems(folder)[0]
    assert skill_problems(tmp_path / "nothing") == ["nothing: not a folder"]
    (tmp_path / "d" / "empty").mkdir(parents=True)
    assert skill_problems(tmp_path / "d" / "empty") == ["empty/SKILL.md: missing"]


def test_find_skills_sorts_valid_ones_and_reports_each_invalid_folder(tmp_path: Path) -> None:
    root = tmp_path / "skills"
    write_skill(root, "zeta", module=GOOD_MODULE, test="import unittest\n")
    write_skill(root, "adder")
    write_skill(root, "bad-one", frontmatter="name: bad-one\n")
    (root / "__pycache__").mkdir()
    skills, invalid = find_skills(tmp_path)
    assert [s.name for s in skills] == ["adder", "zeta"]
    assert len(invalid) == 1
    assert invalid[0].startswith("bad-one/SKILL.md") and "description" in invalid[0]
    assert find_skills(tmp_path / "none") == ([], [])
