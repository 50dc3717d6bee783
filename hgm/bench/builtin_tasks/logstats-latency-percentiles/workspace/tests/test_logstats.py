import unittest

from logstats.parse import parse_line, parse_log
from logstats.routes import route_of
from logstats.stats import apdex, histogram, mean

LINE = '10.0.0.1 - - [01/May/2024:10:00:00 +0000] "GET /users/7?x=1 HTTP/1.1" 200 512 37.5'


class LogStatsTest(unittest.TestCase):
    def test_parse(self):
        request = parse_line(LINE)
        self.assertEqual((request.path, request.status, request.ms), ("/users/7", 200, 37.5))
        self.assertEqual(parse_log(LINE + "\ngarbage\n")[1], 1)

    def test_routes(self):
        self.assertEqual(route_of("/users/7/orders/12"), "/users/:id/orders/:id")

    def test_simple_stats(self):
        self.assertEqual(mean([1, 2, 3]), 2)
        self.assertEqual(apdex([10, 50, 500], 20), 0.5)
        self.assertEqual(histogram([5, 30], buckets=(10, 20))[-1], (None, 1))


if __name__ == "__main__":
    unittest.main()
