import unittest

from wrapping import fill, wrap


class WrapTest(unittest.TestCase):
    def test_short_text_unchanged(self):
        self.assertEqual(wrap("hello world", 40), ["hello world"])

    def test_long_word_is_cut(self):
        self.assertEqual(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"])

    def test_fill_keeps_paragraphs(self):
        self.assertEqual(fill("one\n\ntwo", 10, "> "), "> one\n\n> two")


if __name__ == "__main__":
    unittest.main()
