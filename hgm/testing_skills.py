"""The demo model's answer to the skill-distillation prompt (hgm.jobs.skill_expansion).

Like a careful model, it turns the passing run into a small skill: ``notes-<task>`` whose entry
point lists the files that run rewrote (from the task's reference solution), with a SKILL.md
and a unittest test. To exercise the invalid path too, every second skill in a lineage comes
with a test that fails: when the parent already carries an odd number of ``notes-`` skills,
the reply's test expects one file too many.
"""

from __future__ import annotations

import re

from hgm.gateway import ChatRequest
from hgm.gateway.openai_format import message_text

FORMAT_MARK = "SKILL REPLY FORMAT"


def is_distil_request(request: ChatRequest) -> bool:
    return any(m.get("role") == "system" and FORMAT_MARK in message_text(m) for m in request.messages)


def demo_skill_reply(request: ChatRequest, files_of_task) -> dict:
    """The reply: ``files_of_task(task_id)`` gives the files a passing run rewrote."""
    user = "\n".join(message_text(m) for m in request.messages if m.get("role") == "user")
    match = re.search(r"^Task id: (.+)$", user, re.MULTILINE)
    task = match.group(1).strip() if match else "task"
    slug = "-".join(re.findall(r"[a-z0-9]+", task.lower()))[:40].strip("-") or "task"
    name = f"notes-{slug}"
    module = name.replace("-", "_")
    files = sorted(files_of_task(task))
    have = len(re.findall(r"^- notes-", user, re.MULTILINE))
    expected = files + ["one-file-too-many.py"] if have % 2 else files
    return {"content": "\n".join([
        f"SKILL: {name}",
        "IMPROVES: none",
        "--- FILE: SKILL.md",
        "---",
        f"name: {name}",
        f"description: Lists the files a passing fix of task {task} rewrote. Use it on a task "
        f"like {task} to know where to look first.",
        "---",
        f"# {name}",
        "",
        f"Use it when a task resembles {task}: call `files_changed()` and read those files first.",
        "",
        "Example:",
        "",
        f"    from {module} import files_changed",
        "    files_changed()",
        f"--- FILE: {module}.py",
        f'"""What worked on task {task}, kept for next time."""',
        "",
        "from __future__ import annotations",
        "",
        '__all__ = ["files_changed"]',
        "",
        f"FILES = {files!r}",
        "",
        "",
        "def files_changed() -> list[str]:",
        f'    """The files a passing fix of task {task} rewrote, sorted."""',
        "    return list(FILES)",
        "--- FILE: tests/__init__.py",
        f"--- FILE: tests/test_{module}.py",
        "import unittest",
        "",
        f"import {module}",
        "",
        "",
        "class FilesChangedTest(unittest.TestCase):",
        "    def test_lists_the_files(self):",
        f"        self.assertEqual({module}.files_changed(), {expected!r})",
        "--- END",
    ])}
