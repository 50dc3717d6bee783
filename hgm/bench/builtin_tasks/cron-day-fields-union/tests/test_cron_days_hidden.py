import datetime as dt
import unittest

from cronexpr import CronError, parse, runs_between

D = dt.datetime


class BothDayFieldsTest(unittest.TestCase):
    def test_month_days_or_mondays(self):
        expr = parse("0 9 1,15 * MON")
        # 2024-01-01 is a Monday.
        got = expr.upcoming(D(2024, 1, 1, 12, 0), 6)
        self.assertEqual(
            got,
            [D(2024, 1, 8, 9), D(2024, 1, 15, 9), D(2024, 1, 22, 9),
             D(2024, 1, 29, 9), D(2024, 2, 1, 9), D(2024, 2, 5, 9)],
        )

    def test_matches_either_field(self):
        expr = parse("0 0 13 * FRI")
        self.assertTrue(expr.matches(D(2024, 2, 13)))   # a Tuesday, the 13th
        self.assertTrue(expr.matches(D(2024, 2, 16)))   # a Friday, the 16th
        self.assertTrue(expr.matches(D(2024, 9, 13)))   # Friday the 13th
        self.assertFalse(expr.matches(D(2024, 2, 14)))  # neither
        self.assertFalse(expr.matches(D(2024, 2, 16, 0, 1)))

    def test_impossible_date_part_still_runs_on_weekday(self):
        expr = parse("0 0 30 2 MON")
        self.assertEqual(expr.next_after(D(2024, 1, 1)), D(2024, 2, 5))

    def test_sunday_as_seven_with_month_day(self):
        expr = parse("0 0 1 * 7")
        self.assertEqual(expr.upcoming(D(2024, 6, 1), 2), [D(2024, 6, 2), D(2024, 6, 9)])
        self.assertEqual(expr.next_after(D(2024, 6, 30)), D(2024, 7, 1))

    def test_months_still_restrict_both(self):
        expr = parse("0 0 1 3 MON")
        times = runs_between("0 0 1 3 MON", D(2024, 1, 1), D(2024, 12, 31))
        self.assertEqual([t.day for t in times], [1, 4, 11, 18, 25])
        self.assertTrue(all(t.month == 3 for t in times))
        self.assertFalse(expr.matches(D(2024, 4, 1)))

    def test_runs_between_counts_union(self):
        times = runs_between("30 8 1 * 1-5", D(2024, 6, 1), D(2024, 6, 30, 23, 59))
        # 20 weekdays in June 2024, plus Saturday the 1st.
        self.assertEqual(len(times), 21)
        self.assertEqual(times[0], D(2024, 6, 1, 8, 30))


class SingleDayFieldTest(unittest.TestCase):
    def test_only_month_day_restricted(self):
        expr = parse("0 0 13 * *")
        self.assertEqual(expr.upcoming(D(2024, 1, 1), 3), [D(2024, 1, 13), D(2024, 2, 13), D(2024, 3, 13)])

    def test_only_weekday_restricted(self):
        expr = parse("15 6 * * SAT,SUN")
        self.assertEqual(expr.upcoming(D(2024, 1, 1), 3),
                         [D(2024, 1, 6, 6, 15), D(2024, 1, 7, 6, 15), D(2024, 1, 13, 6, 15)])
        self.assertFalse(expr.matches(D(2024, 1, 8, 6, 15)))

    def test_impossible_date_without_weekday_never_runs(self):
        with self.assertRaises(CronError):
            parse("0 0 31 2 *").next_after(D(2024, 1, 1))


if __name__ == "__main__":
    unittest.main()
