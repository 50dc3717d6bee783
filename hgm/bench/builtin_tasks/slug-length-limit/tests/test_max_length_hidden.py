import unittest

from slugs import slugify, unique_slug

TITLE = "The Quick Brown Fox Jumps Over the Lazy Dog"


class MaxLengthTest(unittest.TestCase):
    def test_whole_words_only(self):
        self.assertEqual(slugify(TITLE, max_length=20), "the-quick-brown-fox")
        self.assertEqual(slugify(TITLE, max_length=18), "the-quick-brown")
        self.assertEqual(slugify(TITLE, max_length=19), "the-quick-brown-fox")

    def test_never_ends_with_separator(self):
        for n in range(1, 50):
            with self.subTest(n=n):
                slug = slugify(TITLE, max_length=n)
                self.assertLessEqual(len(slug), n)
                self.assertFalse(slug.endswith("-"))
                self.assertTrue(slugify(TITLE).startswith(slug))

    def test_long_first_word_is_cut(self):
        self.assertEqual(slugify("Supercalifragilistic expialidocious", max_length=5), "super")

    def test_no_limit_unchanged(self):
        self.assertEqual(slugify(TITLE), "the-quick-brown-fox-jumps-over-the-lazy-dog")
        self.assertEqual(slugify(TITLE, max_length=100), slugify(TITLE))

    def test_custom_separator(self):
        self.assertEqual(slugify(TITLE, "__", max_length=15), "the__quick")

    def test_unique_suffix_fits(self):
        existing = {"the-quick-brown-fox"}
        self.assertEqual(unique_slug(TITLE, existing, max_length=20), "the-quick-brown-2")
        existing.add("the-quick-brown-2")
        self.assertEqual(unique_slug(TITLE, existing, max_length=20), "the-quick-brown-3")

    def test_unique_suffix_with_many_duplicates(self):
        existing = {"hello-world"} | {f"hello-world-{n}" for n in range(2, 10)}
        self.assertEqual(unique_slug("Hello World", existing, max_length=13), "hello-10")

    def test_unique_without_conflict(self):
        self.assertEqual(unique_slug(TITLE, set(), max_length=10), "the-quick")

    def test_invalid_limit(self):
        with self.assertRaises(ValueError):
            slugify(TITLE, max_length=0)


if __name__ == "__main__":
    unittest.main()
