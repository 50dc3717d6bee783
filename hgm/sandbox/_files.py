"""Moving folder content into and out of sandboxes without trusting what is inside.

Everything here works on ``lstat``: symlinks are copied as symlinks (never followed), and
special files (fifos, sockets, devices) are skipped, so a sandboxed command cannot make the
driver read a host file or block on a fifo.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import sys
from pathlib import Path

# Setuid/setgid/sticky bits never come back out: a sandbox must not hand the host an
# executable that runs with the driver's privileges.
_KEEP_MODE = 0o777


def _is_plain(mode: int) -> bool:
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)


def _ignore_special(folder: str, names: list[str]) -> set[str]:
    skipped = set()
    for name in names:
        try:
            mode = os.lstat(os.path.join(folder, name)).st_mode
        except OSError:
            skipped.add(name)
            continue
        if not _is_plain(mode):
            skipped.add(name)
    return skipped


def copy_in(src: Path, dst: Path) -> None:
    """Copy the content of folder ``src`` to the new folder ``dst`` (symlinks as symlinks)."""
    shutil.copytree(src, dst, symlinks=True, ignore=_ignore_special)


def sanitize(root: Path) -> None:
    """Make ``root`` safe for the host to read: drop special files, strip setuid bits.

    Folders are made readable and writable by their owner on the way down, so a command
    that chmod-ed them to 000 cannot hide content or block the cleanup.
    """
    os.chmod(root, (os.lstat(root).st_mode & _KEEP_MODE) | stat.S_IRWXU)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                continue
            if stat.S_ISDIR(mode):
                os.chmod(path, (mode & _KEEP_MODE) | stat.S_IRWXU)
            elif stat.S_ISREG(mode):
                if mode & ~_KEEP_MODE & 0o7777:
                    os.chmod(path, mode & _KEEP_MODE)
            else:
                os.unlink(path)


def collect(src: Path, dst: Path) -> None:
    """Move the sandbox's copy ``src`` (after the run) to ``dst``, sanitized.

    A rename when both are on one filesystem, a symlink-preserving copy otherwise. If the
    command removed or replaced the folder itself, the output is an empty folder.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() or dst.is_symlink():
        raise FileExistsError(f"output folder already exists: {dst}")
    if not (src.exists() or src.is_symlink()) or not stat.S_ISDIR(os.lstat(src).st_mode):
        dst.mkdir()
        return
    sanitize(src)
    try:
        os.rename(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copytree(src, dst, symlinks=True, ignore=_ignore_special)


def chown_tree(root: Path, uid: int) -> None:
    """Give ``root`` and everything in it to ``uid`` (its own group); sockets are left alone
    (a hard link to the gateway's socket must not change the socket's owner)."""
    os.chown(root, uid, uid)
    for folder, dirs, files in os.walk(root):
        for name in files + dirs:
            path = os.path.join(folder, name)
            if not stat.S_ISSOCK(os.lstat(path).st_mode):
                os.lchown(path, uid, uid)


def make_read_only(root: Path) -> None:
    """Drop write permission on a copied tree (advisory: root ignores it)."""
    for folder, dirs, files in os.walk(root, topdown=False):
        for name in files + dirs:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode):
                os.chmod(path, mode & ~0o222)
    os.chmod(root, os.lstat(root).st_mode & ~0o222)


def remove_tree(root: Path) -> None:
    """Delete ``root`` even if the command left folders without write permission."""
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

    if sys.version_info >= (3, 12):
        shutil.rmtree(root, onexc=fix_and_retry)
    else:
        shutil.rmtree(root, onerror=fix_and_retry)
