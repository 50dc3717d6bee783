import random
import unittest

from wrapping import fill, wrap

WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split()


class WidthTest(unittest.TestCase):
    def test_issue_example(self):
        self.assertEqual(wrap("aaa bb cc", 5), ["aaa", "bb cc"])

    def test_exact_fit_is_kept_on_one_line(self):
        self.assertEqual(wrap("aa bb", 5), ["aa bb"])
        self.assertEqual(wrap("aa bb c", 7), ["aa bb c"])

    def test_one_over_moves_word(self):
        self.assertEqual(wrap("aa bbb", 5), ["aa", "bbb"])

    def test_long_word_after_text(self):
        self.assertEqual(wrap("ab cdefghij k", 4), ["ab", "cdef", "ghij", "k"])

    def test_random_texts_respect_width_and_are_greedy(self):
        rng = random.Random(11)
        for _ in range(200):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30)))
            width = rng.randint(11, 30)
            with self.subTest(text=text, width=width):
                lines = wrap(text, width)
                self.assertTrue(all(len(line) <= width for line in lines))
                self.assertEqual(" ".join(lines).split(), text.split())
                for line, following in zip(lines, lines[1:]):
                    first = following.split()[0]
                    self.assertGreater(len(line) + 1 + len(first), width)

    def test_fill_respects_width_with_indent(self):
        text = " ".join(WORDS * 3) + "\n\n" + " ".join(reversed(WORDS))
        out = fill(text, 20, "  ")
        self.assertTrue(all(len(line) <= 20 for line in out.splitlines()))
        self.assertEqual(out.split("\n\n")[1].splitlines()[0], "  tempor eiusmod do")


if __name__ == "__main__":
    unittest.main()
