"""find-symbol on a small real project written to a temporary folder."""

import tempfile
import textwrap
import unittest
from pathlib import Path

import find_symbol

FILES = {
    "app/__init__.py": "",
    "app/config.py": '''
        import json

        DEFAULT_PATH = "config.json"


        class Config:
            def __init__(self, data):
                self.data = data

            def load(self, path):
                return json.loads(open(path).read())


        def load_config(path: str = DEFAULT_PATH) -> Config:
            """Read load_config's file (this mention in a string is not a use)."""
            return Config(json.load(open(path)))
        ''',
    "app/main.py": '''
        from app.config import Config, load_config


        def main(argv):
            # load_config is called below; this comment is not a use
            cfg = load_config(argv[1])
            other = Config({}).load("x.json")
            handler = load_config
            return cfg, other, handler
        ''',
    "tests/test_config.py": '''
        from app.config import load_config


        def test_it():
            assert load_config("a.json")
        ''',
    "broken.py": "def broken(:\n",
}


class FindSymbolTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        for rel, text in FILES.items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))

    def tearDown(self):
        self.tmp.cleanup()

    def places(self, entries):
        return sorted((e["path"], e["line"], e["kind"]) for e in entries)

    def test_function_definitions_and_uses(self):
        found = find_symbol.find_symbol("load_config", root=str(self.root))
        self.assertEqual(self.places(found["definitions"]), [
            ("app/config.py", 14, "function"),
            ("app/main.py", 1, "import"),
            ("tests/test_config.py", 1, "import"),
        ])
        self.assertEqual(self.places(found["references"]), [
            ("app/main.py", 6, "call"),
            ("app/main.py", 8, "name"),
            ("tests/test_config.py", 5, "call"),
        ])
        call = next(r for r in found["references"] if r["kind"] == "call" and r["path"] == "app/main.py")
        self.assertEqual(call["context"], "cfg = load_config(argv[1])")
        self.assertEqual(found["unparsable"], ["broken.py"])
        self.assertEqual(found["files_scanned"], 5)
        self.assertFalse(found["truncated"])

    def test_a_method_by_class_and_name(self):
        found = find_symbol.find_symbol("Config.load", root=str(self.root))
        self.assertEqual(self.places(found["definitions"]), [("app/config.py", 10, "method")])
        # Uses are matched by attribute name on any object (types are not inferred): json.load too.
        self.assertEqual(self.places(found["references"]), [("app/config.py", 16, "call"), ("app/main.py", 7, "call")])

    def test_classes_constants_and_parameters(self):
        found = find_symbol.find_symbol("Config", root=str(self.root))
        self.assertIn(("app/config.py", 6, "class"), self.places(found["definitions"]))
        self.assertIn(("app/config.py", 14, "name"), self.places(found["references"]))  # the return annotation
        found = find_symbol.find_symbol("DEFAULT_PATH", root=str(self.root))
        self.assertEqual(self.places(found["definitions"]), [("app/config.py", 3, "variable")])
        self.assertEqual(self.places(found["references"]), [("app/config.py", 14, "name")])
        found = find_symbol.find_symbol("argv", root=str(self.root))
        self.assertEqual(self.places(found["definitions"]), [("app/main.py", 4, "parameter")])

    def test_tests_can_be_left_out_and_results_capped(self):
        found = find_symbol.find_symbol("load_config", root=str(self.root), include_tests=False)
        self.assertNotIn("tests/test_config.py", {e["path"] for e in found["definitions"] + found["references"]})
        found = find_symbol.find_symbol("load_config", root=str(self.root), max_results=2)
        self.assertTrue(found["truncated"])
        self.assertEqual(len(found["definitions"]) + len(found["references"]), 2)


if __name__ == "__main__":
    unittest.main()
