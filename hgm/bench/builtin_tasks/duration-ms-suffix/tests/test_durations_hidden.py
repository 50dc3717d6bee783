import unittest

from durations import format_duration, parse_duration


class MillisecondsTest(unittest.TestCase):
    def test_milliseconds_alone(self):
        self.assertAlmostEqual(parse_duration("250ms"), 0.25)
        self.assertAlmostEqual(parse_duration("1ms"), 0.001)

    def test_seconds_and_milliseconds(self):
        self.assertAlmostEqual(parse_duration("1s500ms"), 1.5)
        self.assertAlmostEqual(parse_duration("2m 5ms"), 120.005)

    def test_minutes_still_minutes(self):
        self.assertEqual(parse_duration("5m"), 300.0)
        self.assertEqual(parse_duration("1d2h3m4s"), 86400 + 7200 + 180 + 4)

    def test_any_order_and_spaces(self):
        self.assertAlmostEqual(parse_duration(" 10ms 1m "), 60.01)

    def test_round_trip(self):
        for seconds in (0.25, 1.5, 61.001, 90061.5, 3600, 0.007):
            with self.subTest(seconds=seconds):
                self.assertAlmostEqual(parse_duration(format_duration(seconds)), seconds)

    def test_invalid_still_rejected(self):
        for text in ("", "ms", "5x", "5 m s", "1h30", "5mss", "12 ms3"):
            with self.subTest(text=text):
                with self.assertRaises(ValueError):
                    parse_duration(text)


if __name__ == "__main__":
    unittest.main()
