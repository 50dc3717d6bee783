"""Parse and build URL query strings (``a=1&b=two+words``)."""

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


def parse(query):
    """A dict of the parameters in ``query`` (a leading ``?`` is ignored).

    When a key is repeated, the last value wins. A key without ``=`` has the
    value ``""``.
    """
    params = {}
    for pair in query.lstrip("?").split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        params[decode(key)] = decode(value)
    return params


def build(params):
    """The query string for a dict of parameters, keys in the dict's order."""
    return "&".join(f"{encode(key)}={encode(value)}" for key, value in params.items())
