"""Loan records."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass
class Loan:
    id: int
    isbn: str
    member_id: str
    branch: str
    borrowed_on: date
    due_on: date
    returned_on: date | None = None
    fine: Decimal = Decimal("0.00")

    @property
    def open(self):
        return self.returned_on is None
