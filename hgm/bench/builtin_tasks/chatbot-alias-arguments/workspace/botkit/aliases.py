import shlex


class AliasTable:
    """Aliases that users define per channel with ``!alias NAME COMMAND [ARGS...]``.

    An alias stands for a command with optional preset arguments; anything typed
    after the alias is appended to the preset arguments:

        !alias ldn weather London      then   !ldn tomorrow  ==  !weather London tomorrow
        !alias w weather               then   !w Paris       ==  !weather Paris
    """

    def __init__(self):
        self._table = {}  # (channel, alias) -> list of words

    def define(self, channel, alias, words):
        if not words:
            raise ValueError("an alias needs a command")
        self._table[(channel, alias.lower())] = list(words)

    def remove(self, channel, alias):
        self._table.pop((channel, alias.lower()), None)

    def list(self, channel):
        return sorted((a, " ".join(w)) for (c, a), w in self._table.items() if c == channel)

    def expand(self, channel, text, prefix="!"):
        """The message with a leading alias replaced by what it stands for."""
        if not text.startswith(prefix):
            return text
        first, _, rest = text[len(prefix):].partition(" ")
        words = self._table.get((channel, first.lower()))
        if words is None:
            return text
        return prefix + shlex.join(words)
