"""The demo bot: weather and dice commands with canned data."""

from botkit.bot import Bot

FORECASTS = {"london": "rain, 14°C", "paris": "sun, 21°C", "new york": "clouds, 18°C"}


def make_bot():
    bot = Bot()

    @bot.command("weather", usage="!weather CITY [today|tomorrow]", min_args=1, aliases=("wx",))
    def weather(args):
        city = args[0].lower()
        when = args[1].lower() if len(args) > 1 else "today"
        if when not in ("today", "tomorrow"):
            return "usage: !weather CITY [today|tomorrow]"
        forecast = FORECASTS.get(city)
        if forecast is None:
            return f"no forecast for {args[0]}"
        return f"{args[0]} {when}: {forecast}"

    @bot.command("echo", usage="!echo TEXT...", min_args=1)
    def echo(args):
        return " ".join(args)

    return bot
