import unittest

from dig import PathError, get_path, has_path

DATA = {
    "teams": [
        {"name": "core", "members": [{"email": "a@x.io"}, {"email": "b@x.io"}]},
        {"name": "web", "members": [{"email": "c@x.io"}, {"nick": "no-mail"}]},
        {"name": "empty", "members": []},
    ],
    "prices": {"tea": 3, "coffee": 4, "cake": 5},
    "items": ["first", "second", "last"],
}


class NegativeIndexTest(unittest.TestCase):
    def test_last_item(self):
        self.assertEqual(get_path(DATA, "items.-1"), "last")
        self.assertEqual(get_path(DATA, "items.-3"), "first")

    def test_nested_negative(self):
        self.assertEqual(get_path(DATA, "teams.-2.members.0.email"), "c@x.io")

    def test_negative_out_of_range(self):
        with self.assertRaises(PathError):
            get_path(DATA, "items.-4")
        self.assertEqual(get_path(DATA, "items.-4", default="none"), "none")


class WildcardTest(unittest.TestCase):
    def test_star_over_list(self):
        self.assertEqual(get_path(DATA, "teams.*.name"), ["core", "web", "empty"])

    def test_star_over_dict_values_in_order(self):
        self.assertEqual(get_path(DATA, "prices.*"), [3, 4, 5])

    def test_nested_stars_flatten_and_skip_missing(self):
        self.assertEqual(get_path(DATA, "teams.*.members.*.email"), ["a@x.io", "b@x.io", "c@x.io"])

    def test_star_result_is_list_even_for_one_match(self):
        self.assertEqual(get_path({"x": [{"y": 1}]}, "x.*.y"), [1])

    def test_star_with_no_matches_is_empty_list(self):
        self.assertEqual(get_path(DATA, "teams.*.missing"), [])
        self.assertEqual(get_path(DATA, "teams.2.members.*"), [])

    def test_star_then_index(self):
        self.assertEqual(get_path(DATA, "teams.*.members.-1"), [{"email": "b@x.io"}, {"nick": "no-mail"}])

    def test_star_does_not_iterate_strings(self):
        self.assertEqual(get_path(DATA, "items.*.*"), [])

    def test_paths_without_star_unchanged(self):
        self.assertEqual(get_path(DATA, "teams.1.name"), "web")
        with self.assertRaises(PathError):
            get_path(DATA, "teams.9")
        self.assertTrue(has_path(DATA, "prices.tea"))


if __name__ == "__main__":
    unittest.main()
