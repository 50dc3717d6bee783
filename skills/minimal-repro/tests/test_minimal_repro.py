"""minimal-repro on a small real project with a buggy module and its test suite."""

import tempfile
import textwrap
import unittest
from pathlib import Path

import minimal_repro

CALC = '''
def divide(a, b):
    return a / b


def mean(values):
    return sum(values) / len(values)
'''

HELPERS = '''
def pair():
    return (6, 3)
'''

TESTS = '''
import unittest

from calc import divide, mean

from .helpers import pair

ZERO = 0
UNUSED = "never needed"


def expected_ratio():
    return 2


def unrelated_helper():
    return UNUSED


class BaseCase(unittest.TestCase):
    maxDiff = None


class TestDivide(BaseCase):
    def setUp(self):
        self.a, self.b = pair()

    def check(self, a, b):
        return divide(a, b)

    def test_ratio(self):
        self.assertEqual(self.check(self.a, self.b), expected_ratio())

    def test_by_zero(self):
        self.assertEqual(self.check(self.a, ZERO), 0)

    def test_other(self):
        self.assertEqual(unrelated_helper(), "never needed")


def test_mean_of_nothing():
    assert mean([]) == 0


def test_with_fixture(tmp_path):
    assert tmp_path
'''


class MinimalReproTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        (self.root / "tests").mkdir()
        (self.root / "calc.py").write_text(textwrap.dedent(CALC))
        (self.root / "tests" / "__init__.py").write_text("")
        (self.root / "tests" / "helpers.py").write_text(textwrap.dedent(HELPERS))
        (self.root / "tests" / "test_calc.py").write_text(textwrap.dedent(TESTS))

    def tearDown(self):
        self.tmp.cleanup()

    def test_a_failing_unittest_method_is_cut_out_and_reproduces(self):
        result = minimal_repro.make_repro("tests/test_calc.py::TestDivide::test_by_zero", root=str(self.root))
        self.assertTrue(result["ok"], result)
        self.assertEqual(result["script"], "repro_test_by_zero.py")
        self.assertTrue(result["reproduces"])
        self.assertIn("ZeroDivisionError: division by zero", result["output_tail"])
        script = (self.root / "repro_test_by_zero.py").read_text()
        for kept in ("from tests.helpers import pair", "ZERO = 0", "class BaseCase", "def setUp", "def check", "def test_by_zero"):
            self.assertIn(kept, script)
        for dropped in ("UNUSED", "unrelated_helper", "def test_ratio", "def test_other", "test_mean_of_nothing", "expected_ratio"):
            self.assertNotIn(dropped, script)
        self.assertLess(result["lines"], result["original_lines"])

    def test_the_dotted_unittest_id_and_a_passing_test(self):
        result = minimal_repro.make_repro("tests.test_calc.TestDivide.test_ratio", root=str(self.root), out="r.py")
        self.assertEqual((result["ok"], result["script"], result["reproduces"]), (True, "r.py", False))
        self.assertIn("expected_ratio", (self.root / "r.py").read_text())

    def test_a_plain_test_function(self):
        result = minimal_repro.make_repro("tests/test_calc.py::test_mean_of_nothing", root=str(self.root))
        self.assertTrue(result["reproduces"], result)
        self.assertIn("ZeroDivisionError", result["output_tail"])
        self.assertNotIn("class TestDivide", (self.root / result["script"]).read_text())

    def test_what_cannot_be_cut_out_says_why(self):
        cases = {
            "tests/test_calc.py::test_with_fixture": "takes pytest fixtures (tmp_path)",
            "tests/test_calc.py::TestDivide::test_missing": "no test method TestDivide.test_missing",
            "tests/test_calc.py::Nope::test_x": "no class Nope in tests/test_calc.py",
            "tests.nothing.Test.test_x": "no module file found",
        }
        for test_id, reason in cases.items():
            with self.subTest(test_id=test_id):
                result = minimal_repro.make_repro(test_id, root=str(self.root), run=False)
                self.assertFalse(result["ok"])
                self.assertIn(reason, result["error"])
                self.assertTrue(result["error"].startswith(test_id))


if __name__ == "__main__":
    unittest.main()
