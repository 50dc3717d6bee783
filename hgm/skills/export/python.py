"""Python export: an installable package with one module per skill, and the skills' tests.

Layout (``hgm_skills`` is the default package name)::

    pyproject.toml            setuptools, no dependencies (skills are standard library only)
    README.md                 the skills and their entry points
    src/hgm_skills/__init__.py
    src/hgm_skills/<module>.py            a skill's module, unchanged but for its imports
    src/hgm_skills/skill_docs/<name>.md   its SKILL.md
    tests/<module>/test_*.py              its tests, importing from the package

A skill's tests and sibling modules import its module by its plain name (``import run_tests``);
those imports are rewritten to the package (``from hgm_skills import run_tests``), found by
``ast`` so that nothing else in the file changes.
"""

from __future__ import annotations

import ast
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from hgm.pyast import parse as ast_parse
from hgm.skills.export import Exported, ExportError, module_name, prepare_out
from hgm.skills.format import Skill

PACKAGE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def export_python(
    skills: Sequence[Skill], out: Path, *, package: str = "hgm_skills", version: str = "0.1.0"
) -> Exported:
    """Write the package into ``out`` (absent or empty); build it with any PEP 517 frontend."""
    if not PACKAGE_NAME.match(package):
        raise ExportError(f"package name {package!r} must be a lowercase Python identifier")
    modules = _modules(skills)
    out = prepare_out(out)
    pkg = out / "src" / package
    (pkg / "skill_docs").mkdir(parents=True)
    (out / "tests").mkdir()
    (out / "tests" / "__init__.py").write_text("", encoding="utf-8")
    for skill in skills:
        for source in _module_files(skill):
            text = rewrite_imports(source.read_text(encoding="utf-8"), modules, package)
            (pkg / source.name).write_text(text, encoding="utf-8")
        shutil.copyfile(skill.folder / "SKILL.md", pkg / "skill_docs" / f"{skill.name}.md")
        _copy_tests(skill, out / "tests" / module_name(skill), modules, package)
    names = ", ".join(module_name(s) for s in skills)
    (pkg / "__init__.py").write_text(
        f'"""Skills exported by hgm: {names}. Each module is one skill; see skill_docs/."""\n',
        encoding="utf-8",
    )
    (out / "pyproject.toml").write_text(_pyproject(package, version, skills), encoding="utf-8")
    (out / "README.md").write_text(_readme(package, skills), encoding="utf-8")
    return Exported("python", out, (out / "pyproject.toml", out / "README.md"), tuple(s.name for s in skills))


def _module_files(skill: Skill) -> list[Path]:
    return sorted(p for p in skill.folder.glob("*.py") if p.is_file())


def _modules(skills: Sequence[Skill]) -> set[str]:
    """Every module name the package will hold; two skills may not bring the same one."""
    owner: dict[str, str] = {}
    for skill in skills:
        for source in _module_files(skill):
            if source.stem in owner:
                raise ExportError(
                    f"skills {owner[source.stem]!r} and {skill.name!r} both have a module {source.name}; "
                    "export them separately"
                )
            owner[source.stem] = skill.name
    return set(owner)


def _copy_tests(skill: Skill, dest: Path, modules: set[str], package: str) -> None:
    shutil.copytree(skill.folder / "tests", dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (dest / "__init__.py").touch()
    for path in dest.rglob("*.py"):
        path.write_text(rewrite_imports(path.read_text(encoding="utf-8"), modules, package), encoding="utf-8")


def rewrite_imports(source: str, modules: set[str], package: str) -> str:
    """``import m`` / ``import m as x`` / ``from m import y`` for ``m`` in ``modules`` become
    imports from ``package``; the rest of ``source`` is left byte for byte."""
    tree = ast_parse(source)
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    edits: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        new = _rewritten(node, modules, package)
        if new is not None:
            start = offsets[node.lineno - 1] + _char_col(lines[node.lineno - 1], node.col_offset)
            end = offsets[node.end_lineno - 1] + _char_col(lines[node.end_lineno - 1], node.end_col_offset)
            edits.append((start, end, new))
    for start, end, new in sorted(edits, reverse=True):
        source = source[:start] + new + source[end:]
    return source


def _char_col(line: str, byte_col: int) -> int:
    """ast columns count UTF-8 bytes; string slicing counts characters."""
    return len(line.encode("utf-8")[:byte_col].decode("utf-8"))


def _rewritten(node: ast.AST, modules: set[str], package: str) -> str | None:
    if isinstance(node, ast.Import) and any(a.name in modules for a in node.names):
        parts = []
        for a in node.names:
            alias = f" as {a.asname}" if a.asname else ""
            parts.append(f"from {package} import {a.name}{alias}" if a.name in modules else f"import {a.name}{alias}")
        return "; ".join(parts)
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        head, _, rest = node.module.partition(".")
        if head in modules:
            names = ", ".join(f"{a.name} as {a.asname}" if a.asname else a.name for a in node.names)
            return f"from {package}.{node.module} import {names}"
    return None


def _pyproject(package: str, version: str, skills: Sequence[Skill]) -> str:
    description = f"Skills exported by hgm: {', '.join(s.name for s in skills)}"
    return (
        "[build-system]\n"
        'requires = ["setuptools>=68"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        "[project]\n"
        f'name = "{package.replace("_", "-")}"\n'
        f'version = "{version}"\n'
        f"description = {_toml_string(description)}\n"
        'readme = "README.md"\n'
        'requires-python = ">=3.10"\n'
        "dependencies = []\n\n"
        "[tool.setuptools.packages.find]\n"
        'where = ["src"]\n\n'
        "[tool.setuptools.package-data]\n"
        f'{package} = ["skill_docs/*.md"]\n'
    )


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _readme(package: str, skills: Sequence[Skill]) -> str:
    lines = [f"# {package}", "", "Skills exported by hgm, one module per skill (standard library only).", ""]
    for skill in skills:
        lines += [f"## {skill.name}", "", skill.description.strip(), ""]
        for entry in skill.entry_points:
            params = ", ".join(f"{p.name}: {p.annotation}" for p in entry.params)
            lines.append(f"- `from {package}.{module_name(skill)} import {entry.name}`: `{entry.name}({params}) -> {entry.returns}`")
        lines.append("")
    lines += ["Run the tests: `python -m unittest discover -s tests -t .`", ""]
    return "\n".join(lines)
