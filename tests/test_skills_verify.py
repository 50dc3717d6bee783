"""hgm.skills.verify: static problems first, then the skill's own tests in a real sandbox
(bubblewrap locally, and once on docker)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hgm.sandbox import get_sandbox
from hgm.sandbox import image as image_module
from hgm.skills.verify import verify_skill
from tests.skill_fixtures import GOOD_MODULE, write_skill


def _test(body: str) -> str:
    lines = "\n".join("        " + line for line in body.splitlines())
    return f"import unittest\n\nimport adder\n\n\nclass T(unittest.TestCase):\n    def test_it(self):\n{lines}\n"


@pytest.fixture(scope="module")
def box() -> Iterator:
    sandbox = get_sandbox("local")
    if not sandbox.isolated:
        sandbox.close()
        pytest.skip("bubblewrap cannot run here (apt-get install bubblewrap), so local isolates nothing")
    yield sandbox
    sandbox.close()


def test_a_skill_whose_tests_pass_is_ok(box, tmp_path: Path) -> None:
    folder = write_skill(tmp_path)
    verdict = verify_skill(folder, box)
    assert verdict.ok and verdict.reason is None, verdict
    assert "Ran 1 test" in verdict.log and "OK" in verdict.log
    assert sorted(p.name for p in folder.iterdir()) == ["SKILL.md", "adder.py", "tests"]  # host copy untouched


def test_static_problems_come_first_without_running_anything(box, tmp_path: Path) -> None:
    folder = write_skill(tmp_path, module=GOOD_MODULE.replace("import json", "import requests as json"))
    verdict = verify_skill(folder, box)
    assert not verdict.ok
    assert verdict.reason.startswith("invalid skill: adder/adder.py line 5: imports 'requests'")
    assert "Ran" not in verdict.log


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ("self.assertEqual(adder.add(1), {'sum': 4})",
         "adder: tests failed in tests.test_adder.T.test_it (FAILED (failures=1)): AssertionError: {'sum': 3} != {'sum': 4}"),
        # A computed import escapes the static check; -S keeps site-packages away at run time.
        ("__import__('ya' + 'ml')", "ModuleNotFoundError: No module named 'yaml'"),
        ("self.assertIn('root', open('/etc/shadow').read())",
         "adder: tests failed: the skill tried to reach /etc/shadow, outside its sandbox"),
        ("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=5)", "OSError: [Errno 101] Network is unreachable"),
    ],
)
def test_failing_tests_give_a_clear_reason(box, tmp_path: Path, test: str, expected: str) -> None:
    verdict = verify_skill(write_skill(tmp_path, test=_test(test)), box)
    assert not verdict.ok
    assert expected in verdict.reason, verdict.reason
    assert "\n" not in verdict.reason


def test_reading_the_run_folder_is_outside_the_sandbox(box, tmp_path: Path) -> None:
    run_file = tmp_path / "run" / "hgm.db"
    run_file.parent.mkdir()
    run_file.write_text("secret")
    folder = write_skill(tmp_path, test=_test(f"self.assertTrue(open({str(run_file)!r}).read())"))
    verdict = verify_skill(folder, box)
    assert verdict.reason == f"adder: tests failed: the skill tried to reach {run_file}, outside its sandbox"


def test_no_tests_and_a_time_limit(box, tmp_path: Path) -> None:
    verdict = verify_skill(write_skill(tmp_path / "a", test="import unittest\n"), box)
    assert verdict.reason == "adder: no tests ran (tests/test_*.py must hold unittest test cases)"
    verdict = verify_skill(write_skill(tmp_path / "b", test=_test("import time\ntime.sleep(120)")), box, timeout_s=2)
    assert verdict.reason == "adder: tests timed out after 2 s"


@pytest.mark.slow
def test_on_docker(tmp_path: Path) -> None:
    problem = image_module.engine_problem()
    if problem and os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the docker skill test, but: {problem}")
    if problem:
        pytest.skip(problem)
    sandbox = get_sandbox("docker")
    try:
        assert verify_skill(write_skill(tmp_path / "a"), sandbox).ok
        verdict = verify_skill(write_skill(tmp_path / "b", test=_test("open('/etc/shadow').read()")), sandbox)
        assert verdict.reason == "adder: tests failed: the skill tried to reach /etc/shadow, outside its sandbox"
    finally:
        sandbox.close()
