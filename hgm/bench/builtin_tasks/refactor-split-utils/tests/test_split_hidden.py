import ast
import importlib
import io
import os
import unittest
from contextlib import redirect_stdout

TEXT = ["slugify", "truncate_words", "normalize_space"]
NUMERIC = ["clamp", "percent", "mean"]


def imported_modules(path):
    """Absolute names of the modules a source file imports from."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = "toolkit" + ("." + base if base else "")
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


class LayoutTest(unittest.TestCase):
    def test_text_helpers_live_in_text_module(self):
        text = importlib.import_module("toolkit.text")
        for name in TEXT:
            with self.subTest(name=name):
                self.assertEqual(getattr(text, name).__module__, "toolkit.text")

    def test_number_helpers_live_in_numeric_module(self):
        numeric = importlib.import_module("toolkit.numeric")
        for name in NUMERIC:
            with self.subTest(name=name):
                self.assertEqual(getattr(numeric, name).__module__, "toolkit.numeric")

    def test_modules_do_not_mix_concerns(self):
        text = importlib.import_module("toolkit.text")
        numeric = importlib.import_module("toolkit.numeric")
        for name in NUMERIC:
            self.assertFalse(hasattr(text, name), name)
        for name in TEXT:
            self.assertFalse(hasattr(numeric, name), name)

    def test_utils_reexports_the_same_functions(self):
        utils = importlib.import_module("toolkit.utils")
        text = importlib.import_module("toolkit.text")
        numeric = importlib.import_module("toolkit.numeric")
        for name in TEXT:
            self.assertIs(getattr(utils, name), getattr(text, name))
        for name in NUMERIC:
            self.assertIs(getattr(utils, name), getattr(numeric, name))

    def test_package_modules_do_not_import_utils(self):
        for module in ("cli", "report"):
            with self.subTest(module=module):
                names = imported_modules(os.path.join("toolkit", f"{module}.py"))
                self.assertFalse({"toolkit.utils"} & names, sorted(names))
                self.assertTrue({"toolkit.text", "toolkit.numeric"} & names, sorted(names))


class BehaviourTest(unittest.TestCase):
    def test_text_helpers(self):
        from toolkit.text import normalize_space, slugify, truncate_words

        self.assertEqual(slugify("  Crème brûlée -- 2 ways! "), "creme-brulee-2-ways")
        self.assertEqual(normalize_space("\ta  b\n"), "a b")
        self.assertEqual(truncate_words("a b c", 3), "a b c")
        self.assertEqual(truncate_words("a b c d", 2, suffix=" [more]"), "a b [more]")

    def test_number_helpers(self):
        from toolkit.numeric import clamp, mean, percent

        self.assertEqual(clamp(-2, 0, 10), 0)
        with self.assertRaises(ValueError):
            clamp(1, 5, 0)
        self.assertEqual(percent(2, 3, digits=2), 66.67)
        self.assertEqual(percent(5, 0), 0.0)
        with self.assertRaises(ValueError):
            mean([])

    def test_cli_and_report_still_work(self):
        from toolkit.cli import main
        from toolkit.report import summarize

        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(main(["clamp", "12", "0", "10"]), 0)
        self.assertEqual(out.getvalue(), "10.0\n")
        self.assertEqual(summarize([]), "0/0 done (0.0%)")


if __name__ == "__main__":
    unittest.main()
