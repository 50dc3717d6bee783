def normalize(path):
    """The canonical form of a relative path: '/' separators, no '.' parts, no
    leading './' or trailing '/', no repeated separators."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return "/".join(parts)
