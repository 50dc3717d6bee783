"""Scratch folders: named after the process that made them, swept up after it dies.

Jobs work in temporary folders that they remove when they finish. A driver killed with
SIGKILL (or by the machine going down) cannot remove them, so every such folder is named
``hgm-<pid>-<kind>-<random>`` and :func:`reap` (called when a run starts) removes those of
processes that no longer exist. Folders of live processes, and anything not named so, are
never touched.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

_NAME = re.compile(r"hgm-(\d+)-[a-z]+-")


def prefix(kind: str) -> str:
    """The ``prefix=`` for a temporary folder of this process (``kind``: a lowercase word)."""
    if not kind.isalpha() or not kind.islower():
        raise ValueError(f"kind must be a lowercase word, not {kind!r}")
    return f"hgm-{os.getpid()}-{kind}-"


def reap(folder: Path | None = None) -> list[Path]:
    """Remove the scratch folders of dead processes under ``folder`` (the temp folder)."""
    from hgm.sandbox._files import remove_tree

    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob("hgm-*-*-*"):
        match = _NAME.match(path.name)
        if match is None or path.is_symlink() or not path.is_dir() or process_alive(int(match[1])):
            continue
        try:
            remove_tree(path)
        except OSError as exc:
            log.warning("could not remove %s, left by a process that died: %s", path, exc)
            continue
        removed.append(path)
    if removed:
        log.info("removed %d scratch folders left by processes that died", len(removed))
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True
