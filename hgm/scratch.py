"""Scratch folders: named after the process that made them, swept up after it dies.

Jobs work in temporary folders that they remove when they finish. A driver killed with
SIGKILL (or by the machine going down) cannot remove them, so every such folder is named
``hgm-<pid>-<check>-<kind>-<random>``, where ``<check>`` is a short digest of the pid that
only hgm writes, and :func:`reap` (called when a run starts) removes those of processes that
no longer exist. Folders of live processes, and anything not named so (another program's
``hgm-123-eval-x`` included), are never touched.

The removal is iterative and walks by directory descriptor, so no depth of nesting (an
agent can leave thousands of levels) can exhaust Python's recursion limit; and a folder
that cannot be removed is logged and left, never failing the run that sweeps.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

_NAME = re.compile(r"hgm-(\d+)-([0-9a-f]{8})-[a-z]+-")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _check(pid: int) -> str:
    # Any folder can be named hgm-<digits>-<word>-...; this digest makes an hgm name
    # something no other program produces by accident.
    return hashlib.sha256(f"hgm scratch folder of process {pid}".encode()).hexdigest()[:8]


def prefix(kind: str, pid: int | None = None) -> str:
    """The ``prefix=`` for a temporary folder of this process, or of process ``pid``
    (``kind``: a lowercase word)."""
    if not kind.isalpha() or not kind.islower():
        raise ValueError(f"kind must be a lowercase word, not {kind!r}")
    pid = os.getpid() if pid is None else int(pid)
    return f"hgm-{pid}-{_check(pid)}-{kind}-"


def owner(path: Path) -> int | None:
    """The pid of the hgm process whose scratch folder ``path`` is named as, else None."""
    match = _NAME.match(Path(path).name)
    if match is None or match[2] != _check(int(match[1])):
        return None
    return int(match[1])


def reap(folder: Path | None = None) -> list[Path]:
    """Remove the scratch folders of dead processes under ``folder`` (the temp folder).

    Never raises: a folder that cannot be removed is logged and left for the next sweep.
    """
    removed = []
    try:
        candidates = list(Path(folder or tempfile.gettempdir()).glob("hgm-*-*-*-*"))
    except OSError as exc:
        log.warning("could not list scratch folders: %s", exc)
        return removed
    for path in candidates:
        pid = owner(path)
        if pid is None or path.is_symlink() or not path.is_dir() or process_alive(pid):
            continue
        try:
            _unmount_leftovers(path)
            remove_tree(path)
        except Exception as exc:  # the sweep is housekeeping: it must never stop a run
            log.warning("could not remove %s, left by a process that died: %s", path, exc)
            continue
        removed.append(path)
    if removed:
        log.info("removed %d scratch folders left by processes that died", len(removed))
    return removed


def _unmount_leftovers(folder: Path) -> None:
    """Unmount the sandbox's tmpfs folders (``hgm-sandbox``, see hgm.sandbox._disk) that a
    killed process left mounted under ``folder``, deepest first; nothing else is touched."""
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return
    inside = []
    for line in lines:
        source, point, *_ = line.split(" ") + ["", ""]
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), point)
        if source == "hgm-sandbox" and Path(point).is_relative_to(folder):
            inside.append(point)
    for point in sorted(inside, key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], capture_output=True,
                       stdin=subprocess.DEVNULL, check=False)  # fmt: skip


def remove_tree(root: Path) -> None:
    """Delete the folder ``root`` and everything in it, at any depth, without recursion.

    Symbolic links are removed, never followed. Folders a command left without write or
    search permission are opened up first (they belong to this user).
    """
    root = Path(root)
    if root.is_dir() and not root.is_symlink() and root.stat().st_mode & stat.S_IRWXU != stat.S_IRWXU:
        root.chmod(stat.S_IRWXU)
    fd = os.open(root, _DIR_FLAGS)
    try:
        # Each frame: the folder's name in its parent, and its subfolders still to remove.
        # Only one descriptor is open at a time; ".." leads back up.
        frames: list[tuple[str, list[str]]] = [("", _clear_files(fd))]
        while frames:
            name, pending = frames[-1]
            if pending:
                child = pending.pop()
                _open_up(fd, child)
                sub = os.open(child, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = sub
                frames.append((child, _clear_files(fd)))
                continue
            frames.pop()
            if not frames:
                break
            parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(name, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(root)


def _clear_files(fd: int) -> list[str]:
    """Unlink every entry of the open folder that is not a folder; return the subfolders."""
    folders = []
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.name)
            else:
                os.unlink(entry.name, dir_fd=fd)
    return folders


def _open_up(fd: int, name: str) -> None:
    mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
    if mode & stat.S_IRWXU != stat.S_IRWXU:
        os.chmod(name, stat.S_IRWXU, dir_fd=fd)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True
