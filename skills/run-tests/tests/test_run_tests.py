"""run-tests: a real unittest suite run through run_tests, and real pytest output parsed."""

import shlex
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

import run_tests

# Printed by pytest 8 (-q) on a suite with one pass, one failure, one fixture error, one skip.
PYTEST_OUTPUT = """\
.FEs                                                                     [100%]
==================================== ERRORS ====================================
__________________________ ERROR at setup of test_err __________________________

    @pytest.fixture
    def broken():
>       raise RuntimeError("fixture exploded")
E       RuntimeError: fixture exploded

tests/test_sample.py:11: RuntimeError
=================================== FAILURES ===================================
___________________________________ test_bad ___________________________________

    def test_bad():
>       assert [] == [None]
E       assert [] == [None]
E
E         Right contains one more item: None
E         Use -v to get more diff

tests/test_sample.py:7: AssertionError
=========================== short test summary info ============================
FAILED tests/test_sample.py::test_bad - assert [] == [None]
ERROR tests/test_sample.py::test_err - RuntimeError: fixture exploded
1 failed, 1 passed, 1 skipped, 1 error in 0.14s
"""

SUITE = '''
import unittest


class Maths(unittest.TestCase):
    def test_adds(self):
        self.assertEqual(1 + 1, 2)

    def test_divides(self):
        self.assertEqual(10 / 4, 2)

    def test_crashes(self):
        {}["missing"]

    @unittest.skip("not yet")
    def test_later(self):
        pass
'''


class RunTestsTest(unittest.TestCase):
    def test_a_real_unittest_run_is_summarised(self):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "tests").mkdir()
            (Path(tmp) / "tests" / "__init__.py").write_text("")
            (Path(tmp) / "tests" / "test_maths.py").write_text(textwrap.dedent(SUITE))
            command = f"{shlex.quote(sys.executable)} -m unittest discover -s tests -t ."
            result = run_tests.run_tests(command, cwd=tmp, timeout=60)
        self.assertFalse(result["ok"])
        self.assertEqual(result["exit_code"], 1)
        self.assertEqual(result["framework"], "unittest")
        self.assertEqual((result["passed"], result["failed"], result["errors"], result["skipped"]), (1, 1, 1, 1))
        self.assertEqual(result["summary"], "1 failed, 1 errors, 1 passed, 1 skipped (unittest)")
        by_test = {f["test"]: f for f in result["failures"]}
        failed = by_test["tests.test_maths.Maths.test_divides"]
        self.assertEqual(failed["kind"], "failed")
        self.assertEqual(failed["message"], "AssertionError: 2.5 != 2")
        self.assertTrue(failed["location"].endswith("test_maths.py:10"), failed["location"])
        crashed = by_test["tests.test_maths.Maths.test_crashes"]
        self.assertEqual((crashed["kind"], crashed["message"]), ("error", "KeyError: 'missing'"))

    def test_a_passing_run_is_ok(self):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "test_one.py").write_text("import unittest\n\nclass T(unittest.TestCase):\n    def test_x(self):\n        pass\n")
            result = run_tests.run_tests(f"{shlex.quote(sys.executable)} -m unittest test_one", cwd=tmp)
        self.assertTrue(result["ok"])
        self.assertEqual(result["failures"], [])
        self.assertEqual(result["summary"], "1 passed (unittest)")

    def test_pytest_output_is_parsed(self):
        result = run_tests.parse_test_output(PYTEST_OUTPUT)
        self.assertEqual(result["framework"], "pytest")
        self.assertEqual((result["passed"], result["failed"], result["errors"], result["skipped"]), (1, 1, 1, 1))
        self.assertEqual(result["failures"], [
            {"test": "tests/test_sample.py::test_bad", "kind": "failed",
             "location": "tests/test_sample.py:7", "message": "assert [] == [None]"},
            {"test": "tests/test_sample.py::test_err", "kind": "error",
             "location": "tests/test_sample.py:11", "message": "RuntimeError: fixture exploded"},
        ])

    def test_a_command_that_cannot_start_or_times_out(self):
        result = run_tests.run_tests("no-such-test-runner-xyz --all")
        self.assertEqual(result["exit_code"], 127)
        self.assertIn("could not run 'no-such-test-runner-xyz --all'", result["summary"])
        result = run_tests.run_tests(f"{shlex.quote(sys.executable)} -c 'import time; time.sleep(30)'", timeout=1)
        self.assertTrue(result["timed_out"])
        self.assertTrue(result["summary"].startswith("timed out after 1 s"))

    def test_output_without_a_summary_says_so(self):
        result = run_tests.parse_test_output("make: *** No rule to make target 'test'.  Stop.")
        self.assertEqual(result["framework"], "unknown")
        self.assertEqual(result["failed"], -1)
        self.assertIn("No rule to make target", result["output_tail"])


if __name__ == "__main__":
    unittest.main()
