import random
import unittest

from pkgtool.index import PackageIndex
from pkgtool.installer import plan
from pkgtool.resolver import ResolutionError, dependencies, install_order, lockfile, resolve, why

REPORTED = PackageIndex({
    "app": {"1.0": ["beautify", "colorama>=0.4"]},
    "beautify": {"2.1": ["colorama"]},
    "colorama": {"0.4.6": [], "0.3.9": []},
})


def assert_deps_first(test, order, resolution, index):
    position = {name: i for i, name in enumerate(order)}
    test.assertEqual(sorted(order), sorted(resolution.versions))
    for name in order:
        for dep in dependencies(resolution, index, name):
            test.assertLess(position[dep], position[name], f"{dep} must come before {name}")


class InstallOrderTest(unittest.TestCase):
    def test_reported_case(self):
        self.assertEqual(plan(["app"], REPORTED), [
            ("install", "colorama", "0.4.6"),
            ("install", "beautify", "2.1"),
            ("install", "app", "1.0"),
        ])

    def test_lockfile_order(self):
        text = lockfile(resolve(["app"], REPORTED), REPORTED)
        names = [line.split("==")[0] for line in text.splitlines()[1:]]
        self.assertEqual(names, ["colorama", "beautify", "app"])
        self.assertIn("beautify==2.1  # required by app", text)

    def test_diamonds_and_long_chains(self):
        index = PackageIndex({
            "top": {"1": ["a", "b", "z"]},
            "a": {"1": ["z", "m"]},
            "b": {"1": ["a"]},
            "m": {"1": ["z"]},
            "z": {"1": []},
        })
        resolution = resolve(["top", "z"], index)
        order = install_order(resolution, index)
        assert_deps_first(self, order, resolution, index)
        self.assertEqual(order, ["z", "m", "a", "b", "top"])

    def test_random_graphs(self):
        rng = random.Random(9)
        for trial in range(100):
            names = [f"p{i:02d}" for i in range(rng.randint(2, 12))]
            packages = {}
            for i, name in enumerate(names):
                later = names[i + 1:]
                deps = rng.sample(later, k=min(len(later), rng.randint(0, 3)))
                packages[name] = {"1.0": deps}
            index = PackageIndex(packages)
            roots = rng.sample(names, k=rng.randint(1, len(names)))
            resolution = resolve(roots, index)
            with self.subTest(trial=trial):
                assert_deps_first(self, install_order(resolution, index), resolution, index)

    def test_cycle_is_refused(self):
        index = PackageIndex({
            "app": {"1": ["left"]},
            "left": {"1": ["right"]},
            "right": {"1": ["left"]},
        })
        resolution = resolve(["app"], index)
        with self.assertRaises(ResolutionError):
            install_order(resolution, index)
        with self.assertRaises(ResolutionError):
            plan(["app"], index)

    def test_why_unchanged(self):
        resolution = resolve(["app"], REPORTED)
        self.assertEqual(why(resolution, "colorama"),
                         ["<root> -> app -> beautify -> colorama", "<root> -> app -> colorama"])


if __name__ == "__main__":
    unittest.main()
