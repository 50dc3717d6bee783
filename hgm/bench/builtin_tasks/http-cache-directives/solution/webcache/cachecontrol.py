def parse_cache_control(values):
    """Directives of one or more Cache-Control field values, as a dict.

    ``"public, max-age=60"`` -> ``{"public": None, "max-age": "60"}``. Directive
    names are case-insensitive and returned in lower case; quoted values are
    unquoted. When a directive is repeated, the first one wins.
    """
    directives = {}
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            name, sep, arg = part.partition("=")
            name = name.strip().lower()
            arg = arg.strip().strip('"') if sep else None
            directives.setdefault(name, arg)
    return directives
