import unittest

from webcache.cache import ResponseCache
from webcache.headers import Headers
from webcache.response import Response


class CacheTest(unittest.TestCase):
    def test_cached_until_expiry(self):
        cache = ResponseCache()
        response = Response(200, Headers([("Cache-Control", "max-age=60")]))
        self.assertTrue(cache.store("/a", response, now=1000))
        self.assertIs(cache.lookup("/a", now=1059), response)
        self.assertIsNone(cache.lookup("/a", now=1060))

    def test_no_header_not_cached(self):
        self.assertFalse(ResponseCache().store("/a", Response(200), now=0))

    def test_header_get_ignores_case(self):
        self.assertEqual(Headers([("ETag", "x")]).get("etag"), "x")


if __name__ == "__main__":
    unittest.main()
