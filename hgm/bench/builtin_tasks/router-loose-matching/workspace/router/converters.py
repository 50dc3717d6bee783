"""Parameter converters: a regex for the text and a function for the value.

- `str`  (default): one path segment, no "/";
- `int`: one or more digits, converted with int();
- `slug`: lower-case letters, digits and "-";
- `path`: anything, including "/", but not empty.
"""

CONVERTERS = {
    "str": (r"[^/]+", str),
    "int": (r"[0-9]+", int),
    "slug": (r"[a-z0-9]+(?:-[a-z0-9]+)*", str),
    "path": (r".+", str),
}


def get_converter(name):
    from router.errors import RouteError

    try:
        return CONVERTERS[name]
    except KeyError:
        raise RouteError(f"unknown converter {name!r}") from None
