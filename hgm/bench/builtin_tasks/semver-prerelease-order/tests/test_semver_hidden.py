import random
import unittest

from semver import compare, latest, sort_versions

SPEC_ORDER = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
]


class PrereleaseOrderTest(unittest.TestCase):
    def test_prerelease_is_lower_than_release(self):
        self.assertEqual(compare("1.0.0-alpha", "1.0.0"), -1)
        self.assertEqual(compare("1.0.0", "1.0.0-alpha"), 1)

    def test_numeric_identifiers_compare_numerically(self):
        self.assertEqual(compare("1.0.0-rc.10", "1.0.0-rc.2"), 1)
        self.assertEqual(compare("1.0.0-2", "1.0.0-10"), -1)

    def test_numeric_identifier_lower_than_alphanumeric(self):
        self.assertEqual(compare("1.0.0-1", "1.0.0-alpha"), -1)
        self.assertEqual(compare("1.0.0-alpha.1", "1.0.0-alpha.beta"), -1)

    def test_shorter_identifier_list_is_lower(self):
        self.assertEqual(compare("1.0.0-alpha", "1.0.0-alpha.1"), -1)
        self.assertEqual(compare("1.0.0-alpha.1.1", "1.0.0-alpha.1"), 1)

    def test_alphanumeric_identifiers_compare_as_ascii(self):
        self.assertEqual(compare("1.0.0-Beta", "1.0.0-alpha"), -1)
        self.assertEqual(compare("1.0.0-beta", "1.0.0-alpha"), 1)

    def test_spec_example_order(self):
        shuffled = SPEC_ORDER[:]
        random.Random(7).shuffle(shuffled)
        self.assertEqual(sort_versions(shuffled), SPEC_ORDER)

    def test_every_adjacent_pair_of_spec_example(self):
        for low, high in zip(SPEC_ORDER, SPEC_ORDER[1:]):
            with self.subTest(low=low, high=high):
                self.assertEqual(compare(low, high), -1)
                self.assertEqual(compare(high, low), 1)

    def test_build_metadata_ignored(self):
        self.assertEqual(compare("1.0.0-rc.1+build.1", "1.0.0-rc.1+build.2"), 0)
        self.assertEqual(compare("1.0.0+zzz", "1.0.0"), 0)

    def test_core_still_decides_first(self):
        self.assertEqual(compare("1.0.1-alpha", "1.0.0"), 1)
        self.assertEqual(compare("2.0.0-rc.1", "1.99.99"), 1)

    def test_latest_with_prereleases(self):
        versions = ["1.0.0-rc.2", "1.0.0-rc.10", "0.9.0"]
        self.assertEqual(latest(versions, include_prereleases=True), "1.0.0-rc.10")
        self.assertEqual(latest(versions + ["1.0.0"], include_prereleases=True), "1.0.0")
        self.assertEqual(latest(versions), "0.9.0")


if __name__ == "__main__":
    unittest.main()
