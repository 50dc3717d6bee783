"""The router: routes are tried in the order they were added."""

from dataclasses import dataclass

from router.patterns import compile_pattern


@dataclass(frozen=True)
class Match:
    handler: object
    params: dict
    pattern: str


class Router:
    def __init__(self):
        self._routes = []

    def add(self, pattern, handler, methods=("GET",)):
        self._routes.append((compile_pattern(pattern), handler, frozenset(methods)))

    def match(self, path, method="GET"):
        """The first route matching `path` and `method`, or None."""
        for compiled, handler, methods in self._routes:
            if method not in methods:
                continue
            m = compiled.regex.fullmatch(path)
            if m:
                return Match(handler, compiled.convert(m.groupdict()), compiled.pattern)
        return None
