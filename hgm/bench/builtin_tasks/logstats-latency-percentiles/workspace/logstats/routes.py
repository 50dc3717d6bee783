import re

_ID = re.compile(r"^(\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def route_of(path):
    """Group paths by route: numeric ids and UUIDs become ':id'."""
    parts = [":id" if _ID.match(part) else part for part in path.strip("/").split("/")]
    return "/" + "/".join(p for p in parts if p)
