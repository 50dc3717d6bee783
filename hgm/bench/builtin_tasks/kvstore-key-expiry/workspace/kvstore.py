"""An in-memory key-value store with a small Redis-like command language.

    >>> store = Store()
    >>> store.execute('SET greeting "hello world"')
    'OK'
    >>> store.execute("GET greeting")
    'hello world'

Values are strings or lists of strings. Every command returns a Python value:
``"OK"``, a string, an int, a list, or ``None`` for "no such key". Errors raise
:class:`CommandError` with a message in the style of Redis ("ERR ...",
"WRONGTYPE ...").
"""

from __future__ import annotations

import re
import time


class CommandError(Exception):
    """A command was malformed or not applicable to the stored value."""


WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"

_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(\S+))')


def tokenize(line: str) -> list:
    """Split a command line into words; double quotes group words, and backslash
    escapes the next character inside quotes."""
    words = []
    pos = 0
    line = line.rstrip()
    while pos < len(line):
        match = _TOKEN.match(line, pos)
        if match is None or match.end() == pos:
            raise CommandError(f"ERR syntax error near {line[pos:]!r}")
        quoted, bare = match.groups()
        if quoted is not None:
            words.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            if '"' in bare:
                raise CommandError("ERR unbalanced quotes in request")
            words.append(bare)
        pos = match.end()
    return words


def glob_to_regex(pattern: str) -> re.Pattern:
    """Compile a KEYS pattern: ``*``, ``?``, ``[abc]`` and ``\\x`` as in Redis."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1:end]
                if body.startswith("^"):
                    body = "^" + re.escape(body[1:])
                else:
                    body = re.escape(body)
                out.append(f"[{body}]")
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def parse_int(text: str) -> int:
    if not re.fullmatch(r"-?\d+", text):
        raise CommandError("ERR value is not an integer or out of range")
    return int(text)


def format_reply(reply) -> str:
    """Render a reply the way the interactive client prints it."""
    if reply is None:
        return "(nil)"
    if isinstance(reply, int):
        return f"(integer) {reply}"
    if isinstance(reply, list):
        if not reply:
            return "(empty array)"
        width = len(str(len(reply)))
        return "\n".join(
            f"{i:>{width}}) {format_reply(item)}" for i, item in enumerate(reply, start=1)
        )
    if reply == "OK":
        return reply
    return '"' + reply.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _arity(args: list, low: int, high: int | None, name: str) -> None:
    if len(args) < low or (high is not None and len(args) > high):
        raise CommandError(f"ERR wrong number of arguments for '{name.lower()}' command")


class Store:
    """The key space, and one method per command (``cmd_<name>``).

    ``clock`` returns the current time in seconds; it is a parameter so that time
    can be controlled in tests and simulations.
    """

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._data: dict = {}

    # -- plumbing -------------------------------------------------------------

    def execute(self, line: str):
        """Run one command line and return its reply."""
        words = tokenize(line)
        if not words:
            raise CommandError("ERR empty command")
        name, args = words[0].upper(), words[1:]
        handler = getattr(self, f"cmd_{name.lower()}", None)
        if handler is None:
            raise CommandError(f"ERR unknown command '{words[0]}'")
        return handler(args)

    def _get(self, key: str):
        """The live value of ``key``, or None."""
        return self._data.get(key)

    def _get_str(self, key: str):
        value = self._get(key)
        if value is not None and not isinstance(value, str):
            raise CommandError(WRONGTYPE)
        return value

    def _get_list(self, key: str, create: bool = False):
        value = self._get(key)
        if value is None:
            if not create:
                return None
            value = self._data[key] = []
        if not isinstance(value, list):
            raise CommandError(WRONGTYPE)
        return value

    def _live_keys(self) -> list:
        return [key for key in self._data if self._get(key) is not None]

    # -- strings --------------------------------------------------------------

    def cmd_set(self, args):
        _arity(args, 2, 2, "SET")
        key, value = args
        self._data[key] = value
        return "OK"

    def cmd_get(self, args):
        _arity(args, 1, 1, "GET")
        return self._get_str(args[0])

    def cmd_mset(self, args):
        if not args or len(args) % 2:
            raise CommandError("ERR wrong number of arguments for 'mset' command")
        for key, value in zip(args[::2], args[1::2]):
            self.cmd_set([key, value])
        return "OK"

    def cmd_mget(self, args):
        _arity(args, 1, None, "MGET")
        values = [self._get(key) for key in args]
        return [v if isinstance(v, str) else None for v in values]

    def cmd_append(self, args):
        _arity(args, 2, 2, "APPEND")
        key, suffix = args
        value = (self._get_str(key) or "") + suffix
        self._data[key] = value
        return len(value)

    def cmd_incrby(self, args):
        _arity(args, 2, 2, "INCRBY")
        key, step = args[0], parse_int(args[1])
        current = self._get_str(key)
        value = (parse_int(current) if current is not None else 0) + step
        self._data[key] = str(value)
        return value

    def cmd_incr(self, args):
        _arity(args, 1, 1, "INCR")
        return self.cmd_incrby([args[0], "1"])

    def cmd_decr(self, args):
        _arity(args, 1, 1, "DECR")
        return self.cmd_incrby([args[0], "-1"])

    # -- lists ----------------------------------------------------------------

    def cmd_lpush(self, args):
        _arity(args, 2, None, "LPUSH")
        items = self._get_list(args[0], create=True)
        for value in args[1:]:
            items.insert(0, value)
        return len(items)

    def cmd_rpush(self, args):
        _arity(args, 2, None, "RPUSH")
        items = self._get_list(args[0], create=True)
        items.extend(args[1:])
        return len(items)

    def cmd_lpop(self, args):
        _arity(args, 1, 1, "LPOP")
        items = self._get_list(args[0])
        if not items:
            return None
        value = items.pop(0)
        if not items:
            self.cmd_del([args[0]])
        return value

    def cmd_lrange(self, args):
        _arity(args, 3, 3, "LRANGE")
        items = self._get_list(args[0]) or []
        start, stop = parse_int(args[1]), parse_int(args[2])
        if stop < 0:
            stop += len(items)
        return items[start if start >= 0 else max(0, start + len(items)):stop + 1]

    # -- keys -----------------------------------------------------------------

    def cmd_del(self, args):
        _arity(args, 1, None, "DEL")
        removed = 0
        for key in args:
            if self._get(key) is not None:
                removed += 1
            self._data.pop(key, None)
        return removed

    def cmd_exists(self, args):
        _arity(args, 1, None, "EXISTS")
        return sum(1 for key in args if self._get(key) is not None)

    def cmd_type(self, args):
        _arity(args, 1, 1, "TYPE")
        value = self._get(args[0])
        if value is None:
            return "none"
        return "list" if isinstance(value, list) else "string"

    def cmd_keys(self, args):
        _arity(args, 1, 1, "KEYS")
        regex = glob_to_regex(args[0])
        return sorted(key for key in self._live_keys() if regex.match(key))

    def cmd_rename(self, args):
        _arity(args, 2, 2, "RENAME")
        source, target = args
        value = self._get(source)
        if value is None:
            raise CommandError("ERR no such key")
        self._data.pop(source)
        self._data[target] = value
        return "OK"

    def cmd_dbsize(self, args):
        _arity(args, 0, 0, "DBSIZE")
        return len(self._live_keys())

    def cmd_flushall(self, args):
        _arity(args, 0, 0, "FLUSHALL")
        self._data.clear()
        return "OK"
