"""Read values out of nested JSON-like data (dicts and lists) by dotted paths."""

_NO_DEFAULT = object()


class PathError(LookupError):
    """A path does not lead to a value."""


def _step(value, segment, path):
    if isinstance(value, dict):
        if segment in value:
            return value[segment]
        raise PathError(f"{path}: no key {segment!r}")
    if isinstance(value, list):
        if not segment.isdigit():
            raise PathError(f"{path}: {segment!r} is not a list index")
        index = int(segment)
        if index >= len(value):
            raise PathError(f"{path}: index {index} out of range")
        return value[index]
    raise PathError(f"{path}: cannot look up {segment!r} in a {type(value).__name__}")


def get_path(data, path, default=_NO_DEFAULT):
    """The value at dotted `path` in `data`.

    Segments are dict keys or list indices. If the path does not exist, return
    `default` when given, else raise PathError.
    """
    value = data
    try:
        for segment in path.split("."):
            value = _step(value, segment, path)
    except PathError:
        if default is _NO_DEFAULT:
            raise
        return default
    return value


def has_path(data, path):
    try:
        get_path(data, path)
    except PathError:
        return False
    return True
