import unittest

from grades.policy import Category, Policy, Score, category_percentage, letter_for
from grades.report import compute_results

POLICY = Policy((Category("hw", 60.0), Category("exam", 40.0)))


class GradesTest(unittest.TestCase):
    def test_total_points(self):
        scores = [Score("a", 8, 10), Score("b", 40, 50)]
        self.assertAlmostEqual(category_percentage(scores, Category("hw", 100.0)), 80.0)

    def test_letter_rounding(self):
        self.assertEqual(letter_for(92.95, POLICY), "A")
        self.assertEqual(letter_for(92.94, POLICY), "A-")

    def test_results(self):
        rows = [
            {"student": "ann", "category": "hw", "item": "h1", "points": "9", "max_points": "10"},
            {"student": "ann", "category": "exam", "item": "e1", "points": "70", "max_points": "100"},
        ]
        [result] = compute_results(rows, POLICY)
        self.assertAlmostEqual(result.percentage, 82.0)
        self.assertEqual(result.letter, "B-")


if __name__ == "__main__":
    unittest.main()
