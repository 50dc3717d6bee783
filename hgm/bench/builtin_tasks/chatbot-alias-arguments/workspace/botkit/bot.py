from botkit.aliases import AliasTable
from botkit.commands import Command, Registry
from botkit.parsing import split_message


class Bot:
    def __init__(self, prefix="!"):
        self.prefix = prefix
        self.registry = Registry()
        self.aliases = AliasTable()
        self.registry.register(Command("alias", self._alias, "!alias NAME COMMAND [ARGS...]", 2))
        self.registry.register(Command("help", self._help))

    def command(self, name, usage="", min_args=0, aliases=()):
        """Decorator registering a handler function as a command."""
        def decorate(handler):
            self.registry.register(Command(name, handler, usage, min_args, tuple(aliases)))
            return handler
        return decorate

    def handle(self, channel, text):
        """The reply to a chat message, or None when the bot stays silent."""
        self._channel = channel
        parsed = split_message(self.aliases.expand(channel, text, self.prefix), self.prefix)
        if parsed is None:
            return None
        name, args = parsed
        command = self.registry.lookup(name)
        if command is None:
            return f"unknown command {self.prefix}{name}; try {self.prefix}help"
        if len(args) < command.min_args:
            return f"usage: {command.usage}"
        return command.handler(args)

    def _alias(self, args):
        name, words = args[0], args[1:]
        if self.registry.lookup(name) is not None:
            return f"{self.prefix}{name} is already a command"
        if self.registry.lookup(words[0]) is None:
            return f"unknown command {words[0]}"
        self.aliases.define(self._channel, name, words)
        return f"{self.prefix}{name} now means {self.prefix}{' '.join(words)}"

    def _help(self, args):
        return "commands: " + ", ".join(self.prefix + n for n in self.registry.names())
