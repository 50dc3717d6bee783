"""Moving folder content into and out of sandboxes without trusting what is inside.

Everything here works on ``lstat``: symlinks are copied as symlinks (never followed), and
special files (fifos, sockets, devices) are skipped, so a sandboxed command cannot make the
driver read a host file or block on a fifo. Every walk is iterative and bounded by
:class:`TreeLimits` (a 1,500-level folder chain is a limit, never a RecursionError), and
files are copied hole-aware, so a sparse file never becomes its full size on disk.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Setuid/setgid/sticky bits never come back out: a sandbox must not hand the host an
# executable that runs with the driver's privileges.
_KEEP_MODE = 0o777
_CHUNK = 1 << 20
_PAGE = 4096


@dataclass(frozen=True)
class TreeLimits:
    """How much a tree may hold to be copied in or collected."""

    max_bytes: int = 2048 << 20
    """Sum of the files' apparent sizes (a sparse file counts at its full length)."""
    max_files: int = 262_144
    """Entries (files, folders, symlinks) below the root."""
    max_depth: int = 256
    """Folders nested below the root."""
    max_path: int = 3072
    """Characters of a path relative to the root (the kernel refuses 4,096 in all)."""


class TreeLimitExceeded(Exception):
    """A tree broke one of its :class:`TreeLimits`; the message says which and where."""


@dataclass
class _Tally:
    limits: TreeLimits
    files: int = 0
    bytes: int = 0

    def add(self, rel: str, st: os.stat_result, depth: int) -> None:
        limits = self.limits
        self.files += 1
        if self.files > limits.max_files:
            raise TreeLimitExceeded(f"more than {limits.max_files} files and folders")
        if depth > limits.max_depth:
            raise TreeLimitExceeded(f"folders nested more than {limits.max_depth} deep")
        if len(rel) > limits.max_path:
            raise TreeLimitExceeded(f"a path longer than {limits.max_path} characters")
        if stat.S_ISREG(st.st_mode):
            self.bytes += st.st_size
            if self.bytes > limits.max_bytes:
                what = "sparse files count at their full size" if _sparse(st) else "files"
                raise TreeLimitExceeded(
                    f"more than {limits.max_bytes >> 20} MiB in all ({what}; "
                    f"{rel}: {st.st_size >> 20} MiB)"
                )


def measure(root: Path, limits: TreeLimits) -> int:
    """The bytes a copy of the files below ``root`` takes on a tmpfs (whole pages, holes
    filled as a tar stream fills them); raises TreeLimitExceeded."""
    tally = _Tally(limits)
    used = 0
    for rel, st, depth in walk(root):
        tally.add(rel, st, depth)
        if stat.S_ISREG(st.st_mode):
            used += -(-st.st_size // _PAGE) * _PAGE
    return used


def _sparse(st: os.stat_result) -> bool:
    return st.st_size > st.st_blocks * 512 + _CHUNK


def _is_plain(mode: int) -> bool:
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)


def walk(root: Path) -> Iterator[tuple[str, os.stat_result, int]]:
    """(relative path, lstat, depth) of everything below ``root``, parents before children.

    Iterative, so any depth is fine; a folder that vanishes or cannot be listed is skipped.
    """
    stack = [("", 0)]
    while stack:
        rel, depth = stack.pop()
        try:
            with os.scandir(os.path.join(root, rel) if rel else root) as found:
                entries = sorted((e.name, e.stat(follow_symlinks=False)) for e in found)
        except FileNotFoundError:
            continue
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise TreeLimitExceeded("a path too long to open") from exc
            continue
        for name, st in entries:
            child = f"{rel}/{name}" if rel else name
            yield child, st, depth + 1
            if stat.S_ISDIR(st.st_mode):
                stack.append((child, depth + 1))


def copy_tree(src: Path, dst: Path, limits: TreeLimits, *, sanitize: bool = False) -> None:
    """Copy the content of folder ``src`` into ``dst`` (new, or empty), within ``limits``.

    Symlinks are copied as symlinks, special files skipped, holes kept as holes, modes kept
    without setuid/setgid/sticky bits. ``sanitize``: first give the owner access to every
    folder of ``src`` (a command may have chmod-ed its own folders to 000). Raises
    TreeLimitExceeded (``dst`` then holds part of the tree) or OSError (ENOSPC when ``dst``'s
    filesystem is full).
    """
    tally = _Tally(limits)
    if sanitize:
        _own_folders(src)
    if not os.path.isdir(dst):  # else an empty folder made for it (a capped tmpfs)
        os.mkdir(dst, 0o700)
    folders = [("", os.lstat(src))]
    for rel, st, depth in walk(src):
        tally.add(rel, st, depth)
        source, target = os.path.join(src, rel), os.path.join(dst, rel)
        if stat.S_ISDIR(st.st_mode):
            if sanitize:
                os.chmod(source, (st.st_mode & _KEEP_MODE) | stat.S_IRWXU)
            os.mkdir(target, 0o700)
            folders.append((rel, st))
        elif stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(source), target)
        elif stat.S_ISREG(st.st_mode):
            copy_file(source, target, st)
    # Deepest first, so a read-only folder does not block what is below it.
    for rel, st in reversed(folders):
        target = os.path.join(dst, rel) if rel else str(dst)
        os.chmod(target, st.st_mode & _KEEP_MODE)
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))


def _own_folders(root: Path) -> None:
    os.chmod(root, (os.lstat(root).st_mode & _KEEP_MODE) | stat.S_IRWXU)


def copy_file(source: str, target: str, st: os.stat_result) -> None:
    """Copy one regular file, its holes as holes (SEEK_DATA/SEEK_HOLE), mode and times."""
    fd_in = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        fd_out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            _copy_data(fd_in, fd_out, st.st_size)
            os.ftruncate(fd_out, st.st_size)
            os.fchmod(fd_out, st.st_mode & _KEEP_MODE)
            os.utime(fd_out, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


def _copy_data(fd_in: int, fd_out: int, size: int) -> None:
    pos = 0
    while pos < size:
        try:
            data = os.lseek(fd_in, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # only a hole is left
                return
            raise
        end = min(os.lseek(fd_in, data, os.SEEK_HOLE), size)
        os.lseek(fd_in, data, os.SEEK_SET)
        os.lseek(fd_out, data, os.SEEK_SET)
        left = end - data
        while left > 0:
            chunk = os.read(fd_in, min(left, _CHUNK))
            if not chunk:  # the file shrank meanwhile
                return
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd_out, view) :]
            left -= len(chunk)
        pos = end


def copy_in(src: Path, dst: Path, limits: TreeLimits) -> None:
    """Copy the content of folder ``src`` to the new folder ``dst`` (see :func:`copy_tree`)."""
    copy_tree(src, dst, limits)


def collect(src: Path, dst: Path, limits: TreeLimits) -> None:
    """Move the sandbox's copy ``src`` (after the run) to ``dst``, sanitized and within limits.

    The tree is checked and cleaned in place first (special files dropped, setuid bits
    stripped, folders made accessible to their owner), then renamed when both are on one
    filesystem, or copied hole-aware. If the command removed or replaced the folder itself,
    the output is an empty folder. Raises TreeLimitExceeded (``dst`` then does not exist).
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() or dst.is_symlink():
        raise FileExistsError(f"output folder already exists: {dst}")
    if not (src.exists() or src.is_symlink()) or not stat.S_ISDIR(os.lstat(src).st_mode):
        dst.mkdir()
        return
    sanitize(src, limits)
    try:
        os.rename(src, dst)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EBUSY):  # EBUSY: src is a mount point
            raise
        try:
            copy_tree(src, dst, limits)
        except TreeLimitExceeded:
            remove_tree(dst)
            raise


def sanitize(root: Path, limits: TreeLimits = TreeLimits()) -> None:  # noqa: B008 (frozen)
    """Make ``root`` safe for the host to read: drop special files, strip setuid bits.

    Folders are made readable and writable by their owner on the way down, so a command
    that chmod-ed them to 000 cannot hide content or block the cleanup. Raises
    TreeLimitExceeded as soon as the tree breaks ``limits``.
    """
    tally = _Tally(limits)
    _own_folders(root)
    for rel, st, depth in walk(root):
        tally.add(rel, st, depth)
        path = os.path.join(root, rel)
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            continue
        if stat.S_ISDIR(mode):
            os.chmod(path, (mode & _KEEP_MODE) | stat.S_IRWXU)
        elif stat.S_ISREG(mode):
            if mode & ~_KEEP_MODE & 0o7777:
                os.chmod(path, mode & _KEEP_MODE)
        else:
            os.unlink(path)


def chown_tree(root: Path, uid: int) -> None:
    """Give ``root`` and everything in it to ``uid`` (its own group); sockets are left alone
    (a hard link to the gateway's socket must not change the socket's owner)."""
    os.chown(root, uid, uid)
    for rel, st, _ in walk(root):
        if not stat.S_ISSOCK(st.st_mode):
            os.lchown(os.path.join(root, rel), uid, uid)


def make_read_only(root: Path) -> None:
    """Drop write permission on a copied tree (advisory: root ignores it)."""
    entries = list(walk(root))
    for rel, st, _ in reversed(entries):  # children before their folder
        if not stat.S_ISLNK(st.st_mode):
            os.chmod(os.path.join(root, rel), st.st_mode & ~0o222 & 0o7777)
    os.chmod(root, os.lstat(root).st_mode & ~0o222 & 0o7777)


def remove_tree(root: Path) -> None:
    """Delete ``root`` even if the command left folders without write permission, or nested
    deeper than Python's recursion allows."""
    if not (root.exists() or root.is_symlink()):
        return
    if root.is_symlink() or not root.is_dir():
        root.unlink()
        return

    def fix_and_retry(func, path, _exc):
        parent = os.path.dirname(path)
        for folder in (parent, path):
            try:
                if not os.path.islink(folder) and os.path.isdir(folder):
                    os.chmod(folder, stat.S_IRWXU)
            except OSError:
                pass
        func(path)

    try:
        if sys.version_info >= (3, 12):
            shutil.rmtree(root, onexc=fix_and_retry)
        else:
            shutil.rmtree(root, onerror=fix_and_retry)
    except (RecursionError, OSError):
        # GNU chmod and rm walk any depth; -R does not follow symlinks. A few tries, since a
        # process of the command that is still exiting (a loaded machine) may add a file or
        # hold a lazily unmounted folder for a moment.
        for attempt in range(5):
            subprocess.run(["chmod", "-R", "u+rwx", "--", str(root)], capture_output=True, check=False)
            done = subprocess.run(["rm", "-rf", "--one-file-system", "--", str(root)],
                                  capture_output=True, text=True, check=False)  # fmt: skip
            if not os.path.lexists(root):
                return
            time.sleep(0.1 * 2**attempt)
        raise OSError(f"could not remove {root}: {done.stderr.strip()[-300:]}") from None
