import json
import os
import tempfile
import unittest

from config import DEFAULTS, ConfigError, load_config


class EnvOverrideTest(unittest.TestCase):
    def test_int_override(self):
        config = load_config(environ={"APP_SERVER__PORT": "9000"})
        self.assertEqual(config["server"]["port"], 9000)
        self.assertIsInstance(config["server"]["port"], int)

    def test_key_with_underscore(self):
        self.assertEqual(load_config(environ={"APP_DB__POOL_SIZE": "12"})["db"]["pool_size"], 12)

    def test_float_and_str(self):
        config = load_config(environ={"APP_DB__TIMEOUT_S": "0.75", "APP_DB__URL": "postgres://h/db"})
        self.assertEqual(config["db"]["timeout_s"], 0.75)
        self.assertEqual(config["db"]["url"], "postgres://h/db")

    def test_bool_spellings(self):
        for text, expected in [("1", True), ("TRUE", True), ("yes", True), ("On", True),
                               ("0", False), ("false", False), ("NO", False), ("off", False)]:
            with self.subTest(text=text):
                config = load_config(environ={"APP_SERVER__DEBUG": text})
                self.assertIs(config["server"]["debug"], expected)

    def test_bool_default_true_can_be_switched_off(self):
        self.assertIs(load_config(environ={"APP_FEATURES__BETA_BANNER": "off"})["features"]["beta_banner"], False)

    def test_list_override(self):
        config = load_config(environ={"APP_FEATURES__ENABLED": " search, export ,,beta "})
        self.assertEqual(config["features"]["enabled"], ["search", "export", "beta"])
        self.assertEqual(load_config(environ={"APP_FEATURES__ENABLED": ""})["features"]["enabled"], [])

    def test_names_case_insensitive(self):
        self.assertEqual(load_config(environ={"app_server__workers": "8"})["server"]["workers"], 8)

    def test_env_wins_over_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "app.json")
            with open(path, "w") as f:
                json.dump({"server": {"port": 7000, "host": "0.0.0.0"}}, f)
            config = load_config(path, environ={"APP_SERVER__PORT": "7100"})
        self.assertEqual((config["server"]["port"], config["server"]["host"]), (7100, "0.0.0.0"))

    def test_bad_value_names_variable(self):
        with self.assertRaises(ConfigError) as cm:
            load_config(environ={"APP_SERVER__PORT": "eighty"})
        self.assertIn("APP_SERVER__PORT", str(cm.exception))
        with self.assertRaises(ConfigError) as cm:
            load_config(environ={"APP_SERVER__DEBUG": "maybe"})
        self.assertIn("APP_SERVER__DEBUG", str(cm.exception))

    def test_unrelated_variables_ignored(self):
        config = load_config(environ={"PATH": "/bin", "APP_NOPE__X": "1", "APP_SERVER": "x",
                                      "APP_SERVER__NOPE": "1", "OTHER_SERVER__PORT": "1"})
        self.assertEqual(config, DEFAULTS)

    def test_defaults_not_mutated(self):
        load_config(environ={"APP_FEATURES__ENABLED": "a,b", "APP_SERVER__PORT": "1"})
        self.assertEqual(DEFAULTS["features"]["enabled"], ["search"])
        self.assertEqual(DEFAULTS["server"]["port"], 8080)

    def test_none_means_process_environment(self):
        os.environ["APP_SERVER__WORKERS"] = "5"
        try:
            self.assertEqual(load_config()["server"]["workers"], 5)
        finally:
            del os.environ["APP_SERVER__WORKERS"]


if __name__ == "__main__":
    unittest.main()
