import unittest

import metrics


class MetricsTest(unittest.TestCase):
    def setUp(self):
        metrics.reset()

    def test_counter_render(self):
        requests = metrics.counter("http_requests_total", "Requests.", labels=("method",))
        requests.inc(method="GET")
        requests.inc(2, method="POST")
        self.assertEqual(
            metrics.render(),
            "# HELP http_requests_total Requests.\n"
            "# TYPE http_requests_total counter\n"
            'http_requests_total{method="GET"} 1\n'
            'http_requests_total{method="POST"} 2\n',
        )

    def test_same_name_returns_same_metric(self):
        self.assertIs(metrics.gauge("temp"), metrics.gauge("temp"))
        with self.assertRaises(metrics.MetricError):
            metrics.counter("temp")

    def test_histogram(self):
        latency = metrics.histogram("latency_seconds", buckets=(0.1, 1))
        latency.observe(0.05)
        latency.observe(0.5)
        self.assertIn('latency_seconds_bucket{le="+Inf"} 2', metrics.render())
        self.assertEqual(latency.count(), 2)


if __name__ == "__main__":
    unittest.main()
