import unittest

from settings import ConfigError, parse

TEXT = """
[DEFAULT]
root = /srv/app
env = prod
name = ${env}-worker

[paths]
logs = ${root}/logs
archive = ${LOGS}/archive

[backup]
target = ${paths:archive}/daily
price = $$5 or ${missing-dollar
home = ${DEFAULT:root}
root = /mnt/backup
local = ${root}/tmp

[worker]
env = staging
threads = ${count}
count = 4
verbose = ${flag}
flag = yes
"""


class InterpolationTest(unittest.TestCase):
    def setUp(self):
        self.config = parse(TEXT)

    def test_same_section_and_default(self):
        self.assertEqual(self.config.get("paths", "logs"), "/srv/app/logs")

    def test_nested_and_case_insensitive(self):
        self.assertEqual(self.config.get("paths", "archive"), "/srv/app/logs/archive")

    def test_other_section(self):
        self.assertEqual(self.config.get("backup", "target"), "/srv/app/logs/archive/daily")
        self.assertEqual(self.config.get("backup", "home"), "/srv/app")

    def test_section_value_overrides_default_in_references(self):
        self.assertEqual(self.config.get("backup", "local"), "/mnt/backup/tmp")
        self.assertEqual(self.config.get("worker", "name"), "staging-worker")
        self.assertEqual(self.config.get("paths", "name"), "prod-worker")

    def test_dollar_escape_and_lone_dollar(self):
        self.assertEqual(self.config.get("backup", "price"), "$5 or ${missing-dollar")

    def test_typed_getters_expand(self):
        self.assertEqual(self.config.getint("worker", "threads"), 4)
        self.assertTrue(self.config.getbool("worker", "verbose"))

    def test_items_and_as_dict_expand(self):
        self.assertIn(("archive", "/srv/app/logs/archive"), self.config.items("paths"))
        self.assertEqual(self.config.as_dict()["backup"]["target"], "/srv/app/logs/archive/daily")

    def test_raw_and_dump_keep_references(self):
        self.assertEqual(self.config.get("paths", "archive", raw=True), "${LOGS}/archive")
        dumped = self.config.dump()
        self.assertIn("archive = ${LOGS}/archive", dumped)
        self.assertEqual(parse(dumped).get("backup", "target"), "/srv/app/logs/archive/daily")

    def test_unknown_references(self):
        config = parse("[a]\nx = ${nope}\ny = ${zz:x}\nz = ${DEFAULT:x}\n")
        for key in ("x", "y", "z"):
            with self.subTest(key=key):
                with self.assertRaises(ConfigError):
                    config.get("a", key)

    def test_cycles(self):
        config = parse("[a]\nx = ${y}\ny = ${b:z}\nself = <${self}>\n[b]\nz = ${a:x}\n")
        for key in ("x", "y", "self"):
            with self.subTest(key=key):
                with self.assertRaises(ConfigError):
                    config.get("a", key)

    def test_default_argument_still_works(self):
        self.assertEqual(self.config.get("paths", "nothing", "fallback"), "fallback")


if __name__ == "__main__":
    unittest.main()
