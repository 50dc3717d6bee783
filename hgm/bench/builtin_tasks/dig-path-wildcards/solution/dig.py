"""Read values out of nested JSON-like data (dicts and lists) by dotted paths."""

_NO_DEFAULT = object()
WILDCARD = "*"


class PathError(LookupError):
    """A path does not lead to a value."""


def _index(segment):
    digits = segment[1:] if segment.startswith("-") else segment
    return int(segment) if digits.isdigit() else None


def _step(value, segment, path):
    if isinstance(value, dict):
        if segment in value:
            return value[segment]
        raise PathError(f"{path}: no key {segment!r}")
    if isinstance(value, list):
        index = _index(segment)
        if index is None:
            raise PathError(f"{path}: {segment!r} is not a list index")
        if not -len(value) <= index < len(value):
            raise PathError(f"{path}: index {index} out of range")
        return value[index]
    raise PathError(f"{path}: cannot look up {segment!r} in a {type(value).__name__}")


def _children(value):
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    return []


def _collect(value, segments, path, out):
    # Walk every branch; a branch where the path breaks off is skipped, not an error.
    if not segments:
        out.append(value)
        return
    head, rest = segments[0], segments[1:]
    if head == WILDCARD:
        for child in _children(value):
            _collect(child, rest, path, out)
        return
    try:
        child = _step(value, head, path)
    except PathError:
        return
    _collect(child, rest, path, out)


def get_path(data, path, default=_NO_DEFAULT):
    """The value at dotted `path` in `data`.

    Segments are dict keys or list indices (negative ones count from the end).
    A `*` segment matches every child; a path with `*` returns the flat list of
    all values reached. Without `*`, a missing path returns `default` when
    given, else raises PathError.
    """
    segments = path.split(".")
    if WILDCARD in segments:
        out = []
        _collect(data, segments, path, out)
        return out
    value = data
    try:
        for segment in segments:
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
