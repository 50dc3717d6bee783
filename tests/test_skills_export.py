"""Skill exports with their real consumers: the skills-ref validator (library and CLI), OpenAI's
strict-schema rules and the exported dispatcher run as a subprocess, a wheel installed into a
fresh virtual environment; and the annotation -> JSON schema conversion they rest on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from skill_export_fixtures import agent_tree, write_skill

from hgm.skills.export import ExportError, export, tool_specs
from hgm.skills.format import find_skills, read_skill
from hgm.skills.schema import SchemaError, annotation_schema, input_schema, strict_input_schema

BIN = Path(sys.executable).parent


@pytest.fixture
def skills(tmp_path):
    tree = agent_tree(tmp_path / "agent", ("word-stats", "shape-tools"))
    found, problems = find_skills(tree)
    assert problems == [] and [s.name for s in found] == ["shape-tools", "word-stats"]
    return found


# -- annotation -> schema ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("annotation", "schema"),
    [
        ("str", {"type": "string"}),
        ("int", {"type": "integer"}),
        ("float", {"type": "number"}),
        ("bool", {"type": "boolean"}),
        ("None", {"type": "null"}),
        ("list[int]", {"type": "array", "items": {"type": "integer"}}),
        ("dict[str, float]", {"type": "object", "additionalProperties": {"type": "number"}}),
        ("str | None", {"type": ["string", "null"]}),
        ("Optional[int]", {"type": ["integer", "null"]}),
        ("typing.Optional[list[str]]", {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]}),
        ("Literal['a', 'b']", {"type": "string", "enum": ["a", "b"]}),
        ("Literal[1, 'x']", {"type": ["integer", "string"], "enum": [1, "x"]}),
        ("List[Dict[str, bool]]", {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "boolean"}}}),
        ("'int'", {"type": "integer"}),
    ],
)
def test_annotation_becomes_its_json_schema(annotation, schema):
    assert annotation_schema(annotation) == schema


@pytest.mark.parametrize(
    ("annotation", "message"),
    [("set[int]", "unsupported type set[int]"), ("dict[int, str]", "dict keys must be str"),
     ("list", "list needs its item types"), ("Literal[x]", "Literal values"), ("object", "unsupported type object")],
)
def test_unsupported_annotation_is_refused(annotation, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        annotation_schema(annotation)


def test_schema_error_names_the_skill_function_and_parameter(tmp_path):
    # hgm.skills.format refuses such a skill already; the exporters still say where, should
    # a Skill reach them another way.
    skill = read_skill(write_skill(tmp_path / "skills", "word-stats"))
    entry = next(e for e in skill.entry_points if e.name == "top_words")
    params = tuple(replace(p, annotation="set[int]") if p.name == "k" else p for p in entry.params)
    entry = replace(entry, params=params)
    skill = replace(skill, entry_points=(entry,))
    for make in (input_schema, strict_input_schema):
        with pytest.raises(SchemaError) as info:
            make(skill, entry)
        assert str(info.value).startswith("skill 'word-stats', function 'top_words', parameter 'k': unsupported type set[int]")
    with pytest.raises(SchemaError, match="parameter 'k'"):
        export("openai", [skill], tmp_path / "out")


def test_mcp_schema_states_defaults_and_requires_only_required_parameters(skills):
    word_stats = next(s for s in skills if s.name == "word-stats")
    top = next(e for e in word_stats.entry_points if e.name == "top_words")
    schema = input_schema(word_stats, top)
    assert schema["required"] == ["text"]
    assert schema["properties"]["k"] == {"type": "integer", "default": 3}
    assert schema["properties"]["exclude"]["default"] is None


# -- OpenAI ---------------------------------------------------------------------------------
STRICT_KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "enum", "anyOf", "description"}


def strict_problems(schema: dict, where: str = "$") -> list[str]:
    """Every way ``schema`` breaks OpenAI's strict mode (an independent checker)."""
    problems = [f"{where}: keyword {k!r} is not in the strict subset" for k in set(schema) - STRICT_KEYWORDS]
    types = schema.get("type", [])
    types = types if isinstance(types, list) else [types]
    if "object" in types or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            problems.append(f"{where}: additionalProperties is not false")
        if sorted(schema.get("required", [])) != sorted(schema.get("properties", {})):
            problems.append(f"{where}: not every property is required")
    for name, sub in schema.get("properties", {}).items():
        problems += strict_problems(sub, f"{where}.{name}")
    if "items" in schema:
        problems += strict_problems(schema["items"], f"{where}[]")
    for i, sub in enumerate(schema.get("anyOf", [])):
        problems += strict_problems(sub, f"{where}|{i}")
    if not types and "anyOf" not in schema:
        problems.append(f"{where}: no type")
    return problems


def test_openai_tools_follow_the_strict_rules(skills, tmp_path):
    done = export("openai", skills, tmp_path / "out")
    chat = json.loads((done.out / "tools.chat.json").read_text())
    responses = json.loads((done.out / "tools.responses.json").read_text())
    names = [t["function"]["name"] for t in chat]
    assert len(names) == 5 and len(set(names)) == 5
    assert names == [t["name"] for t in responses]
    for tool, flat in zip(chat, responses, strict=True):
        assert tool["type"] == "function" and flat["type"] == "function"
        fn = tool["function"]
        assert set(fn) == {"name", "description", "parameters", "strict"} and fn["strict"] is True
        assert {k: v for k, v in flat.items() if k != "type"} == fn
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", fn["name"])
        assert fn["parameters"]["type"] == "object" and fn["description"]
        assert strict_problems(fn["parameters"]) == [], fn["name"]
    label = next(t["function"] for t in chat if t["function"]["name"] == "shape-tools__label")
    assert label["parameters"]["properties"]["sizes"]["type"] == "array"  # dict -> key/value pairs
    top = next(t["function"] for t in chat if t["function"]["name"] == "word-stats__top_words")
    assert top["parameters"]["properties"]["k"]["type"] == ["integer", "null"]  # optional -> nullable


def test_the_checker_catches_what_strict_mode_forbids():
    loose = {"type": "object", "properties": {"a": {"type": "object", "additionalProperties": {"type": "string"}},
                                              "b": {"type": "integer", "default": 1}}, "required": ["a"]}
    problems = strict_problems(loose)
    assert any("$: additionalProperties" in p for p in problems)
    assert any("not every property is required" in p for p in problems)
    assert any("$.a: additionalProperties" in p for p in problems)
    assert any("'default'" in p for p in problems)


def test_tool_names_are_cut_to_64_characters_and_kept_unique(tmp_path):
    skill = read_skill(write_skill(tmp_path / "skills", "word-stats"))
    long = replace(skill, name="a" * 64)  # the longest skill name Agent Skills allows
    names = [s.name for s in tool_specs([long, long, skill])]
    assert len(set(names)) == 6 and all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", n) for n in names)
    assert names[4:] == ["word-stats__count_words", "word-stats__top_words"]


def _dispatch(out: Path, call: dict) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-I", str(out / "dispatch.py"), json.dumps(call)],
                          capture_output=True, text=True, timeout=60, cwd=out.parent)  # fmt: skip
    return proc.returncode, json.loads(proc.stdout)


def test_dispatcher_runs_chat_and_responses_tool_calls(skills, tmp_path):
    out = export("openai", skills, tmp_path / "out").out
    chat_call = {"id": "call_1", "type": "function", "function": {
        "name": "shape-tools__label", "arguments": json.dumps({"kind": "circle", "sizes": [
            {"key": "b", "value": 2}, {"key": "a", "value": 1}]})}}
    assert _dispatch(out, chat_call) == (0, {"ok": True, "result": "circle: a=1, b=2"})
    responses_call = {"type": "function_call", "call_id": "c2", "name": "word-stats__top_words",
                      "arguments": json.dumps({"text": "x y y z z z", "k": None, "exclude": ["z"]})}
    assert _dispatch(out, responses_call) == (0, {"ok": True, "result": ["y", "x"]})  # k: null -> default 3
    code, answer = _dispatch(out, {"name": "nope", "arguments": "{}"})
    assert code == 1 and answer["ok"] is False and "unknown tool 'nope'" in answer["error"]
    code, answer = _dispatch(out, {"name": "shape-tools__describe", "arguments": "{}"})
    assert code == 1 and "missing argument 'name'" in answer["error"]


# -- Agent Skills ---------------------------------------------------------------------------
def test_agent_skills_export_passes_the_validator_library_and_cli(skills, tmp_path):
    from skills_ref import read_properties, validate

    done = export("agent-skills", skills, tmp_path / "claude" / "skills")
    assert sorted(p.name for p in done.out.iterdir()) == ["shape-tools", "word-stats"]
    for skill in skills:
        folder = done.out / skill.name
        assert validate(folder) == []
        assert read_properties(folder).name == skill.name
        proc = subprocess.run([str(BIN / "agentskills"), "validate", str(folder)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert (folder / "SKILL.md").read_bytes() == (skill.folder / "SKILL.md").read_bytes()
        assert (folder / "tests").is_dir() and (folder / skill.module_file).is_file()


def test_the_validator_cli_rejects_a_broken_export(skills, tmp_path):
    # The check above can fail: a SKILL.md whose name differs from its folder is refused.
    done = export("agent-skills", skills, tmp_path / "out")
    md = done.out / "word-stats" / "SKILL.md"
    md.write_text(md.read_text().replace("name: word-stats", "name: Word_Stats"))
    proc = subprocess.run([str(BIN / "agentskills"), "validate", str(md.parent)], capture_output=True, text=True)
    assert proc.returncode == 1


def test_export_refuses_a_folder_that_holds_files(skills, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="not an empty folder"):
        export("agent-skills", skills, tmp_path / "out")
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


# -- Python package -------------------------------------------------------------------------
@pytest.mark.slow
def test_python_package_builds_installs_in_a_fresh_venv_and_its_tests_pass(skills, tmp_path):
    out = export("python", skills, tmp_path / "pkg").out
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(tmp_path / "dist"), str(out)], check=True, timeout=300)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("hgm_skills-0.1.0-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-index", "--no-deps",
                    str(wheel)], check=True, timeout=300)  # fmt: skip
    # The tests run from a copy without src/, so they can only import the installed package.
    tests_root = tmp_path / "run-tests"
    shutil.copytree(out / "tests", tests_root / "tests")
    proc = subprocess.run([str(py), "-m", "unittest", "discover", "-s", "tests", "-t", ".", "-v"],
                          cwd=tests_root, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Ran 5 tests" in proc.stderr
    where = subprocess.run([str(py), "-c", "import hgm_skills.word_stats as m; print(m.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert str(venv) in where and "site-packages" in where
    doc = subprocess.run([str(py), "-c", "import importlib.resources as r; print(r.files('hgm_skills').joinpath("
                          "'skill_docs/word-stats.md').read_text())"], capture_output=True, text=True, check=True)  # fmt: skip
    assert "name: word-stats" in doc.stdout


def test_python_export_rewrites_only_the_skill_imports(skills, tmp_path):
    out = export("python", skills, tmp_path / "pkg").out
    test = (out / "tests" / "word_stats" / "test_word_stats.py").read_text()
    assert "from hgm_skills import word_stats\nfrom hgm_skills.word_stats import top_words\n" in test
    assert "import unittest\n" in test
    assert (out / "src" / "hgm_skills" / "shape_tools.py").read_text() == (
        next(s for s in skills if s.name == "shape-tools").folder / "shape_tools.py").read_text()  # fmt: skip


# -- the starter library --------------------------------------------------------------------
@pytest.mark.slow
def test_the_starter_library_exports_to_every_file_format(tmp_path):
    from skills_ref import validate

    from hgm.skills.starter import starter_skill_folders

    starter = [read_skill(folder) for folder in starter_skill_folders()]
    assert len(starter) >= 4
    folders = export("agent-skills", starter, tmp_path / "agent-skills").out
    assert all(validate(folders / s.name) == [] for s in starter)
    chat = json.loads((export("openai", starter, tmp_path / "openai").out / "tools.chat.json").read_text())
    assert chat and all(strict_problems(t["function"]["parameters"]) == [] for t in chat)
    package = export("python", starter, tmp_path / "python").out
    proc = subprocess.run([sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", "."], cwd=package,
                          env={"PYTHONPATH": str(package / "src"), "PATH": f"{BIN}:/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
