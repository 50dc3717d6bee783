import unittest

from intervals import merge, total_covered


class IntervalsTest(unittest.TestCase):
    def test_overlapping(self):
        self.assertEqual(merge([(1, 3), (2, 6), (8, 9)]), [(1, 6), (8, 9)])

    def test_touching(self):
        self.assertEqual(merge([(1, 2), (2, 4)]), [(1, 4)])

    def test_total(self):
        self.assertEqual(total_covered([(0, 2), (1, 3), (5, 6)]), 4)


if __name__ == "__main__":
    unittest.main()
