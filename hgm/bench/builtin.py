"""The built-in benchmark: small original Python tasks shipped inside the package.

The tasks live in ``hgm/bench/builtin_tasks/`` in the ``dir`` format (docs/tasks.md). They
need only the Python standard library, and every test command uses ``unittest``, so they run
in a bare sandbox image.
"""

from __future__ import annotations

from pathlib import Path

from hgm.bench.dirbench import DirBenchmark

BUILTIN_TASKS_DIR = Path(__file__).parent / "builtin_tasks"


class BuiltinBenchmark(DirBenchmark):
    """The ``builtin`` benchmark: every task folder under ``builtin_tasks/``, in name order."""

    def __init__(self) -> None:
        super().__init__(BUILTIN_TASKS_DIR, name="builtin")
