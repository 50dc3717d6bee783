import unittest

from querystring import QueryError, build, decode, parse


class QueryStringTest(unittest.TestCase):
    def test_parse_flat(self):
        self.assertEqual(parse("?a=1&b=two+words&c"), {"a": "1", "b": "two words", "c": ""})

    def test_last_value_wins(self):
        self.assertEqual(parse("a=1&a=2"), {"a": "2"})

    def test_decode_utf8(self):
        self.assertEqual(decode("caf%C3%A9"), "café")
        with self.assertRaises(QueryError):
            decode("%zz")

    def test_build(self):
        self.assertEqual(build({"q": "a b", "x": "1&2"}), "q=a+b&x=1%262")


if __name__ == "__main__":
    unittest.main()
