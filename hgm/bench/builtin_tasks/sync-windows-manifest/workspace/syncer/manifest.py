import json

from syncer.entries import Entry


def load_manifest(text):
    """Parse the remote manifest (JSON written by any of our clients) into entries.

    Clients on every platform write it, so paths and digests come in whatever form
    the writing client used.
    """
    data = json.loads(text)
    return [Entry(item["path"], item["sha256"], int(item["size"])) for item in data["files"]]


def dump_manifest(entries):
    files = [{"path": e.path, "sha256": e.sha256, "size": e.size} for e in entries]
    return json.dumps({"files": files}, indent=2, sort_keys=True)
