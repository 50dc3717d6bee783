"""Library branches. Each keeps its own local time (a fixed offset from UTC)."""

from dataclasses import dataclass

from library.errors import UnknownItem


@dataclass(frozen=True)
class Branch:
    code: str
    name: str
    utc_offset_hours: int


BRANCHES = {
    "NYC": Branch("NYC", "New York Central", -5),
    "LDN": Branch("LDN", "London Riverside", 0),
    "TYO": Branch("TYO", "Tokyo Station", 9),
}


def get_branch(code):
    try:
        return BRANCHES[code]
    except KeyError:
        raise UnknownItem(f"branch {code!r}") from None
