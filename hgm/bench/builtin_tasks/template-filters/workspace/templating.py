"""A tiny template engine for notification e-mails: `{{ name }}` placeholders."""

import re

_TAG = re.compile(r"\{\{\s*(.*?)\s*\}\}")


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
            raise TemplateError(f"{dotted!r} is not defined")
    return value


def render(template, context):
    """Replace every `{{ dotted.name }}` in `template` with its value in `context`."""

    def replace(match):
        return str(_lookup(context, match.group(1)))

    return _TAG.sub(replace, template)
