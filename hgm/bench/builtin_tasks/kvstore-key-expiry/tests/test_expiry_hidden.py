import unittest

from kvstore import CommandError, Store


class Clock:
    def __init__(self):
        self.now = 5000.0

    def __call__(self):
        return self.now


class ExpiryTest(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.store = Store(clock=self.clock)
        self.run = self.store.execute

    def test_expire_and_ttl(self):
        self.run("SET s 1")
        self.assertEqual(self.run("TTL s"), -1)
        self.assertEqual(self.run("EXPIRE s 10"), 1)
        self.assertEqual(self.run("TTL s"), 10)
        self.clock.now += 2.5
        self.assertEqual(self.run("TTL s"), 8)
        self.clock.now += 7.5
        self.assertIsNone(self.run("GET s"))
        self.assertEqual(self.run("TTL s"), -2)

    def test_expire_missing_key(self):
        self.assertEqual(self.run("EXPIRE nope 10"), 0)
        self.assertEqual(self.run("EXISTS nope"), 0)

    def test_nonpositive_expire_deletes(self):
        self.run("SET s 1")
        self.assertEqual(self.run("EXPIRE s 0"), 1)
        self.assertEqual(self.run("EXISTS s"), 0)

    def test_set_ex(self):
        self.assertEqual(self.run("SET tok abc EX 30"), "OK")
        self.assertEqual(self.run("TTL tok"), 30)
        self.clock.now += 29.9
        self.assertEqual(self.run("GET tok"), "abc")
        self.assertEqual(self.run("TTL tok"), 1)
        self.clock.now += 0.1
        self.assertIsNone(self.run("GET tok"))
        for bad in ("SET t v EX 0", "SET t v EX soon", "SET t v EX", "SET t v PX 5"):
            with self.subTest(bad=bad):
                with self.assertRaises(CommandError):
                    self.run(bad)

    def test_plain_set_clears_timeout(self):
        self.run("SET k v EX 5")
        self.run("SET k w")
        self.assertEqual(self.run("TTL k"), -1)
        self.run("EXPIRE k 5")
        self.run("MSET k z other 1")
        self.clock.now += 100
        self.assertEqual(self.run("GET k"), "z")

    def test_persist(self):
        self.run("SET k v EX 5")
        self.assertEqual(self.run("PERSIST k"), 1)
        self.assertEqual(self.run("PERSIST k"), 0)
        self.assertEqual(self.run("PERSIST missing"), 0)
        self.clock.now += 100
        self.assertEqual(self.run("GET k"), "v")

    def test_expired_key_is_gone_for_every_command(self):
        self.run("SET a 41 EX 1")
        self.run("RPUSH l x y")
        self.run("EXPIRE l 1")
        self.run("SET keep 1")
        self.clock.now += 1
        self.assertEqual(self.run("EXISTS a l keep"), 1)
        self.assertEqual(self.run("KEYS *"), ["keep"])
        self.assertEqual(self.run("DBSIZE"), 1)
        self.assertEqual(self.run("TYPE l"), "none")
        self.assertEqual(self.run("MGET a keep"), [None, "1"])
        self.assertEqual(self.run("INCR a"), 1)
        self.assertEqual(self.run("TTL a"), -1)
        self.assertEqual(self.run("LPUSH l z"), 1)
        self.assertEqual(self.run("TTL l"), -1)
        self.assertEqual(self.run("DEL a l"), 2)

    def test_updates_keep_timeout(self):
        self.run("SET n 1 EX 10")
        self.run("INCR n")
        self.run("APPEND n 0")
        self.run("RPUSH q a")
        self.run("EXPIRE q 10")
        self.run("RPUSH q b")
        self.assertEqual(self.run("TTL n"), 10)
        self.assertEqual(self.run("TTL q"), 10)
        self.clock.now += 10
        self.assertEqual(self.run("EXISTS n q"), 0)

    def test_rename_moves_timeout(self):
        self.run("SET old v EX 10")
        self.run("SET new x EX 99")
        self.run("RENAME old new")
        self.assertEqual(self.run("TTL new"), 10)
        self.assertEqual(self.run("TTL old"), -2)
        self.run("SET plain p")
        self.run("RENAME plain new")
        self.assertEqual(self.run("TTL new"), -1)

    def test_del_and_flush_remove_timeout(self):
        self.run("SET k v EX 10")
        self.run("DEL k")
        self.run("SET k v")
        self.clock.now += 20
        self.assertEqual(self.run("GET k"), "v")
        self.run("EXPIRE k 5")
        self.run("FLUSHALL")
        self.run("SET k w")
        self.clock.now += 20
        self.assertEqual(self.run("GET k"), "w")


if __name__ == "__main__":
    unittest.main()
