from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    path: str  # normalised, relative to the synced folder
    sha256: str
    size: int
