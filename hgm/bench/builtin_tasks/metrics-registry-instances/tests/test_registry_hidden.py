import unittest

import metrics
from metrics import Counter, Histogram, MetricError, Registry


class RegistryTest(unittest.TestCase):
    def test_registries_are_independent(self):
        a, b = Registry(), Registry()
        a.counter("jobs_total").inc(3)
        b.counter("jobs_total").inc()
        self.assertIsNot(a.get("jobs_total"), b.get("jobs_total"))
        self.assertEqual(a.get("jobs_total").value(), 3)
        self.assertEqual(b.get("jobs_total").value(), 1)
        a.gauge("only_in_a")
        self.assertEqual(a.names(), ["jobs_total", "only_in_a"])
        self.assertEqual(b.names(), ["jobs_total"])
        self.assertIsNone(b.get("only_in_a"))

    def test_same_name_different_kind_per_registry(self):
        a, b = Registry(), Registry()
        a.counter("x")
        self.assertIsInstance(b.histogram("x", buckets=(1,)), Histogram)
        with self.assertRaises(MetricError):
            a.gauge("x")
        self.assertIs(a.counter("x"), a.get("x"))

    def test_render_per_registry(self):
        registry = Registry()
        registry.counter("hits_total", "Cache hits.", labels=("cache",)).inc(cache='a"b')
        registry.histogram("size_bytes", buckets=(10, 100)).observe(50)
        self.assertEqual(
            registry.render(),
            "# HELP hits_total Cache hits.\n"
            "# TYPE hits_total counter\n"
            'hits_total{cache="a\\"b"} 1\n'
            "# TYPE size_bytes histogram\n"
            'size_bytes_bucket{le="10"} 0\n'
            'size_bytes_bucket{le="100"} 1\n'
            'size_bytes_bucket{le="+Inf"} 1\n'
            "size_bytes_sum 50\n"
            "size_bytes_count 1\n",
        )
        self.assertEqual(Registry().render(), "")

    def test_unregister_and_reset(self):
        registry = Registry()
        registry.counter("a")
        registry.counter("b")
        registry.unregister("a")
        self.assertEqual(registry.names(), ["b"])
        with self.assertRaises(MetricError):
            registry.unregister("a")
        registry.reset()
        self.assertEqual(registry.names(), [])

    def test_registry_does_not_touch_default(self):
        metrics.reset()
        metrics.counter("global_total").inc()
        Registry().counter("global_total").inc(5)
        Registry().reset()
        self.assertEqual(metrics.get("global_total").value(), 1)
        self.assertEqual(metrics.names(), ["global_total"])


class DefaultRegistryTest(unittest.TestCase):
    def setUp(self):
        metrics.reset()

    def test_module_functions_use_default_registry(self):
        self.assertIsInstance(metrics.default_registry, Registry)
        c = metrics.counter("requests_total", "Requests.", labels=("code",))
        self.assertIsInstance(c, Counter)
        self.assertIs(metrics.default_registry.get("requests_total"), c)
        self.assertIs(metrics.default_registry.counter("requests_total", labels=("code",)), c)
        c.inc(code=200)
        self.assertEqual(metrics.render(), metrics.default_registry.render())
        self.assertIn('requests_total{code="200"} 1', metrics.render())

    def test_module_reset_and_unregister(self):
        metrics.gauge("g")
        metrics.unregister("g")
        self.assertIsNone(metrics.default_registry.get("g"))
        metrics.histogram("h", buckets=(1,))
        metrics.reset()
        self.assertEqual(metrics.default_registry.names(), [])


if __name__ == "__main__":
    unittest.main()
