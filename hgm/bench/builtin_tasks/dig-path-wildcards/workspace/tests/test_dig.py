import unittest

from dig import PathError, get_path, has_path

DATA = {"a": {"b": [10, 20, {"c": "deep"}]}}


class DigTest(unittest.TestCase):
    def test_keys_and_indices(self):
        self.assertEqual(get_path(DATA, "a.b.1"), 20)
        self.assertEqual(get_path(DATA, "a.b.2.c"), "deep")

    def test_missing(self):
        with self.assertRaises(PathError):
            get_path(DATA, "a.x")
        self.assertEqual(get_path(DATA, "a.b.9", default=0), 0)
        self.assertFalse(has_path(DATA, "a.b.9"))


if __name__ == "__main__":
    unittest.main()
