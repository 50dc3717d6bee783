"""Skill expansions (hgm.jobs.skill_expansion): the reply format, distil and adopt, and every
bad input (malformed reply, invalid frontmatter, name clash, failing tests, a non-stdlib import,
a read outside the sandbox, a near-duplicate) as a failed expansion or an invalid node with a
clear reason, recorded without corrupting the run. The LLM is scripted; the sandbox is real."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hgm.archive import Run, check_run
from hgm.gateway import Gateway, Scope
from hgm.gateway.scripted import CallableModel
from hgm.jobs.skill_expansion import (
    AdoptChoice,
    ReplyError,
    SkillPlan,
    SkillSettings,
    SuccessCase,
    expand_skill,
    parse_skill_reply,
)
from hgm.sandbox import get_sandbox
from hgm.skills.library import list_skills, show_skill
from hgm.types import NodeKind, NodeStatus
from tests.skill_fixtures import GOOD_MODULE, write_skill

MODULE = '''"""Count words."""

from __future__ import annotations

__all__ = ["count_words"]


def count_words(text: str) -> int:
    """How many whitespace-separated words ``text`` has."""
    return len(text.split())
'''
TEST = '''import unittest

import word_count


class T(unittest.TestCase):
    def test_count(self):
        {body}
'''
SKILL_MD = """---
name: {name}
description: {description}
---
Use it to count words. Example: count_words("a b") == 2.
"""


def reply(name: str = "word-count", *, improves: str = "none", description: str = "Count the words "
          "of a text; use it to measure a message.", module: str = MODULE,
          body: str = "self.assertEqual(word_count.count_words('a b c'), 3)", skill_md: str | None = None) -> str:
    md = skill_md if skill_md is not None else SKILL_MD.format(name=name, description=description)
    mod = name.replace("-", "_")
    return "\n".join([f"SKILL: {name}", f"IMPROVES: {improves}", "--- FILE: SKILL.md", md,
                      f"--- FILE: {mod}.py", module, "--- FILE: tests/__init__.py",
                      f"--- FILE: tests/test_{mod}.py", TEST.format(body=body).replace("word_count", mod),
                      "--- END"])


@pytest.fixture(scope="module")
def box() -> Iterator:
    sandbox = get_sandbox("local")
    if not sandbox.isolated:
        sandbox.close()
        pytest.skip("bubblewrap cannot run here, so local isolates nothing")
    yield sandbox
    sandbox.close()


@pytest.fixture
def scripted() -> Iterator[dict]:
    """A gateway whose model answers with ``answer["text"]``."""
    answer = {"text": ""}
    sockdir = Path(tempfile.mkdtemp(prefix="hgm-gw-"))
    model = CallableModel(lambda request, scope: {"content": answer["text"]}, "distil")
    with Gateway(model, socket_path=sockdir / "gw.sock", recorder=lambda call: None) as gateway:
        answer["gateway"] = gateway
        yield answer
    shutil.rmtree(sockdir, ignore_errors=True)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "run_agent.py").write_text("print('agent')\n")
    write_skill(seed / "skills", "adder")
    with Run.create(tmp_path / "run", seed, config={}, task_ids=["t0", "t1"], durable=False) as r:
        yield r


def expand(run: Run, box, scripted: dict, tmp_path: Path, text: str | None = None,
           plan: SkillPlan | None = None):
    """Expand node 0 with the model answering ``text``; record the result like the loop does."""
    scripted["text"] = text or ""
    parent = run.checkout(0, tmp_path / "parent")
    plan = plan or SkillPlan(0, success=SuccessCase(0, "t1", "Fix it.", "{}"))
    result = expand_skill(box, scripted["gateway"], parent, plan, tmp_path / "child", model="distil",
                          scope=Scope(kind="expansion", node=0, ref="x"), settings=SkillSettings(60.0))
    if result.tree is None:
        run.record_failed_expansion(0, problem_statement=result.problem_statement,
                                    reason=result.reason, cost_usd=0.0)
        return result, None
    status = NodeStatus.VALID if result.valid else NodeStatus.INVALID
    node = run.add_node(0, result.tree, kind=NodeKind(result.kind), proposal=result.problem_statement,
                        status=status, reason=result.reason, skills=list(result.skills))
    assert check_run(run.path) == []
    return result, node


def test_the_reply_format_is_parsed_strictly():
    parsed = parse_skill_reply(reply())
    assert (parsed.name, parsed.improves) == ("word-count", None)
    assert sorted(parsed.files) == ["SKILL.md", "tests/__init__.py", "tests/test_word_count.py", "word_count.py"]
    for bad, message in [
        ("Here is a skill:\n" + reply(), "does not start with the lines"),
        (reply().replace("--- END", ""), "no '--- END' line"),
        (reply().replace("--- FILE: tests/__init__.py", "--- FILE: ../escape.py"), "not a new relative path"),
        (reply().replace("--- FILE: word_count.py", "--- FILE: other.py"), "has no word_count.py"),
        (reply(name="Bad_Name"), "is not lowercase letters"),
    ]:
        with pytest.raises(ReplyError, match=message):
            parse_skill_reply(bad)


def test_a_distilled_skill_makes_a_valid_skill_node_in_the_index(run, box, scripted, tmp_path):
    result, node = expand(run, box, scripted, tmp_path, reply())
    assert result.valid and result.kind == "skill" and node.kind is NodeKind.SKILL, result.reason
    assert "distil word-count from the passing run of task t1" in node.proposal
    [skill] = [s for s in list_skills(run._conn(), node.id) if s.name == "word-count"]
    assert skill.introduced_by == node.id and skill.verified and skill.source_tasks == ["t1"]
    assert skill.origin == {"how": "distilled", "from_node": 0, "task": "t1"}
    assert {s.name for s in list_skills(run._conn(), node.id)} == {"adder", "word-count"}


@pytest.mark.parametrize(("text", "reason"), [
    (reply(skill_md="---\nname: word-count\n---\nno description\n"),
     "skill word-count failed verification: invalid skill: word-count/SKILL.md"),
    (reply(body="self.assertEqual(word_count.count_words('a b c'), 4)"),
     "skill word-count failed verification: word-count: tests failed in"),
    (reply(module=MODULE.replace("from __future__ import annotations", "import requests")),
     "imports 'requests'"),
    (reply(body="open('/etc/shadow').read()"), "tried to reach /etc/shadow, outside its sandbox"),
])
def test_a_skill_that_fails_verification_is_an_invalid_node(run, box, scripted, tmp_path, text, reason):
    result, node = expand(run, box, scripted, tmp_path, text)
    assert not result.valid and node.status is NodeStatus.INVALID
    assert reason in node.reason.splitlines()[0] or reason in node.reason
    assert [s.name for s in list_skills(run._conn())] == ["adder"]  # nothing indexed


@pytest.mark.parametrize(("text", "reason"), [
    ("I could not think of a skill.", "malformed skill reply: the reply does not start with"),
    (reply(name="adder").replace("word_count", "adder"), "name clash: the parent already has a skill named adder"),
    (reply(name="add-numbers", description="Add two numbers and describe the result.",
           module=GOOD_MODULE, body="self.assertEqual(add_numbers.add(1, 2), {'sum': 3})"),
     "near-duplicate of skill adder: word-count cosine"),
    (reply(improves="word-count"), "IMPROVES names 'word-count'"),
])
def test_a_refused_skill_is_a_failed_expansion(run, box, scripted, tmp_path, text, reason):
    result, node = expand(run, box, scripted, tmp_path, text)
    assert node is None and reason in result.reason, result.reason
    [failed] = run.expansions()
    assert failed.status == "failed" and reason in failed.reason
    assert check_run(run.path) == []


def test_improving_a_skill_makes_a_new_version(run, box, scripted, tmp_path):
    seed = run.checkout(0, tmp_path / "seed-copy")
    folder = seed / "skills" / "adder"
    files = {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()}
    files["SKILL.md"] += "\nA second example: add(2, 3) returns {\"sum\": 5}.\n"
    text = "\n".join(["SKILL: adder", "IMPROVES: adder"]
                     + [f"--- FILE: {rel}\n{body}" for rel, body in sorted(files.items())] + ["--- END"])
    result, node = expand(run, box, scripted, tmp_path, text)
    assert result.valid, result.reason
    versions = show_skill(run._conn(), run.repo, "adder")
    assert [v.summary.introduced_by for v in versions] == [0, node.id]
    assert versions[1].summary.version_of == versions[0].summary.id


def test_adopting_another_lineages_skill(run, box, scripted, tmp_path):
    _, first = expand(run, box, scripted, tmp_path / "a", reply())
    skill = next(s for s in list_skills(run._conn(), first.id) if s.name == "word-count")
    files = {k: v.encode() for k, v in show_skill(run._conn(), run.repo, "word-count")[0].files.items()}
    plan = SkillPlan(0, adopt=AdoptChoice(skill.id, "word-count", first.id, files, 1.0))
    result, node = expand(run, box, scripted, tmp_path / "b", plan=plan)
    assert result.valid and "adopt word-count from node" in node.proposal
    [adopted] = [s for s in list_skills(run._conn(), node.id) if s.name == "word-count"]
    assert adopted.id == skill.id and adopted.introduced_by == first.id and adopted.nodes == 2


def test_the_worker_plans_distil_from_a_pass_and_adopt_from_another_lineage(run, box, scripted, tmp_path):
    import numpy as np

    from hgm.jobs import Worker, WorkerSettings
    from hgm.types import Outcome, Task

    _, first = expand(run, box, scripted, tmp_path / "a", reply())  # node 1 carries word-count
    tree = run.checkout(0, tmp_path / "plain")
    (tree / "note.txt").write_text("an edit\n")
    second = run.add_node(0, tree, kind=NodeKind.EDIT, proposal="edit", skills=[])
    tasks = [Task(t, f"Count the words of {t}.", tmp_path, tmp_path, "true") for t in run.task_ids]
    worker = Worker(run, box, scripted["gateway"], None, tasks, WorkerSettings(model="distil"))
    rng = np.random.default_rng(0)
    assert worker.plan_skill(second.id, rng).adopt.name == "word-count"  # no failures: the first
    run.record_evaluation(second.id, 1, Outcome.FAIL, trajectory=b"{}")
    plan = worker.plan_skill(second.id, rng)  # nothing passed in its clade: adopt
    assert plan.adopt is not None and plan.adopt.name == "word-count" and plan.adopt.node == first.id
    assert "word_count.py" in plan.adopt.files
    run.record_evaluation(first.id, 0, Outcome.PASS, trajectory=b'{"steps": 1}')
    plan = worker.plan_skill(first.id, rng)  # its own clade passed; nothing left to adopt
    assert plan.success is not None and (plan.success.node, plan.success.task) == (first.id, "t0")
    assert plan.success.trajectory == '{"steps": 1}' and plan.adopt is None
