import fnmatch
import os

from syncer.entries import Entry
from syncer.hashing import file_digest
from syncer.paths import normalize


def scan(root, ignore=()):
    """Entries for every file under ``root`` whose path matches no ignore pattern."""
    entries = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(folder, name)
            rel = normalize(os.path.relpath(full, root))
            if any(fnmatch.fnmatchcase(rel, pattern) for pattern in ignore):
                continue
            entries.append(Entry(rel, file_digest(full), os.path.getsize(full)))
    return entries
