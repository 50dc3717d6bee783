import unittest

from settings import ConfigError, parse

TEXT = """
[DEFAULT]
debug = no

[database]
Host = db.internal
port: 5432
options = sslmode=require,
    connect_timeout=5
"""


class SettingsTest(unittest.TestCase):
    def test_values(self):
        config = parse(TEXT)
        self.assertEqual(config.get("database", "host"), "db.internal")
        self.assertEqual(config.getint("database", "port"), 5432)
        self.assertFalse(config.getbool("database", "debug"))
        self.assertEqual(config.getlist("database", "options"),
                         ["sslmode=require", "connect_timeout=5"])

    def test_dump_round_trip(self):
        config = parse(TEXT)
        self.assertEqual(parse(config.dump()).as_dict(), config.as_dict())

    def test_errors(self):
        with self.assertRaises(ConfigError):
            parse("[a]\nx = 1\nx = 2\n")
        with self.assertRaises(ConfigError):
            parse(TEXT).get("database", "user")


if __name__ == "__main__":
    unittest.main()
