import json
import os
import tempfile
import unittest

from config import ConfigError, load_config


class ConfigTest(unittest.TestCase):
    def test_defaults(self):
        self.assertEqual(load_config()["server"]["port"], 8080)

    def test_file_overrides(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "app.json")
            with open(path, "w") as f:
                json.dump({"db": {"pool_size": 9}}, f)
            self.assertEqual(load_config(path)["db"]["pool_size"], 9)

    def test_unknown_setting_in_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "app.json")
            with open(path, "w") as f:
                json.dump({"db": {"nope": 1}}, f)
            with self.assertRaises(ConfigError):
                load_config(path)


if __name__ == "__main__":
    unittest.main()
