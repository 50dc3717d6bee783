from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    upload: tuple  # local paths that are new or changed
    delete: tuple  # remote paths that no longer exist locally
    unchanged: tuple


def plan_sync(local, remote):
    """Compare local entries with remote ones; every tuple in the plan is sorted."""
    remote_by_path = {e.path: e for e in remote}
    local_paths = {e.path for e in local}
    upload, unchanged = [], []
    for entry in local:
        old = remote_by_path.get(entry.path)
        # Hex digests are case-insensitive; some clients write them in upper case.
        if (
            old is not None
            and old.sha256.lower() == entry.sha256.lower()
            and old.size == entry.size
        ):
            unchanged.append(entry.path)
        else:
            upload.append(entry.path)
    delete = [path for path in remote_by_path if path not in local_paths]
    return Plan(tuple(sorted(upload)), tuple(sorted(delete)), tuple(sorted(unchanged)))
