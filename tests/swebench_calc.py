"""The tiny calc repository both SWE-bench test modules build instances from: its module,
its first tests, and the tests an instance's test patch adds (which the seed code fails)."""

OPS = '''\
"""Arithmetic helpers."""


def add(a, b):
    return a + b


def mean(values):
    """The arithmetic mean of a non-empty list of numbers."""
    return sum(values) // len(values)
'''
TESTS = """\
import unittest

from calc.ops import add


class AddTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)
"""
NEW_TESTS = """

class MeanTest(unittest.TestCase):
    def test_mean_of_odd_total(self):
        from calc.ops import mean

        self.assertEqual(mean([1, 2]), 1.5)
"""
