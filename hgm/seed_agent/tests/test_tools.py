import tempfile
import unittest
from pathlib import Path

from agent import tools
from agent.tools import Tools


class ToolsTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = Path(self._tmp.name)
        self.tools = Tools(self.root, output_limit=200)

    def tearDown(self):
        self._tmp.cleanup()

    def test_bash_runs_in_the_workspace_and_reports_the_exit_code(self):
        (self.root / "here.txt").write_text("x")
        result = self.tools.call("bash", {"command": "ls; exit 3"})
        self.assertIn("here.txt", result.output)
        self.assertIn("[exit code: 3]", result.output)
        self.assertFalse(result.ok)

    def test_bash_output_past_the_limit_is_truncated_with_a_marker(self):
        result = self.tools.call("bash", {"command": "seq 1 1000"})
        self.assertIn("[output truncated:", result.output)
        self.assertLess(len(result.output), 300)
        self.assertIn("1000", result.output)  # the tail is kept

    def test_bash_command_past_its_timeout_is_killed(self):
        result = self.tools.call("bash", {"command": "sleep 5 & sleep 5", "timeout": 1})
        self.assertIn("timed out after 1 s", result.output)

    def test_view_shows_numbered_lines(self):
        (self.root / "a.py").write_text("first\nsecond\n")
        output = self.tools.call("view", {"path": "a.py"}).output
        self.assertRegex(output, r"1\tfirst\n\s+2\tsecond")

    def test_view_of_a_long_file_is_cut_off_with_a_marker(self):
        n = tools.VIEW_MAX_LINES + 5
        (self.root / "long.txt").write_text("".join(f"line {i}\n" for i in range(1, n + 1)))
        output = Tools(self.root, output_limit=10**9).call("view", {"path": "long.txt"}).output
        self.assertIn(f"[truncated: file has {n} lines", output)
        self.assertNotIn(f"line {n}\n", output)

    def test_view_lists_a_directory(self):
        (self.root / "pkg").mkdir()
        (self.root / "b.txt").write_text("")
        self.assertEqual(self.tools.call("view", {"path": "."}).output, "b.txt\npkg/")

    def test_create_file_makes_parent_directories(self):
        result = self.tools.call("create_file", {"path": "new/dir/f.txt", "content": "hi\n"})
        self.assertTrue(result.ok, result.output)
        self.assertEqual((self.root / "new/dir/f.txt").read_text(), "hi\n")

    def test_str_replace_replaces_a_unique_snippet(self):
        (self.root / "f.py").write_text("a = 1\nb = 2\n")
        result = self.tools.call("str_replace", {"path": "f.py", "old": "b = 2", "new": "b = 3"})
        self.assertTrue(result.ok, result.output)
        self.assertEqual((self.root / "f.py").read_text(), "a = 1\nb = 3\n")

    def test_str_replace_refuses_a_snippet_that_occurs_twice(self):
        (self.root / "f.py").write_text("x = 1\nx = 1\n")
        result = self.tools.call("str_replace", {"path": "f.py", "old": "x = 1", "new": "y"})
        self.assertFalse(result.ok)
        self.assertIn("occurs 2 times", result.output)
        self.assertEqual((self.root / "f.py").read_text(), "x = 1\nx = 1\n")

    def test_str_replace_reports_a_missing_snippet(self):
        (self.root / "f.py").write_text("x = 1\n")
        result = self.tools.call("str_replace", {"path": "f.py", "old": "nope", "new": "y"})
        self.assertFalse(result.ok)
        self.assertIn("not found", result.output)

    def test_paths_escaping_the_workspace_are_refused(self):
        for path in ("../outside.txt", "/etc/passwd", "sub/../../x"):
            result = self.tools.call("create_file", {"path": path, "content": "x"})
            self.assertFalse(result.ok, path)
            self.assertIn("outside the workspace", result.output)
        self.assertFalse((self.root.parent / "outside.txt").exists())

    def test_finish_ends_the_run_with_its_summary(self):
        result = self.tools.call("finish", '{"summary": "done"}')
        self.assertTrue(result.finished)
        self.assertEqual(result.output, "done")


class ArgumentErrorTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tools = Tools(self._tmp.name)

    def tearDown(self):
        self._tmp.cleanup()

    def assertError(self, result, text):
        self.assertFalse(result.ok)
        self.assertTrue(result.output.startswith("Error:"), result.output)
        self.assertIn(text, result.output)

    def test_invalid_json_arguments_give_an_error_result(self):
        self.assertError(self.tools.call("view", '{"path": "a'), "not valid JSON")

    def test_non_object_arguments_give_an_error_result(self):
        self.assertError(self.tools.call("view", '["a"]'), "must be a JSON object")

    def test_unknown_tool_gives_an_error_listing_the_tools(self):
        self.assertError(self.tools.call("edit", "{}"), "Available tools: bash, view")

    def test_missing_argument_gives_an_error_naming_it(self):
        self.assertError(self.tools.call("create_file", {"path": "a"}), "missing content")

    def test_unexpected_argument_gives_an_error_naming_it(self):
        self.assertError(self.tools.call("view", {"path": "a", "lines": 3}), "unexpected lines")

    def test_wrongly_typed_argument_gives_an_error(self):
        self.assertError(self.tools.call("view", {"path": 3}), "must be a string")


if __name__ == "__main__":
    unittest.main()
