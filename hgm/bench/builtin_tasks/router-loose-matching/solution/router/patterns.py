"""Compile route patterns such as "/files/<path:name>" into regular expressions."""

import re
from dataclasses import dataclass

from router.converters import get_converter
from router.errors import RouteError

_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>")


@dataclass(frozen=True)
class CompiledPattern:
    pattern: str
    regex: re.Pattern
    converters: dict

    def convert(self, groups):
        return {name: self.converters[name](text) for name, text in groups.items()}


def compile_pattern(pattern):
    if not pattern.startswith("/"):
        raise RouteError(f"route {pattern!r} must start with '/'")
    parts = []
    converters = {}
    pos = 0
    for m in _PARAM.finditer(pattern):
        parts.append(re.escape(pattern[pos:m.start()]))
        name = m.group("name")
        if name in converters:
            raise RouteError(f"parameter {name!r} appears twice in {pattern!r}")
        regex, func = get_converter(m.group("conv") or "str")
        parts.append(f"(?P<{name}>{regex})")
        converters[name] = func
        pos = m.end()
    parts.append(re.escape(pattern[pos:]))
    return CompiledPattern(pattern, re.compile("".join(parts)), converters)
