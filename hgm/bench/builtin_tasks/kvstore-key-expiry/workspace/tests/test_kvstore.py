import unittest

from kvstore import CommandError, Store, format_reply, tokenize


class StoreTest(unittest.TestCase):
    def setUp(self):
        self.store = Store()

    def test_set_get(self):
        self.assertEqual(self.store.execute('SET a "x y"'), "OK")
        self.assertEqual(self.store.execute("GET a"), "x y")
        self.assertIsNone(self.store.execute("GET b"))

    def test_incr(self):
        self.assertEqual(self.store.execute("INCR n"), 1)
        self.assertEqual(self.store.execute("INCRBY n 5"), 6)

    def test_lists(self):
        self.store.execute("RPUSH l a b c")
        self.assertEqual(self.store.execute("LRANGE l 0 -1"), ["a", "b", "c"])
        with self.assertRaises(CommandError):
            self.store.execute("GET l")

    def test_keys_pattern(self):
        self.store.execute("MSET user:1 a user:2 b order:1 c")
        self.assertEqual(self.store.execute("KEYS user:*"), ["user:1", "user:2"])

    def test_tokenize_and_format(self):
        self.assertEqual(tokenize('SET k "a \\"b\\""'), ["SET", "k", 'a "b"'])
        self.assertEqual(format_reply(["x", None]), '1) "x"\n2) (nil)')


if __name__ == "__main__":
    unittest.main()
