"""summarize-diff on a real git repository in a temporary folder, and on a plain diff."""

import difflib
import os
import subprocess
import tempfile
import textwrap
import unittest
from pathlib import Path

import summarize_diff

APP = '''
class Cart:
    def __init__(self):
        self.items = []

    def add(self, item):
        self.items.append(item)

    def total(self):
        return sum(self.items)


def helper():
    return 1
'''

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


class SummarizeDiffTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        self.git("init", "-q")
        (self.root / "app.py").write_text(textwrap.dedent(APP).lstrip())
        (self.root / "notes.txt").write_text("".join(f"note {i}\n" for i in range(20)))
        (self.root / "old.py").write_text("X = 1\n")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "first")

    def tearDown(self):
        self.tmp.cleanup()

    def git(self, *args):
        env = {**os.environ, **GIT_ENV}
        subprocess.run(["git", *args], cwd=self.root, env=env, check=True, capture_output=True, timeout=60)

    def change(self):
        app = (self.root / "app.py").read_text()
        app = app.replace("return sum(self.items)", "return sum(self.items) * 2")
        app += "\n\ndef discount(total):\n    return total * 0.9\n"
        (self.root / "app.py").write_text(app)
        (self.root / "old.py").unlink()
        self.git("mv", "notes.txt", "docs.txt")
        (self.root / "new.py").write_text("def fresh():\n    return 0\n")
        self.git("add", "-A")

    def test_staged_changes_are_summarised_per_file(self):
        self.change()
        result = summarize_diff.summarize_diff(root=str(self.root), staged=True)
        by_path = {f["path"]: f for f in result["files"]}
        self.assertEqual(set(by_path), {"app.py", "docs.txt", "new.py", "old.py"})
        app = by_path["app.py"]
        self.assertEqual((app["status"], app["added"], app["removed"]), ("modified", 5, 1))
        self.assertEqual(app["symbols"], ["Cart.total", "discount"])
        self.assertEqual((by_path["docs.txt"]["status"], by_path["docs.txt"]["old_path"]), ("renamed", "notes.txt"))
        self.assertEqual((by_path["old.py"]["status"], by_path["old.py"]["removed"]), ("deleted", 1))
        self.assertEqual((by_path["new.py"]["status"], by_path["new.py"]["symbols"]), ("added", ["fresh"]))
        self.assertEqual((result["added"], result["removed"]), (7, 2))
        self.assertIn("M app.py +5 -1 (Cart.total, discount)", result["summary"])
        self.assertTrue(result["summary"].startswith("4 files changed, +7 -2"))

    def test_against_a_base_commit_and_with_nothing_changed(self):
        self.assertEqual(summarize_diff.summarize_diff(root=str(self.root))["summary"], "no changes")
        self.change()
        self.git("commit", "-q", "-m", "second")
        result = summarize_diff.summarize_diff(root=str(self.root), base="HEAD~1")
        self.assertEqual(len(result["files"]), 4)

    def test_a_plain_diff_without_the_files(self):
        before = textwrap.dedent(APP).lstrip().splitlines(keepends=True)
        after = [line.replace("self.items.append(item)", "self.items.append(int(item))") for line in before]
        diff = "".join(difflib.unified_diff(before, after, "a/shop/cart.py", "b/shop/cart.py"))
        result = summarize_diff.summarize_diff(diff=diff, root=str(self.root))
        (cart,) = result["files"]
        self.assertEqual((cart["path"], cart["status"], cart["added"], cart["removed"]), ("shop/cart.py", "modified", 1, 1))
        self.assertEqual(cart["symbols"], ["add"])  # from the hunk's changed lines, the file is not here

    def test_outside_a_repository_it_says_git_failed(self):
        with tempfile.TemporaryDirectory() as empty:
            result = summarize_diff.summarize_diff(root=empty)
        self.assertTrue(result["summary"].startswith("git diff failed: "), result["summary"])
        self.assertEqual(result["files"], [])


if __name__ == "__main__":
    unittest.main()
