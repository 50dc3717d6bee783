"""explain-traceback on real tracebacks, made by running small programs in a temporary project."""

import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

import explain_traceback

LOGIC = '''
import json

PRICES = {"apple": 3}


def price(item):
    return PRICES[item]


def total(items):
    return sum(price(i) for i in items)


def parse(text):
    return json.loads(text)


def wrapped(item):
    try:
        return price(item)
    except KeyError as e:
        raise ValueError(f"unknown item {item}") from e
'''

MAIN = '''
import sys

from app import logic

what = sys.argv[1]
if what == "key":
    logic.total(["apple", "pear"])
elif what == "json":
    logic.parse("{broken")
elif what == "chain":
    logic.wrapped("kiwi")
elif what == "syntax":
    import app.broken
'''


class ExplainTracebackTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        (self.root / "app").mkdir()
        (self.root / "app" / "__init__.py").write_text("")
        (self.root / "app" / "logic.py").write_text(textwrap.dedent(LOGIC).lstrip())
        (self.root / "app" / "broken.py").write_text("def f(:\n    pass\n")
        (self.root / "main.py").write_text(textwrap.dedent(MAIN).lstrip())

    def tearDown(self):
        self.tmp.cleanup()

    def traceback_of(self, what):
        proc = subprocess.run([sys.executable, "main.py", what], cwd=self.root, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        return "some log line before\n" + proc.stderr

    def test_the_innermost_project_frame_is_the_culprit_with_its_source(self):
        result = explain_traceback.explain_traceback(self.traceback_of("key"), root=str(self.root), context=1)
        self.assertTrue(result["found"])
        self.assertEqual((result["exception"], result["message"]), ("KeyError", "'pear'"))
        self.assertEqual(result["culprit"], {"path": "app/logic.py", "line": 7, "function": "price", "code": "return PRICES[item]"})
        self.assertEqual(result["source"], "  6 | def price(item):\n> 7 |     return PRICES[item]\n  8 | ")
        self.assertEqual([f["function"] for f in result["frames"]], ["<module>", "total", "<genexpr>", "price"])
        self.assertTrue(all(f["in_project"] for f in result["frames"]))
        self.assertIn("missing key", result["hint"])
        self.assertEqual(result["chain"], [])

    def test_library_frames_are_not_the_culprit(self):
        result = explain_traceback.explain_traceback(self.traceback_of("json"), root=str(self.root))
        self.assertEqual(result["exception"], "json.decoder.JSONDecodeError")
        self.assertTrue(result["message"].startswith("Expecting property name"))
        self.assertEqual(result["culprit"]["path"], "app/logic.py")
        self.assertEqual(result["culprit"]["function"], "parse")
        library = [f for f in result["frames"] if not f["in_project"]]
        self.assertTrue(library and all("json" in f["path"] for f in library))

    def test_a_chain_keeps_the_earlier_exceptions(self):
        result = explain_traceback.explain_traceback(self.traceback_of("chain"), root=str(self.root))
        self.assertEqual((result["exception"], result["message"]), ("ValueError", "unknown item kiwi"))
        self.assertEqual(result["chain"], ["KeyError: 'kiwi'"])
        self.assertEqual(result["culprit"]["function"], "wrapped")

    def test_a_syntax_error_in_an_imported_module(self):
        result = explain_traceback.explain_traceback(self.traceback_of("syntax"), root=str(self.root))
        self.assertEqual(result["exception"], "SyntaxError")
        self.assertEqual(result["culprit"]["path"], "app/broken.py")
        self.assertEqual(result["culprit"]["line"], 1)
        self.assertEqual(result["culprit"]["code"], "def f(:")
        self.assertIn("does not parse", result["hint"])

    def test_text_without_a_traceback(self):
        result = explain_traceback.explain_traceback("all good\n", root=str(self.root))
        self.assertFalse(result["found"])
        self.assertIsNone(result["culprit"])

    def test_hints_follow_the_message(self):
        text = "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n    f(1, 2)\nTypeError: f() takes 1 positional argument but 2 were given\n"
        result = explain_traceback.explain_traceback(text, root=str(self.root))
        self.assertIn("signature", result["hint"])
        self.assertEqual(result["frames"], [{"path": "x.py", "line": 1, "function": "<module>", "code": "f(1, 2)", "in_project": False}])


if __name__ == "__main__":
    unittest.main()
