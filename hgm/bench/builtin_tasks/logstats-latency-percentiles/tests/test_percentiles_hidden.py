import random
import unittest

from logstats.parse import parse_log
from logstats.report import route_table
from logstats.stats import Window, percentile, percentiles, summarize


def log_line(path, ms, status=200):
    return f'10.0.0.1 - - [01/May/2024:10:00:00 +0000] "GET {path} HTTP/1.1" {status} 10 {ms}'


class PercentileTest(unittest.TestCase):
    def test_nearest_rank_examples(self):
        values = [40, 10, 30, 20]
        self.assertEqual(percentile(values, 50), 20)
        self.assertEqual(percentile(values, 75), 30)
        self.assertEqual(percentile(values, 76), 40)
        self.assertEqual(percentile(values, 25), 10)
        self.assertEqual(percentile(values, 0), 10)
        self.assertEqual(percentile(values, 100), 40)

    def test_twenty_values(self):
        values = list(range(1, 21))
        self.assertEqual(percentiles(values), {50: 10, 95: 19, 99: 20})

    def test_definition_holds_for_random_samples(self):
        rng = random.Random(2)
        for _ in range(300):
            values = [rng.randint(1, 500) for _ in range(rng.randint(1, 60))]
            p = rng.randint(1, 100)
            with self.subTest(values=values, p=p):
                result = percentile(values, p)
                at_or_below = sum(1 for v in values if v <= result)
                below = sum(1 for v in values if v < result)
                self.assertGreaterEqual(at_or_below * 100, p * len(values))
                self.assertLess(below * 100, p * len(values))

    def test_single_value_and_errors(self):
        self.assertEqual(percentile([7.5], 99), 7.5)
        with self.assertRaises(ValueError):
            percentile([], 50)
        with self.assertRaises(ValueError):
            percentile([1], 101)

    def test_window(self):
        window = Window(4)
        for value in (1000, 10, 20, 30, 40):
            window.add(value)
        self.assertEqual(window.percentile(50), 20)
        self.assertEqual(len(window), 4)


class ReportTest(unittest.TestCase):
    def test_summary_and_table(self):
        lines = [log_line("/fast", ms) for ms in (10, 20, 30, 40)]
        lines += [log_line(f"/items/{i}", ms) for i, ms in enumerate(range(5, 105, 5))]
        requests, _ = parse_log("\n".join(lines))
        fast = summarize([r for r in requests if r.path == "/fast"])
        self.assertEqual((fast.p50, fast.p95, fast.p99, fast.max), (20, 40, 40, 40))
        table = route_table(requests).splitlines()
        self.assertEqual(table[1].split(), ["GET", "/items/:id", "20", "0.0", "50.0", "95.0",
                                            "100.0", "100.0"])
        self.assertEqual(table[2].split(), ["GET", "/fast", "4", "0.0", "20.0", "40.0", "40.0",
                                            "40.0"])


if __name__ == "__main__":
    unittest.main()
