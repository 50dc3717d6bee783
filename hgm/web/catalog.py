"""The runs a web page serves: every run folder under one path, opened read-only, by id.

A run's id is its path relative to the served folder (``m0.7/hgm-seed0``), or the folder's
own name when the folder is itself a run. URLs name runs only by these ids: a request can
reach nothing but a run this catalogue found, so no path from a URL touches the file system.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from hgm.archive import ArchiveError, Run
from hgm.archive.run import missing_parts

MAX_DEPTH = 4  # how deep under the served folder runs are looked for


class UnknownRun(LookupError):
    """No run of that id is served."""


@dataclass(frozen=True)
class RunEntry:
    """One served run: its id and where it lies."""

    id: str
    path: Path


def find_runs(root: Path, max_depth: int = MAX_DEPTH) -> list[RunEntry]:
    """The runs at or under ``root`` (a run folder, or a folder of runs), sorted by id."""
    root = Path(root).resolve()
    if not missing_parts(root):
        return [RunEntry(root.name or "run", root)]
    found: list[RunEntry] = []
    for here, dirs, _files in os.walk(root):
        depth = len(Path(here).relative_to(root).parts)
        if depth and not missing_parts(Path(here)):
            found.append(RunEntry(Path(here).relative_to(root).as_posix(), Path(here)))
            dirs[:] = []  # a run's own folders (agents.git, artifacts) hold no runs
            continue
        dirs[:] = [] if depth >= max_depth else sorted(d for d in dirs if not d.startswith("."))
    return sorted(found, key=lambda e: e.id)


class Catalog:
    """The runs under ``root``, each opened read-only once and kept open (thread-safe)."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self._lock = threading.Lock()
        self._open: dict[str, Run] = {}
        self._entries: dict[str, RunEntry] = {}

    def entries(self) -> list[RunEntry]:
        """Look again (a new run may have started under the folder) and list the runs."""
        found = find_runs(self.root)
        with self._lock:
            self._entries = {e.id: e for e in found}
        return found

    def run(self, run_id: str) -> Run:
        """The open run of that id; :class:`UnknownRun` when none is served under it."""
        with self._lock:
            if run_id in self._open:
                return self._open[run_id]
        if run_id not in self._entries:
            self.entries()
        entry = self._entries.get(run_id)
        if entry is None:
            raise UnknownRun(run_id)
        try:
            run = Run.open(entry.path, readonly=True)
        except ArchiveError as e:
            raise UnknownRun(f"{run_id}: {e}") from None
        with self._lock:
            kept = self._open.setdefault(run_id, run)
        if kept is not run:
            run.close()
        return kept

    def close(self) -> None:
        with self._lock:
            for run in self._open.values():
                run.close()
            self._open.clear()
