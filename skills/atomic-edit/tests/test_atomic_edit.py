"""atomic-edit on real files in a temporary folder."""

import tempfile
import unittest
from pathlib import Path

import atomic_edit

UTIL = "def fetch(url):\n    return url\n"
MAIN = "from util import fetch\n\nURL = 'x'\nprint(fetch(URL))\nprint(fetch(URL))\n"


class AtomicEditTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        (self.root / "util.py").write_text(UTIL)
        (self.root / "main.py").write_text(MAIN)
        (self.root / "notes.txt").write_text("fetch things\n")

    def tearDown(self):
        self.tmp.cleanup()

    def files(self):
        return {p.name: p.read_text() for p in sorted(self.root.iterdir())}

    def test_edits_across_files_are_applied(self):
        result = atomic_edit.apply_edits([
            {"path": "util.py", "old": "def fetch(url):", "new": "def fetch(url, timeout=10):"},
            {"path": "main.py", "old": "fetch(URL)", "new": "fetch(URL, timeout=5)", "count": "all"},
            {"path": "pkg/new.py", "content": "VALUE = 1\n"},
            {"path": "notes.txt", "delete": "true"},
        ], root=str(self.root))
        self.assertEqual(result, {
            "ok": True, "changed": ["util.py", "main.py", "pkg/new.py", "notes.txt"], "error": None,
            "diff_stats": {"util.py": "+1 -1", "main.py": "+2 -2", "pkg/new.py": "+1 -0", "notes.txt": "+0 -1"},
        })
        self.assertEqual((self.root / "util.py").read_text(), "def fetch(url, timeout=10):\n    return url\n")
        self.assertEqual(MAIN.replace("fetch(URL)", "fetch(URL, timeout=5)"), (self.root / "main.py").read_text())
        self.assertEqual((self.root / "pkg" / "new.py").read_text(), "VALUE = 1\n")
        self.assertFalse((self.root / "notes.txt").exists())

    def test_a_syntax_error_anywhere_changes_nothing(self):
        before = self.files()
        result = atomic_edit.apply_edits([
            {"path": "util.py", "old": "def fetch(url):", "new": "def fetch(url, timeout=10):"},
            {"path": "main.py", "old": "URL = 'x'", "new": "URL = 'x"},
        ], root=str(self.root))
        self.assertFalse(result["ok"])
        self.assertTrue(result["error"].startswith("main.py: line 3: "), result["error"])
        self.assertTrue(result["error"].endswith("(nothing was changed)"))
        self.assertEqual(self.files(), before)

    def test_a_failed_write_restores_the_files_already_written(self):
        # notes.txt is a file, so the folder notes.txt/ cannot be made: the second write fails.
        result = atomic_edit.apply_edits([
            {"path": "util.py", "old": "return url", "new": "return url.strip()"},
            {"path": "notes.txt/b.py", "content": "B = 2\n"},
        ], root=str(self.root))
        self.assertFalse(result["ok"])
        self.assertIn("notes.txt/b.py: could not write", result["error"])
        self.assertTrue(result["error"].endswith("all files restored"))
        self.assertEqual((self.root / "util.py").read_text(), UTIL)
        self.assertEqual((self.root / "notes.txt").read_text(), "fetch things\n")

    def test_bad_edits_are_refused_with_the_file_named(self):
        cases = [
            ([{"path": "main.py", "old": "fetch(URL)", "new": "x"}], "main.py: edit 0: the 'old' text occurs 2 times"),
            ([{"path": "main.py", "old": "nowhere", "new": "x"}], "main.py: edit 0: the 'old' text was not found"),
            ([{"path": "missing.py", "old": "a", "new": "b"}], "missing.py: edit 0 replaces text in a file that does not exist"),
            ([{"path": "../escape.py", "content": "x"}], "../escape.py: outside the root folder"),
            ([{"path": "main.py"}], "main.py: edit 0 needs 'old' and 'new', 'content', or 'delete'"),
            ([], "edits must be a non-empty list of objects"),
        ]
        before = self.files()
        for edits, error in cases:
            with self.subTest(error=error):
                result = atomic_edit.apply_edits(edits, root=str(self.root))
                self.assertFalse(result["ok"])
                self.assertTrue(result["error"].startswith(error), result["error"])
        self.assertEqual(self.files(), before)

    def test_dry_run_checks_without_writing(self):
        result = atomic_edit.apply_edits([{"path": "util.py", "old": "url)", "new": "link)"}], root=str(self.root), dry_run=True)
        self.assertTrue(result["ok"])
        self.assertEqual(result["diff_stats"], {"util.py": "+1 -1"})
        self.assertEqual((self.root / "util.py").read_text(), UTIL)

    def test_edits_to_the_same_file_apply_in_order(self):
        result = atomic_edit.apply_edits([
            {"path": "util.py", "old": "fetch", "new": "get"},
            {"path": "util.py", "old": "def get(url):", "new": "def get(url, retries=3):"},
        ], root=str(self.root))
        self.assertTrue(result["ok"], result)
        self.assertEqual((self.root / "util.py").read_text(), "def get(url, retries=3):\n    return url\n")


if __name__ == "__main__":
    unittest.main()
