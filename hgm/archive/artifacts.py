"""Content-addressed blobs (trajectories, test logs) of a run.

A blob's ref is the hex sha256 of its bytes; it is stored at ``artifacts/<ref[:2]>/<ref[2:]>``.
Blobs are written to a temporary file, fsynced and renamed into place, so a file at its
final path is always complete: a process killed mid-write leaves only a temporary file.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

_REF = re.compile(r"^[0-9a-f]{64}$")
_TMP_PREFIX = ".tmp-"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ArtifactStore:
    """The run's ``artifacts/`` folder."""

    def __init__(self, root: Path, *, durable: bool = True):
        self.root = Path(root)
        self.durable = durable

    def path(self, ref: str) -> Path:
        if not _REF.match(ref):
            raise ValueError(f"not an artifact ref (64 hex digits): {ref!r}")
        return self.root / ref[:2] / ref[2:]

    def put(self, data: bytes | str) -> str:
        """Store ``data`` (str is UTF-8 encoded) and return its ref; storing twice is a no-op."""
        if isinstance(data, str):
            data = data.encode()
        ref = sha256_hex(data)
        final = self.path(ref)
        if final.exists():
            return ref
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                if self.durable:
                    os.fsync(f.fileno())
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        if self.durable:
            # The rename itself must reach the disk before the DB row that names the blob.
            _fsync_dir(final.parent)
        return ref

    def get(self, ref: str) -> bytes:
        try:
            return self.path(ref).read_bytes()
        except FileNotFoundError:
            raise KeyError(f"artifact {ref} is missing from {self.root}") from None

    def verify(self, ref: str) -> str | None:
        """None when the blob exists and hashes to its ref, else what is wrong with it."""
        try:
            data = self.path(ref).read_bytes()
        except ValueError as e:
            return str(e)
        except FileNotFoundError:
            return "is missing"
        actual = sha256_hex(data)
        return None if actual == ref else f"is corrupt (its sha256 is {actual})"

    def remove_leftovers(self) -> list[Path]:
        """Delete temporary files of writes that a killed process never finished."""
        leftovers = list(self._temporaries())
        for p in leftovers:
            p.unlink(missing_ok=True)
        return leftovers

    def _temporaries(self) -> Iterator[Path]:
        if self.root.is_dir():
            yield from self.root.glob(f"*/{_TMP_PREFIX}*")
