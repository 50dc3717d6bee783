import unittest

from semver import compare, parse, sort_versions


class SemverTest(unittest.TestCase):
    def test_parse(self):
        v = parse("1.2.3-beta.1+build.5")
        self.assertEqual((v.major, v.minor, v.patch), (1, 2, 3))
        self.assertEqual(v.prerelease, ("beta", "1"))
        self.assertEqual(str(v), "1.2.3-beta.1+build.5")

    def test_numeric_core_order(self):
        self.assertEqual(compare("1.10.0", "1.9.0"), 1)
        self.assertEqual(sort_versions(["2.0.0", "1.0.10", "1.0.2"]), ["1.0.2", "1.0.10", "2.0.0"])

    def test_invalid(self):
        with self.assertRaises(ValueError):
            parse("1.0")


if __name__ == "__main__":
    unittest.main()
