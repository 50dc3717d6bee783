import unittest

from pkgtool.index import PackageIndex
from pkgtool.installer import plan
from pkgtool.resolver import ResolutionError, resolve
from pkgtool.version import satisfies

INDEX = PackageIndex({
    "web": {"1.0": ["http>=2"], "2.0": ["http>=3"]},
    "http": {"2.5": [], "3.1": []},
})


class PkgToolTest(unittest.TestCase):
    def test_satisfies(self):
        self.assertTrue(satisfies("1.4.2", ">=1.2,<2"))
        self.assertFalse(satisfies("2.0", "~=1.4"))

    def test_resolve_newest(self):
        self.assertEqual(resolve(["web"], INDEX).pinned(), ["http==3.1", "web==2.0"])

    def test_backtracks(self):
        self.assertEqual(resolve(["web", "http<3"], INDEX).pinned(), ["http==2.5", "web==1.0"])

    def test_conflict(self):
        with self.assertRaises(ResolutionError):
            resolve(["web>=2", "http<3"], INDEX)

    def test_plan_chain(self):
        self.assertEqual(plan(["web"], INDEX, {"http": "2.5"}),
                         [("upgrade", "http", "3.1"), ("install", "web", "2.0")])


if __name__ == "__main__":
    unittest.main()
