import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    born: frozenset
    survive: frozenset

    def next_state(self, alive, neighbours):
        return neighbours in (self.survive if alive else self.born)


def parse_rule(text):
    """'B3/S23' (Conway), 'B36/S23' (HighLife), ... -> Rule."""
    match = re.fullmatch(r"B([0-8]*)/S([0-8]*)", text.strip().upper())
    if not match:
        raise ValueError(f"bad rule {text!r}; expected e.g. B3/S23")
    return Rule(frozenset(map(int, match.group(1))), frozenset(map(int, match.group(2))))


CONWAY = parse_rule("B3/S23")
