"""Light wall-clock accounting of where a job's time goes (read by benchmarks/throughput.py).

A :class:`Phases` adds up seconds per named phase; ``with phases("copy_in"): ...`` times a
block. It costs two ``perf_counter`` calls per block and never changes what the block does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


class Phases:
    """Seconds spent per phase, added up over every block timed under that name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def merge(self, other: Mapping[str, float], prefix: str = "") -> None:
        """Add ``other``'s phases, their names prefixed with ``prefix``."""
        for name, seconds in other.items():
            self.add(prefix + name, seconds)

    def rounded(self) -> dict[str, float]:
        """The phases in seconds, to the microsecond (what gets recorded)."""
        return {name: round(seconds, 6) for name, seconds in self.seconds.items()}
