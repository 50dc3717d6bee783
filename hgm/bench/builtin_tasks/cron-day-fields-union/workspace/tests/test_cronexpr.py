import datetime as dt
import unittest

from cronexpr import CronError, parse, runs_between


class CronTest(unittest.TestCase):
    def test_every_quarter_hour(self):
        expr = parse("*/15 * * * *")
        start = dt.datetime(2024, 3, 1, 10, 7)
        self.assertEqual(expr.next_after(start), dt.datetime(2024, 3, 1, 10, 15))

    def test_weekday_names(self):
        expr = parse("0 18 * * FRI")
        self.assertEqual(expr.next_after(dt.datetime(2024, 3, 4)), dt.datetime(2024, 3, 8, 18, 0))

    def test_shortcut(self):
        self.assertEqual(parse("@daily").next_after(dt.datetime(2024, 2, 28, 23, 59)),
                         dt.datetime(2024, 2, 29))

    def test_runs_between(self):
        times = runs_between("0 * * * *", dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 5))
        self.assertEqual(len(times), 5)

    def test_bad_field(self):
        with self.assertRaises(CronError):
            parse("61 * * * *")


if __name__ == "__main__":
    unittest.main()
