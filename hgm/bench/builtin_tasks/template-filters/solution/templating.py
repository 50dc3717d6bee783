"""A tiny template engine for notification e-mails: `{{ name|filter:arg }}` placeholders."""

import re

_TAG = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.]*)\s*")
_FILTER = re.compile(r'\|\s*([A-Za-z_]+)\s*(?::\s*("[^"]*"|-?\d+)\s*)?')
_MISSING = object()


class TemplateError(ValueError):
    """A template cannot be rendered with the given context."""


def _lookup(context, dotted):
    value = context
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif not isinstance(value, dict) and hasattr(value, part):
            value = getattr(value, part)
        else:
            return _MISSING
    return value


def _truncate(value, n):
    text = str(value)
    return text if len(text) <= n else text[:n] + "..."


# name -> (function, type of its argument or None when it takes none)
FILTERS = {
    "upper": (lambda v: str(v).upper(), None),
    "lower": (lambda v: str(v).lower(), None),
    "title": (lambda v: str(v).title(), None),
    "default": (lambda v, d: d if v is None or v is _MISSING else v, str),
    "truncate": (_truncate, int),
    "join": (lambda v, sep: sep.join(str(item) for item in v), str),
}


def _parse(expression):
    """Split `name|f1:arg|f2` into the name and a list of (filter, argument)."""
    m = _NAME.match(expression)
    if not m:
        raise TemplateError(f"malformed placeholder {{{{ {expression} }}}}")
    pos, filters = m.end(), []
    while pos < len(expression):
        f = _FILTER.match(expression, pos)
        if not f:
            raise TemplateError(f"malformed filter in {{{{ {expression} }}}}")
        name, raw = f.group(1), f.group(2)
        arg = None if raw is None else raw[1:-1] if raw.startswith('"') else int(raw)
        filters.append((name, arg))
        pos = f.end()
    return m.group(1), filters


def _apply(name, value, arg):
    if name not in FILTERS:
        raise TemplateError(f"unknown filter {name!r}; known: {', '.join(sorted(FILTERS))}")
    func, arg_type = FILTERS[name]
    if arg_type is None:
        if arg is not None:
            raise TemplateError(f"filter {name!r} takes no argument")
        return func(value)
    if not isinstance(arg, arg_type):
        raise TemplateError(f"filter {name!r} needs a {arg_type.__name__} argument")
    return func(value, arg)


def render(template, context):
    """Replace every `{{ dotted.name|filter... }}` in `template` with its value in `context`."""

    def replace(match):
        dotted, filters = _parse(match.group(1))
        value = _lookup(context, dotted)
        if value is _MISSING and "default" not in (name for name, _ in filters):
            raise TemplateError(f"{dotted!r} is not defined")
        for name, arg in filters:
            value = _apply(name, value, arg)
        return str(value)

    return _TAG.sub(replace, template)
