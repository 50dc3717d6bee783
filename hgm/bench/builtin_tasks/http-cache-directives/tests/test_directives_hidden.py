import unittest

from webcache.cache import ResponseCache
from webcache.cachecontrol import parse_cache_control
from webcache.headers import Headers
from webcache.response import Response


def response(*fields, status=200):
    return Response(status, Headers(fields))


class CacheDirectivesTest(unittest.TestCase):
    def setUp(self):
        self.cache = ResponseCache()

    def test_lower_case_header_name(self):
        r = response(("cache-control", "max-age=300"))
        self.assertTrue(self.cache.store("/x", r, now=0))
        self.assertIs(self.cache.lookup("/x", now=299), r)
        self.assertIsNone(self.cache.lookup("/x", now=300))

    def test_several_directives(self):
        r = response(("Cache-Control", "public, max-age=60"))
        self.assertTrue(self.cache.store("/y", r, now=10))
        self.assertIs(self.cache.lookup("/y", now=69), r)

    def test_directive_case_and_spacing(self):
        r = response(("CACHE-CONTROL", 'Public ,  MAX-AGE="45" '))
        self.assertTrue(self.cache.store("/z", r, now=0))
        self.assertIsNone(self.cache.lookup("/z", now=45))

    def test_refusals_in_any_spelling(self):
        refused = [
            response(("cache-control", "public, no-store, max-age=60")),
            response(("cache-control", "max-age=60, private")),
            response(("cache-control", "public, max-age=0")),
            response(("cache-control", "public")),
            response(("cache-control", "max-age=soon")),
            response(("cache-control", "max-age=60"), status=404),
        ]
        for i, r in enumerate(refused):
            with self.subTest(i=i):
                self.assertFalse(self.cache.store(f"/r{i}", r, now=0))
                self.assertIsNone(self.cache.lookup(f"/r{i}", now=1))

    def test_directives_from_several_fields(self):
        r = response(("Cache-Control", "public"), ("cache-control", "max-age=30"))
        self.assertTrue(self.cache.store("/m", r, now=0))

    def test_parse_strips_names(self):
        self.assertEqual(
            parse_cache_control(["public, max-age=60", " no-cache"]),
            {"public": None, "max-age": "60", "no-cache": None},
        )

    def test_headers_membership_ignores_case(self):
        headers = Headers([("Content-Type", "text/html")])
        self.assertIn("content-type", headers)
        self.assertIn("CONTENT-TYPE", headers)
        self.assertNotIn("content-length", headers)


if __name__ == "__main__":
    unittest.main()
