"""Library members."""

from dataclasses import dataclass, field
from decimal import Decimal

from library.errors import UnknownItem


@dataclass
class Member:
    id: str
    name: str
    home_branch: str
    balance_due: Decimal = Decimal("0.00")
    loans: list = field(default_factory=list)


class Members:
    def __init__(self):
        self._members = {}

    def join(self, member_id, name, home_branch):
        self._members[member_id] = Member(member_id, name, home_branch)
        return self._members[member_id]

    def get(self, member_id):
        try:
            return self._members[member_id]
        except KeyError:
            raise UnknownItem(f"member {member_id!r}") from None
