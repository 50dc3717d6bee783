import unittest

from querystring import QueryError, build, parse


class NestedParseTest(unittest.TestCase):
    def test_dict_keys(self):
        self.assertEqual(parse("user[name]=Ann&user[email]=a%40x.io"),
                         {"user": {"name": "Ann", "email": "a@x.io"}})

    def test_deep_keys(self):
        self.assertEqual(parse("a[b][c]=1&a[b][d]=2&a[e]=3"),
                         {"a": {"b": {"c": "1", "d": "2"}, "e": "3"}})

    def test_lists(self):
        self.assertEqual(parse("tag[]=a&x=1&tag[]=b&tag[]="), {"tag": ["a", "b", ""], "x": "1"})

    def test_list_inside_dict(self):
        self.assertEqual(parse("f[ids][]=3&f[ids][]=4&f[q]=hi"),
                         {"f": {"ids": ["3", "4"], "q": "hi"}})

    def test_encoded_brackets(self):
        self.assertEqual(parse("user%5Bname%5D=Ann+Lee&tag%5B%5D=x"),
                         {"user": {"name": "Ann Lee"}, "tag": ["x"]})

    def test_conflicts(self):
        for query in ("a=1&a[b]=2", "a[b]=2&a=1", "a[]=1&a[x]=2", "a[x]=1&a[]=2", "a[b]=1&a[b][c]=2"):
            with self.subTest(query=query):
                with self.assertRaises(QueryError):
                    parse(query)

    def test_flat_unchanged(self):
        self.assertEqual(parse("a=1&a=2&b=%5B"), {"a": "2", "b": "["})


class NestedBuildTest(unittest.TestCase):
    def test_build_nested(self):
        params = {"user": {"name": "Ann", "tags": ["x", "y z"]}, "page": "2"}
        self.assertEqual(
            build(params),
            "user%5Bname%5D=Ann&user%5Btags%5D%5B%5D=x&user%5Btags%5D%5B%5D=y+z&page=2",
        )

    def test_round_trip(self):
        cases = [
            {"a": "1"},
            {"user": {"name": "Ann", "address": {"city": "Paris", "zip": "75001"}}},
            {"tag": ["a", "b&c", "é"], "q": "search me"},
            {"f": {"ids": ["1", "2"], "sort": "-date"}, "x": ""},
        ]
        for params in cases:
            with self.subTest(params=params):
                self.assertEqual(parse(build(params)), params)


if __name__ == "__main__":
    unittest.main()
