import unittest

from intervals import gaps, merge, total_covered


class ContainmentTest(unittest.TestCase):
    def test_contained_intervals_absorbed(self):
        self.assertEqual(merge([(1, 10), (2, 3), (4, 5)]), [(1, 10)])

    def test_contained_then_overlapping(self):
        self.assertEqual(merge([(0, 8), (1, 2), (7, 12), (20, 21)]), [(0, 12), (20, 21)])

    def test_unsorted_input_with_containment(self):
        self.assertEqual(merge([(4, 5), (30, 40), (1, 10), (35, 36)]), [(1, 10), (30, 40)])

    def test_identical_and_point_intervals(self):
        self.assertEqual(merge([(3, 3), (1, 5), (1, 5), (5, 5)]), [(1, 5)])

    def test_disjoint_kept(self):
        self.assertEqual(merge([(5, 6), (1, 2)]), [(1, 2), (5, 6)])

    def test_empty(self):
        self.assertEqual(merge([]), [])
        self.assertEqual(total_covered([]), 0)

    def test_input_not_modified(self):
        data = [(4, 5), (1, 10)]
        merge(data)
        self.assertEqual(data, [(4, 5), (1, 10)])

    def test_total_covered_with_nested_bookings(self):
        self.assertEqual(total_covered([(9, 17), (10, 11), (13, 14), (18, 19)]), 9)

    def test_gaps_with_nested_bookings(self):
        self.assertEqual(gaps([(9, 17), (10, 11)], 8, 18), [(8, 9), (17, 18)])

    def test_reversed_interval_rejected(self):
        with self.assertRaises(ValueError):
            merge([(1, 2), (5, 3)])


if __name__ == "__main__":
    unittest.main()
