import unittest

from durations import format_duration, parse_duration


class DurationTest(unittest.TestCase):
    def test_hours_and_minutes(self):
        self.assertEqual(parse_duration("1h30m"), 5400.0)

    def test_fractional(self):
        self.assertEqual(parse_duration("1.5h"), 5400.0)

    def test_format(self):
        self.assertEqual(format_duration(5400), "1h30m")
        self.assertEqual(format_duration(0), "0s")

    def test_bare_number_rejected(self):
        with self.assertRaises(ValueError):
            parse_duration("10")


if __name__ == "__main__":
    unittest.main()
