import unittest

from lrucache import LRUCache


class LRUCacheTest(unittest.TestCase):
    def test_evicts_oldest_insert(self):
        cache = LRUCache(2)
        cache.put("a", 1)
        cache.put("b", 2)
        cache.put("c", 3)
        self.assertNotIn("a", cache)
        self.assertEqual(len(cache), 2)

    def test_counts_misses(self):
        cache = LRUCache(1)
        self.assertIsNone(cache.get("x"))
        self.assertEqual(cache.misses, 1)


if __name__ == "__main__":
    unittest.main()
