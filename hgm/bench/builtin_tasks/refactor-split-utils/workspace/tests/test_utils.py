import io
import unittest
from contextlib import redirect_stdout

from toolkit.cli import main
from toolkit.report import summarize
from toolkit.utils import clamp, mean, normalize_space, percent, slugify, truncate_words


class UtilsTest(unittest.TestCase):
    def test_text(self):
        self.assertEqual(slugify("Héllo, Wörld!"), "hello-world")
        self.assertEqual(normalize_space("  a \n b  "), "a b")
        self.assertEqual(truncate_words("one two three", 2), "one two...")

    def test_numbers(self):
        self.assertEqual(clamp(5, 0, 3), 3)
        self.assertEqual(percent(1, 3), 33.3)
        self.assertEqual(mean([1, 2, 3, 4]), 2.5)

    def test_report(self):
        text = summarize([{"title": "Write the quarterly report for finance", "done": True, "hours": 3},
                          {"title": "Fix bug", "done": False, "hours": 2}])
        self.assertEqual(
            text,
            "[x] Write the quarterly report for...\n[ ] Fix bug\n1/2 done (50.0%)\naverage estimate: 2.5 h",
        )

    def test_cli(self):
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(main(["slug", "Big", " News"]), 0)
        self.assertEqual(out.getvalue(), "big-news\n")


if __name__ == "__main__":
    unittest.main()
