import unittest

from grades.policy import Category, Policy, Score, category_percentage, final_percentage
from grades.report import compute_results, format_report, ranking, to_csv

QUIZ = Category("quiz", 100.0, drop_lowest=1, late_penalty=10, max_late_days=3)
POLICY = Policy((Category("hw", 50.0), Category("quiz", 50.0, drop_lowest=1)))


def row(student, category, item, points, max_points, days_late=0):
    return {"student": student, "category": category, "item": item, "points": str(points),
            "max_points": str(max_points), "days_late": str(days_late)}


class DropLowestTest(unittest.TestCase):
    def test_drops_lowest_percentage_not_lowest_points(self):
        scores = [Score("short", 9, 10), Score("long", 30, 50)]
        self.assertAlmostEqual(category_percentage(scores, QUIZ), 90.0)

    def test_late_penalty_counts_before_dropping(self):
        # 20/20 three days late is worth 14/20 = 70 %, lower than 15/20 = 75 %.
        scores = [Score("q1", 20, 20, days_late=3), Score("q2", 15, 20), Score("q3", 40, 50)]
        self.assertAlmostEqual(category_percentage(scores, QUIZ), 100.0 * 55 / 70)

    def test_too_late_is_dropped_first(self):
        scores = [Score("q1", 5, 5, days_late=4), Score("q2", 1, 100), Score("q3", 5, 5)]
        self.assertAlmostEqual(category_percentage(scores, QUIZ), 100.0 * 6 / 105)

    def test_drop_two(self):
        quiz = Category("quiz", 100.0, drop_lowest=2)
        scores = [Score("a", 2, 2), Score("b", 45, 100), Score("c", 3, 10), Score("d", 8, 10)]
        self.assertAlmostEqual(category_percentage(scores, quiz), 100.0 * 10 / 12)

    def test_final_uses_fixed_quiz_average(self):
        scores = {"hw": [Score("h", 80, 100)],
                  "quiz": [Score("short", 9, 10), Score("long", 30, 50)]}
        self.assertAlmostEqual(final_percentage(scores, POLICY), 85.0)


class RankingTest(unittest.TestCase):
    def setUp(self):
        rows = [
            row("dan", "hw", "h", 95, 100), row("dan", "quiz", "q", 10, 10),
            row("eve", "hw", "h", 77, 100), row("eve", "quiz", "q", 100, 100),
            row("bob", "hw", "h", 100, 100), row("bob", "quiz", "q", 77, 100),
            row("amy", "hw", "h", 60, 100), row("amy", "quiz", "q", 60, 100),
            row("cat", "hw", "h", 100, 100), row("cat", "quiz", "q", 154, 200),
            row("fay", "hw", "h", 50, 100), row("fay", "quiz", "q", 71, 100),
        ]
        self.results = compute_results(rows, POLICY)

    def test_ties_share_rank_and_next_rank_skips(self):
        ranks = [(rank, r.student) for rank, r in ranking(self.results)]
        self.assertEqual(
            ranks,
            [(1, "dan"), (2, "bob"), (2, "cat"), (2, "eve"), (5, "fay"), (6, "amy")],
        )

    def test_csv_uses_shared_ranks(self):
        lines = to_csv(self.results).splitlines()
        self.assertEqual(lines[0], "student,final,letter,rank")
        self.assertEqual(lines[1:5], ["dan,97.5,A,1", "bob,88.5,B+,2", "cat,88.5,B+,2",
                                      "eve,88.5,B+,2"])
        self.assertEqual(lines[5], "fay,60.5,D,5")

    def test_text_report_uses_shared_ranks(self):
        report = format_report(self.results, POLICY)
        self.assertIn("   2  eve                    88.5  B+", report)
        self.assertIn("   6  amy                    60.0  D", report)

    def test_no_ties_unchanged(self):
        ranks = [rank for rank, _ in ranking(self.results[:2])]
        self.assertEqual(ranks, [1, 2])


if __name__ == "__main__":
    unittest.main()
