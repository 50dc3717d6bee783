"""A skill on disk: reading it and every static problem it has, without running its code.

A skill is a folder ``skills/<name>/`` (docs/skills.md, "The skill format")::

    SKILL.md         Agent Skills frontmatter (name == folder name, description; optional
                     license, metadata) and a body: when to use it, how, an example call
    <module>.py      name with '-' as '_'; standard library only; ``__all__`` lists the entry
                     points, top-level functions with a docstring and JSON-friendly annotations
    tests/__init__.py, tests/test_*.py
                     unittest, run from the folder: python3 -m unittest discover -s tests -t .

Everything here parses with :mod:`ast` and never imports the skill: its code is LLM-written and
only ever runs in a sandbox (:mod:`hgm.skills.verify`). The Agent Skills checks are the
``skills-ref`` package's own validator, used as a library (the ``skills`` extra).
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml

from hgm.pyast import parse as ast_parse
from hgm.skills.checks import annotation_problem, dunder_all, import_problems, local_modules

NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_NAME = 64
MAX_DESCRIPTION = 1024
# A skill is a small thing: its folder is refused past these (and content_hash reads it all).
MAX_FILES = 200
MAX_BYTES = 2_000_000
SKIPPED_DIRS = frozenset({"__pycache__"})


class SkillError(ValueError):
    """A skill cannot be read; the one-line message names the file and the problem."""


@dataclass(frozen=True)
class Param:
    """One parameter of an entry point: its annotation as source text and its default as a
    literal value (None when it has none: see ``required``)."""

    name: str
    annotation: str
    required: bool
    default: object = None


@dataclass(frozen=True)
class EntryPoint:
    """A function listed in the module's ``__all__``: what an agent or an export can call."""

    name: str
    doc: str
    params: tuple[Param, ...]
    returns: str

    def signature(self) -> str:
        """``name(a: int, b: str = 'x') -> str``, as an agent reads it."""
        parts = [
            f"{p.name}: {p.annotation}" + ("" if p.required else f" = {p.default!r}")
            for p in self.params
        ]
        return f"{self.name}({', '.join(parts)}) -> {self.returns}"


@dataclass(frozen=True)
class Skill:
    """A statically valid skill, as read from its folder."""

    name: str
    description: str
    folder: Path
    module_file: str
    entry_points: tuple[EntryPoint, ...]
    content_hash: str
    body: str
    license: str | None = None
    metadata: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def module_file_name(name: str) -> str:
    """The module file of the skill ``name``: ``run-tests`` -> ``run_tests.py``."""
    return name.replace("-", "_") + ".py"


def read_skill(folder: Path) -> Skill:
    """Read the skill in ``folder``; SkillError (naming the file) if it has any static problem."""
    folder = Path(folder)
    problems = skill_problems(folder)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SkillError(problems[0] + more)
    meta, body = _frontmatter(folder)
    name = str(meta["name"]).strip()
    module_file = module_file_name(name)
    label = f"{name}/{module_file}"
    entries, _ = _entry_points(_parse(folder / module_file, label), label)
    license_ = meta.get("license")
    return Skill(
        name=name,
        description=str(meta["description"]).strip(),
        folder=folder,
        module_file=module_file,
        entry_points=tuple(entries),
        content_hash=content_hash(folder),
        body=body,
        license=None if license_ is None else str(license_),
        metadata=MappingProxyType({str(k): str(v) for k, v in (meta.get("metadata") or {}).items()}),
    )


def skill_problems(folder: Path) -> list[str]:
    """Every static problem of the skill in ``folder``, one line each; empty = statically fine."""
    folder = Path(folder)
    label = folder.name
    if not folder.is_dir():
        return [f"{label}: not a folder"]
    problems = _size_problems(folder)
    if problems:
        return problems
    try:
        meta, _ = _frontmatter(folder)
    except SkillError as e:
        return [str(e)]
    problems += [f"{label}/SKILL.md: {p}" for p in _validator_problems(folder)]
    name = str(meta.get("name") or "").strip()
    if not NAME_RE.match(name) or len(name) > MAX_NAME:
        problems.append(
            f"{label}/SKILL.md: name {name!r} must be lowercase letters, digits and single "
            f"hyphens, at most {MAX_NAME} characters"
        )
        return problems
    if name != label:
        problems.append(f"{label}/SKILL.md: name {name!r} differs from the folder name {label!r}")
    metadata = meta.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        problems.append(f"{label}/SKILL.md: metadata must be a mapping of strings to strings")
    module_file = module_file_name(name)
    if not module_file[:-3].isidentifier():
        problems.append(f"{label}: module name {module_file[:-3]!r} is not a Python identifier")
    elif not (folder / module_file).is_file():
        problems.append(f"{label}/{module_file}: missing (the module is the name with '-' as '_')")
    else:
        try:
            module_label = f"{label}/{module_file}"
            problems += _entry_points(_parse(folder / module_file, module_label), module_label)[1]
        except SkillError as e:
            problems.append(str(e))
    problems += _import_problems(folder)
    problems += _tests_problems(folder)
    return list(dict.fromkeys(problems))


def find_skills(tree: Path) -> tuple[list[Skill], list[str]]:
    """The valid skills under ``tree/skills/`` sorted by name, and one line per invalid folder
    (every problem of a folder joined with '; ')."""
    root = Path(tree) / "skills"
    if not root.is_dir():
        return [], []
    skills: list[Skill] = []
    invalid: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in SKIPPED_DIRS):
        if folder.is_symlink():
            invalid.append(f"{folder.name}: a symlink, not a skill folder")
            continue
        problems = skill_problems(folder)
        if problems:
            invalid.append("; ".join(problems))
            continue
        try:
            skills.append(read_skill(folder))
        except SkillError as e:
            invalid.append(str(e))
    return sorted(skills, key=lambda s: s.name), invalid


def content_hash(folder: Path) -> str:
    """sha256 hex over the sorted (relative posix path, bytes) of every file in ``folder``,
    ignoring __pycache__/ and *.pyc; a symlink counts as its target's text, not its content."""
    digest = hashlib.sha256()
    for rel, path in sorted(_files(Path(folder))):
        data = str(path.readlink()).encode() if path.is_symlink() else path.read_bytes()
        kind = b"L" if path.is_symlink() else b"F"
        digest.update(kind + rel.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()


def search_text(skill: Skill) -> str:
    """The text retrieval indexes and embeds: name, description, and each entry point's
    signature with the first line of its docstring."""
    lines = [skill.name.replace("-", " ") + ": " + skill.description]
    for entry in skill.entry_points:
        first = entry.doc.strip().splitlines()[0] if entry.doc.strip() else ""
        lines.append(f"{entry.signature()}: {first}")
    return "\n".join(lines)


# -- reading --------------------------------------------------------------------------------


def _files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(relative posix path, path) of every file, skipping __pycache__/ and *.pyc; symlinks are
    listed, never followed."""
    stack = [folder]
    while stack:
        current = stack.pop()
        for path in current.iterdir():
            if path.is_dir() and not path.is_symlink():
                if path.name not in SKIPPED_DIRS:
                    stack.append(path)
            elif not path.name.endswith(".pyc"):
                yield path.relative_to(folder).as_posix(), path


def _size_problems(folder: Path) -> list[str]:
    files = list(_files(folder))
    links = [rel for rel, path in files if path.is_symlink()]
    if links:
        return [f"{folder.name}/{links[0]}: symlinks are not allowed in a skill"]
    total = sum(path.stat().st_size for _, path in files)
    if len(files) > MAX_FILES or total > MAX_BYTES:
        return [f"{folder.name}: too large ({len(files)} files, {total} bytes; "
                f"at most {MAX_FILES} files, {MAX_BYTES} bytes)"]
    return []


def _frontmatter(folder: Path) -> tuple[dict, str]:
    """SKILL.md's frontmatter mapping and its body, parsed as skills-ref parses it."""
    path = folder / "SKILL.md"
    label = f"{folder.name}/SKILL.md"
    if not path.is_file():
        raise SkillError(f"{label}: missing")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SkillError(f"{label}: not UTF-8 text") from None
    try:
        from skills_ref.errors import ParseError
        from skills_ref.parser import parse_frontmatter
    except ImportError:
        return _frontmatter_yaml(text, label)
    try:
        meta, body = parse_frontmatter(text)
    except ParseError as e:
        raise SkillError(f"{label}: {_one_line(str(e))}") from None
    return meta, body


def _frontmatter_yaml(text: str, label: str) -> tuple[dict, str]:
    """The same split as skills-ref, with PyYAML when skills-ref is not installed."""
    parts = text.split("---", 2)
    if not text.startswith("---") or len(parts) < 3:
        raise SkillError(f"{label}: must start with YAML frontmatter between --- lines")
    try:
        meta = yaml.safe_load(parts[1])
    except yaml.YAMLError as e:
        raise SkillError(f"{label}: invalid YAML in frontmatter: {_one_line(str(e))}") from None
    if not isinstance(meta, dict):
        raise SkillError(f"{label}: frontmatter must be a YAML mapping")
    if isinstance(meta.get("metadata"), dict):
        meta["metadata"] = {str(k): str(v) for k, v in meta["metadata"].items()}
    return meta, parts[2].strip()


def _validator_problems(folder: Path) -> list[str]:
    try:
        from skills_ref import validate
    except ImportError:
        return ["cannot run the Agent Skills validator: skills-ref is not installed "
                "(pip install 'hgm[skills]')"]
    return [_one_line(p) for p in validate(folder)]


def _parse(path: Path, label: str) -> ast.Module:
    try:
        return ast_parse(path.read_bytes(), filename=label)
    except SyntaxError as e:
        raise SkillError(f"{label}: syntax error line {e.lineno}: {e.msg}") from None
    except (ValueError, OSError) as e:
        raise SkillError(f"{label}: cannot be read: {_one_line(str(e))}") from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- entry points ---------------------------------------------------------------------------


def _entry_points(tree: ast.Module, label: str) -> tuple[list[EntryPoint], list[str]]:
    """The entry points named by ``__all__``, and every problem with them."""
    names = dunder_all(tree)
    if not names:
        return [], [f"{label}: needs __all__ = [...] listing at least one entry point "
                    "(string literals)"]
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    entries: list[EntryPoint] = []
    problems: list[str] = []
    for name in names:
        func = functions.get(name)
        if func is None:
            problems.append(
                f"{label}: __all__ names {name!r}, which is not a top-level function (def)"
            )
            continue
        entry, entry_problems = _entry_point(func, f"{label}: {name}")
        problems += entry_problems
        if entry is not None:
            entries.append(entry)
    return entries, problems


def _entry_point(func: ast.FunctionDef, label: str) -> tuple[EntryPoint | None, list[str]]:
    problems: list[str] = []
    doc = ast.get_docstring(func) or ""
    if not doc.strip():
        problems.append(f"{label}: needs a docstring")
    args = func.args
    if args.vararg or args.kwarg or args.posonlyargs:
        problems.append(f"{label}: *args, **kwargs and positional-only parameters cannot be "
                        "called with JSON arguments")
    positional = args.args
    missing: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    pairs = list(zip(positional, missing + list(args.defaults), strict=True))
    pairs += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    params: list[Param] = []
    for arg, default in pairs:
        if arg.annotation is None:
            problems.append(f"{label}: parameter {arg.arg!r} needs a type annotation")
            continue
        problem = annotation_problem(arg.annotation)
        if problem:
            problems.append(f"{label}: parameter {arg.arg!r}: {problem}")
        value = None
        if default is not None:
            try:
                value = ast.literal_eval(default)
            except ValueError:
                problems.append(f"{label}: parameter {arg.arg!r}: the default must be a literal")
        params.append(Param(arg.arg, ast.unparse(arg.annotation), default is None, value))
    if func.returns is None:
        problems.append(f"{label}: needs a return annotation")
    else:
        problem = annotation_problem(func.returns)
        if problem:
            problems.append(f"{label}: return: {problem}")
    if problems:
        return None, problems
    return EntryPoint(func.name, doc, tuple(params), ast.unparse(func.returns)), []


# -- imports and tests ----------------------------------------------------------------------


def _import_problems(folder: Path) -> list[str]:
    trees: list[tuple[str, ast.Module]] = []
    problems: list[str] = []
    for rel, path in sorted(_files(folder)):
        if rel.endswith(".py"):
            try:
                trees.append((f"{folder.name}/{rel}", _parse(path, f"{folder.name}/{rel}")))
            except SkillError as e:
                problems.append(str(e))
    return problems + import_problems(trees, local_modules(folder))


def _tests_problems(folder: Path) -> list[str]:
    tests = folder / "tests"
    problems: list[str] = []
    if not (tests / "__init__.py").is_file():
        problems.append(f"{folder.name}/tests/__init__.py: missing (tests run with "
                        "python3 -m unittest discover -s tests -t .)")
    if not any(tests.glob("test_*.py")):
        problems.append(f"{folder.name}/tests: needs at least one test_*.py (unittest)")
    return problems
