import unittest

from slugs import slugify, unique_slug


class SlugTest(unittest.TestCase):
    def test_accents_and_punctuation(self):
        self.assertEqual(slugify("Crème Brûlée: A How-To!"), "creme-brulee-a-how-to")

    def test_separator(self):
        self.assertEqual(slugify("Hello World", "_"), "hello_world")

    def test_unique(self):
        self.assertEqual(unique_slug("Hello", {"hello", "hello-2"}), "hello-3")
        self.assertEqual(unique_slug("!!!", set()), "post")


if __name__ == "__main__":
    unittest.main()
