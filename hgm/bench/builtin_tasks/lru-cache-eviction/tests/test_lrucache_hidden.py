import unittest

from lrucache import LRUCache


class RecencyTest(unittest.TestCase):
    def test_get_protects_entry_from_eviction(self):
        cache = LRUCache(2)
        cache.put("a", 1)
        cache.put("b", 2)
        self.assertEqual(cache.get("a"), 1)
        cache.put("c", 3)
        self.assertIn("a", cache)
        self.assertNotIn("b", cache)

    def test_keys_ordered_by_recency_after_gets(self):
        cache = LRUCache(3)
        for key in "abc":
            cache.put(key, key.upper())
        cache.get("b")
        cache.get("a")
        self.assertEqual(cache.keys(), ["c", "b", "a"])

    def test_put_on_existing_key_counts_as_use(self):
        cache = LRUCache(2)
        cache.put("a", 1)
        cache.put("b", 2)
        cache.put("a", 10)
        cache.put("c", 3)
        self.assertEqual(cache.keys(), ["a", "c"])
        self.assertEqual(cache.peek("a"), 10)

    def test_peek_does_not_count_as_use(self):
        cache = LRUCache(2)
        cache.put("a", 1)
        cache.put("b", 2)
        self.assertEqual(cache.peek("a"), 1)
        cache.put("c", 3)
        self.assertNotIn("a", cache)
        self.assertEqual(cache.hits, 0)

    def test_missed_get_does_not_insert_or_reorder(self):
        cache = LRUCache(2)
        cache.put("a", 1)
        cache.put("b", 2)
        self.assertEqual(cache.get("zzz", "dflt"), "dflt")
        self.assertEqual(cache.keys(), ["a", "b"])
        self.assertEqual((cache.hits, cache.misses), (0, 1))

    def test_counters_over_a_sequence(self):
        cache = LRUCache(2)
        cache.put(1, "one")
        cache.put(2, "two")
        cache.get(1)
        cache.put(3, "three")
        results = [cache.get(k) for k in (1, 2, 3)]
        self.assertEqual(results, ["one", None, "three"])
        self.assertEqual((cache.hits, cache.misses), (3, 1))

    def test_capacity_one(self):
        cache = LRUCache(1)
        cache.put("a", 1)
        cache.get("a")
        cache.put("b", 2)
        self.assertEqual(cache.keys(), ["b"])


if __name__ == "__main__":
    unittest.main()
