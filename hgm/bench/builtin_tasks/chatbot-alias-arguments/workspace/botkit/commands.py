from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str
    handler: object  # callable(args: list[str]) -> str
    usage: str = ""
    min_args: int = 0
    aliases: tuple = ()  # built-in short names, e.g. ("w",) for "weather"


class Registry:
    def __init__(self):
        self._commands = {}
        self._names = {}

    def register(self, command):
        for name in (command.name, *command.aliases):
            if name in self._names:
                raise ValueError(f"command name {name!r} is taken")
            self._names[name] = command.name
        self._commands[command.name] = command

    def lookup(self, name):
        """The command called ``name`` (or with that built-in alias), or None."""
        canonical = self._names.get(name.lower())
        return self._commands.get(canonical) if canonical else None

    def names(self):
        return sorted(self._commands)
