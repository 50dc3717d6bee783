def normalize(path):
    """The canonical form of a relative path: '/' separators, no '.' parts, no
    leading './' or trailing '/', no repeated separators.

    Backslashes count as separators too: manifests written on Windows use them.
    """
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)
