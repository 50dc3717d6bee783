import unittest

from botkit.aliases import AliasTable
from botkit.demo import make_bot
from botkit.parsing import split_message


class AliasArgumentsTest(unittest.TestCase):
    def setUp(self):
        self.bot = make_bot()
        self.bot.handle("#team", "!alias w weather")
        self.bot.handle("#team", "!alias ldn weather London")
        self.bot.handle("#team", '!alias ny weather "New York"')

    def test_alias_passes_arguments(self):
        self.assertEqual(self.bot.handle("#team", "!w Paris"), "Paris today: sun, 21°C")
        self.assertEqual(self.bot.handle("#team", "!W paris tomorrow"), "paris tomorrow: sun, 21°C")

    def test_preset_arguments_come_first(self):
        self.assertEqual(self.bot.handle("#team", "!ldn tomorrow"), "London tomorrow: rain, 14°C")
        self.assertEqual(self.bot.handle("#team", "!ny tomorrow"), "New York tomorrow: clouds, 18°C")

    def test_quoted_arguments_survive(self):
        self.assertEqual(self.bot.handle("#team", '!w "New York" tomorrow'),
                         "New York tomorrow: clouds, 18°C")

    def test_alias_without_arguments_still_works(self):
        self.assertEqual(self.bot.handle("#team", "!ldn"), "London today: rain, 14°C")
        self.assertEqual(self.bot.handle("#team", "!w"), "usage: !weather CITY [today|tomorrow]")

    def test_aliases_are_per_channel(self):
        self.assertIn("unknown command", self.bot.handle("#other", "!w Paris"))

    def test_alias_table_expand(self):
        table = AliasTable()
        table.define("#c", "e", ["echo", "hi there"])
        self.assertEqual(split_message(table.expand("#c", "!e you 'all of you'")),
                         ("echo", ["hi there", "you", "all of you"]))
        self.assertEqual(table.expand("#c", "hello"), "hello")
        bot = make_bot()
        bot.handle("#c", '!alias e echo "hi there"')
        self.assertEqual(bot.handle("#c", "!e you all"), "hi there you all")
        self.assertEqual(bot.handle("#c", "!echo plain"), "plain")


if __name__ == "__main__":
    unittest.main()
