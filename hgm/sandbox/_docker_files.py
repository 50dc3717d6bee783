"""Folders to tar streams and back, for the docker backend.

Going in, a host folder becomes a tar stream with the owner and modes the sandbox user needs
(symlinks as symlinks, special files left out). Coming out, a tar stream from the container is
extracted without trusting it: no member is written through a symlink or outside the
destination, symlinks stay symlinks (their targets are never read), special files are
dropped, setuid/setgid bits are lost, and a stream larger than its limit is cut off.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from hgm.sandbox import RunSpec
from hgm.sandbox._files import TreeLimitExceeded, TreeLimits, measure

_SPOOL_BYTES = 16 << 20
PRELOAD_MAX_BYTES = 1 << 20
"""Shared read-only content larger than this is copied in with its run, not ahead."""
_CHUNK = 1 << 20


class StreamTooLarge(Exception):
    """A tar stream from the sandbox went past its byte limit."""


@dataclass(frozen=True)
class Packed:
    """A folder as a tar stream ready to send (``file`` is positioned at its start)."""

    file: IO[bytes]
    content_bytes: int
    """Bytes of file content, before tar headers and padding."""
    entries: int


def pack(folders: list[tuple[Path, str]], *, uid: int, writable: bool) -> Packed:
    """Tar the content of each ``(folder, prefix)`` under ``prefix`` ("" for the tar's root).

    Everything is owned by ``uid``. Writable content keeps its modes plus owner read/write;
    read-only content gets read (and search) permission for all and write for no one but its
    owner, who is meant to be root.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 (returned)
    content = entries = 0
    try:
        with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for folder, prefix in folders:
                for rel, st in _walk(folder):
                    info = _info(rel, st, uid=uid, writable=writable, folder=folder)
                    info.name = (f"{prefix}/{rel}" if rel != "." else prefix) if prefix else rel
                    if info.isreg():
                        with open(folder / rel, "rb") as src:
                            tar.addfile(info, src)
                        content += info.size
                    else:
                        tar.addfile(info)
                    entries += 1
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return Packed(spool, content, entries)


def _walk(folder: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, lstat) of the folder itself (".") and of everything below, parents first."""
    yield ".", os.lstat(folder)
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(folder / rel if rel else folder) as found:
            entries = sorted(found, key=lambda e: e.name)
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                yield child, st
                stack.append(child)
            elif stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                yield child, st


def _info(rel: str, st: os.stat_result, *, uid: int, writable: bool, folder: Path) -> tarfile.TarInfo:
    info = tarfile.TarInfo(rel)
    info.uid = info.gid = uid
    info.mtime = int(st.st_mtime)
    mode = st.st_mode & 0o777
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        info.mode = mode | 0o700 if writable else (mode & 0o755) | 0o555
    elif stat.S_ISLNK(st.st_mode):
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(folder / rel)
        info.mode = 0o777
    else:
        info.size = st.st_size
        info.mode = mode | 0o600 if writable else (mode & 0o755) | 0o444
    return info


def too_big(spec: RunSpec, disk_mb: int, limits: TreeLimits, reserve_bytes: int) -> str | None:
    """Why the mounts of ``spec`` cannot go into a container (the files' doing), or None.

    Every mount is a tmpfs of ``disk_mb``; what is copied into a writable one is also memory
    charged to the container, so content that leaves the command under ``reserve_bytes`` of
    its memory limit would get the container killed while it is copied in.
    """
    writable = 0
    for mount in spec.mounts:
        try:
            used = measure(Path(mount.host), limits)
        except TreeLimitExceeded as exc:
            return f"the files for {mount.target} break a limit: {exc}"
        except OSError:
            return None  # unreadable: pack() says so as a sandbox failure
        if used > disk_mb << 20:
            return (f"the files for {mount.target} need {used >> 20} MiB of tmpfs, more than "
                    f"its {disk_mb} MiB")  # fmt: skip
        writable += used if mount.writable else 0
    if spec.memory_mb is not None and writable > (spec.memory_mb << 20) - reserve_bytes:
        return (f"the writable mounts hold {writable >> 20} MiB, which with the sandbox's own "
                f"needs does not fit in its memory limit of {spec.memory_mb} MiB (tmpfs "
                "content counts as memory)")  # fmt: skip
    return None


class _Reader:
    """A read-only file over an iterable of byte chunks, raising past ``limit`` bytes."""

    def __init__(self, chunks: Iterable[bytes], limit: int) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()
        self._pos = 0
        self._limit = limit
        self.total = 0

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) - self._pos < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self.total += len(chunk)
            if self.total > self._limit:
                raise StreamTooLarge(f"more than {self._limit} bytes")
            del self._buffer[: self._pos]  # once per chunk, not per read: stays linear
            self._pos = 0
            self._buffer += chunk
        end = len(self._buffer) if size < 0 else min(self._pos + size, len(self._buffer))
        data = bytes(self._buffer[self._pos : end])
        self._pos = end
        return data


def extract(
    chunks: Iterable[bytes],
    dest: Path,
    *,
    strip: str,
    limit_bytes: int,
    limits: TreeLimits = TreeLimits(),  # noqa: B008 (frozen)
) -> None:
    """Extract a tar stream whose members all sit under the folder ``strip`` into new ``dest``.

    Raises StreamTooLarge past ``limit_bytes`` and TreeLimitExceeded past ``limits`` (``dest``
    then holds what came before), FileExistsError if ``dest`` exists, tarfile.TarError on a
    malformed stream.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.mkdir()
    modes: dict[Path, int] = {dest: 0o700}
    count = 0
    with tarfile.open(fileobj=_Reader(chunks, limit_bytes), mode="r|") as tar:
        for member in tar:
            parts = _parts(member.name, strip)
            if parts is None:
                continue
            count += 1
            _check(parts, count, limits)
            if not parts:
                if member.isdir():
                    modes[dest] = (member.mode & 0o777) | 0o700
                continue
            parent = _safe_folder(dest, parts[:-1], modes)
            if parent is None:
                continue
            path = parent / parts[-1]
            if os.path.lexists(path):
                continue  # a duplicate member: the first one wins
            _extract_member(tar, member, path, dest, strip, modes)
    # Deepest first, so a read-only folder does not block setting the modes below it.
    for folder in sorted(modes, key=lambda p: len(p.parts), reverse=True):
        os.chmod(folder, modes[folder])


def _check(parts: tuple[str, ...], count: int, limits: TreeLimits) -> None:
    if count > limits.max_files + 1:  # + the folder itself
        raise TreeLimitExceeded(f"more than {limits.max_files} files and folders")
    if len(parts) > limits.max_depth:
        raise TreeLimitExceeded(f"folders nested more than {limits.max_depth} deep")
    if sum(len(p) + 1 for p in parts) > limits.max_path:
        raise TreeLimitExceeded(f"a path longer than {limits.max_path} characters")


def _parts(name: str, strip: str) -> tuple[str, ...] | None:
    """The member's path below ``strip``, or None if it is unsafe or elsewhere."""
    path = PurePosixPath(name)
    if path.is_absolute():
        return None
    parts = tuple(p for p in path.parts if p not in ("", "."))
    if not parts or parts[0] != strip or ".." in parts:
        return None
    return parts[1:]


def _safe_folder(dest: Path, parts: tuple[str, ...], modes: dict[Path, int]) -> Path | None:
    """``dest/parts`` as a chain of real folders (made if missing), or None through a non-folder."""
    folder = dest
    for part in parts:
        folder = folder / part
        try:
            mode = os.lstat(folder).st_mode
        except FileNotFoundError:
            folder.mkdir(mode=0o700)
            modes[folder] = 0o700
            continue
        if not stat.S_ISDIR(mode):
            return None
    return folder


def _extract_member(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    path: Path,
    dest: Path,
    strip: str,
    modes: dict[Path, int],
) -> None:
    """Create one member at ``path``, whose parent is a real folder inside ``dest``."""
    if member.isdir():
        path.mkdir(mode=0o700)
        modes[path] = (member.mode & 0o777) | 0o700
    elif member.issym():
        os.symlink(member.linkname, path)
    elif member.isreg():
        source = tar.extractfile(member)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                if chunk.count(0) == len(chunk):
                    out.seek(len(chunk), os.SEEK_CUR)  # zeros stay a hole, as they were inside
                else:
                    out.write(chunk)
            out.truncate()  # the file's length, where it ends in a hole
            out.flush()  # before the mtime is set, or the last write would bump it
            os.fchmod(out.fileno(), member.mode & 0o777)
            os.utime(out.fileno(), (member.mtime, member.mtime))
    elif member.islnk():
        source = _extracted_file(dest, _parts(member.linkname, strip))
        if source is not None:
            os.link(source, path, follow_symlinks=False)
    # Fifos, sockets and devices are never recreated on the host.


def _extracted_file(dest: Path, parts: tuple[str, ...] | None) -> Path | None:
    """``dest/parts`` if it is a regular file reached through real folders only."""
    if not parts:
        return None
    path = dest
    for i, part in enumerate(parts):
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return None
        want = stat.S_ISREG if i == len(parts) - 1 else stat.S_ISDIR
        if not want(mode):
            return None
    return path


def preload(spec: RunSpec, packed: dict[str, Packed]) -> tuple[tuple[str, str, bytes], ...]:
    """``(target, digest, tar)`` of each small ``shared`` read-only mount of ``spec``, for
    containers started ahead. The digest covers names, types, modes and content, not times:
    the same files copied afresh for each run still match."""
    out = []
    for mount in spec.mounts:
        item = packed.get(mount.target)
        if not mount.shared or mount.writable or item is None or item.entries <= 1:
            continue
        data = item.file.read(PRELOAD_MAX_BYTES + 1)
        item.file.seek(0)
        if len(data) <= PRELOAD_MAX_BYTES:
            out.append((mount.target, _content_digest(data), data))
    return tuple(out)


def _content_digest(data: bytes) -> str:
    digest = hashlib.sha256()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            head = (member.name, member.type.decode(), member.mode, member.linkname, member.size)
            digest.update(repr(head).encode())
            if member.isreg():
                digest.update(tar.extractfile(member).read())
    return digest.hexdigest()
