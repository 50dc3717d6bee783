"""Parse and build URL query strings (``a=1&b=two+words``).

Keys may describe structure, as in PHP and Rails: ``user[name]=Ann`` makes
``{"user": {"name": "Ann"}}`` (any depth), and ``tag[]=a&tag[]=b`` makes
``{"tag": ["a", "b"]}``.
"""

_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class QueryError(ValueError):
    """A query string or a parameter structure cannot be handled."""


def decode(text):
    """Decode one component: ``+`` is a space and ``%XX`` a UTF-8 byte."""
    out = bytearray()
    i = 0
    while i < len(text):
        char = text[i]
        if char == "+":
            out += b" "
        elif char == "%":
            pair = text[i + 1:i + 3]
            try:
                out.append(int(pair, 16))
            except ValueError:
                raise QueryError(f"bad percent-escape at {text[i:i + 3]!r}") from None
            i += 2
        else:
            out += char.encode("utf-8")
        i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise QueryError(f"not UTF-8 after decoding: {text!r}") from None


def encode(text):
    """Encode one component (spaces as ``+``)."""
    out = []
    for byte in str(text).encode("utf-8"):
        char = chr(byte)
        if char in _SAFE:
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def _split_key(key):
    """``"a[b][]"`` -> ``["a", "b", ""]``; a key without brackets is one part."""
    head, bracket, rest = key.partition("[")
    if not bracket or not head:
        return [key]
    parts = [head]
    rest = "[" + rest
    while rest:
        if not rest.startswith("[") or "]" not in rest:
            raise QueryError(f"malformed key {key!r}")
        inner, _, rest = rest[1:].partition("]")
        parts.append(inner)
    return parts


def _insert(params, parts, value, key):
    node = params
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        following = None if last else parts[depth + 1]
        if part == "":
            if not isinstance(node, list):
                raise QueryError(f"conflicting structure for key {key!r}")
            if not last:
                raise QueryError(f"'[]' must come last in key {key!r}")
            node.append(value)
            return
        if not isinstance(node, dict):
            raise QueryError(f"conflicting structure for key {key!r}")
        if last:
            if isinstance(node.get(part), (dict, list)):
                raise QueryError(f"conflicting structure for key {key!r}")
            node[part] = value
            return
        wanted = list if following == "" else dict
        child = node.setdefault(part, wanted())
        if not isinstance(child, wanted):
            raise QueryError(f"conflicting structure for key {key!r}")
        node = child


def parse(query):
    """A dict of the parameters in ``query`` (a leading ``?`` is ignored).

    When a plain key is repeated, the last value wins. A key without ``=`` has the
    value ``""``. Keys with brackets build nested dicts and lists (module docstring);
    a key used both as a plain value and as a structure raises QueryError.
    """
    params = {}
    for pair in query.lstrip("?").split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        key = decode(key)
        _insert(params, _split_key(key), decode(value), key)
    return params


def _flatten(prefix, value, pairs):
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}[{key}]", item, pairs)
    elif isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, (dict, list, tuple)):
                raise QueryError(f"{prefix}: lists may only hold plain values")
            pairs.append((f"{prefix}[]", item))
    else:
        pairs.append((prefix, value))


def build(params):
    """The query string for a dict of parameters, keys in the dict's order.

    Nested dicts and lists are written with brackets, so that ``parse`` returns the
    same structure.
    """
    pairs = []
    for key, value in params.items():
        _flatten(str(key), value, pairs)
    return "&".join(f"{encode(key)}={encode(value)}" for key, value in pairs)
