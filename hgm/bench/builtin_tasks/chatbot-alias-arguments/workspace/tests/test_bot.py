import unittest

from botkit.demo import make_bot
from botkit.parsing import split_message


class BotTest(unittest.TestCase):
    def setUp(self):
        self.bot = make_bot()

    def test_split(self):
        self.assertEqual(split_message('!weather "New York" now'), ("weather", ["New York", "now"]))
        self.assertIsNone(split_message("hello"))

    def test_weather(self):
        self.assertEqual(self.bot.handle("#dev", "!weather Paris"), "Paris today: sun, 21°C")
        self.assertEqual(self.bot.handle("#dev", "!wx london tomorrow"), "london tomorrow: rain, 14°C")

    def test_alias_without_arguments(self):
        self.bot.handle("#dev", "!alias ldn weather London")
        self.assertEqual(self.bot.handle("#dev", "!ldn"), "London today: rain, 14°C")

    def test_silence_and_unknown(self):
        self.assertIsNone(self.bot.handle("#dev", "good morning"))
        self.assertIn("unknown command", self.bot.handle("#dev", "!nope"))


if __name__ == "__main__":
    unittest.main()
