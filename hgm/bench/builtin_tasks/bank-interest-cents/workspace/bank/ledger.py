"""The append-only ledger: balances are sums of entries, never stored."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Entry:
    account: str
    amount: Decimal  # positive = credit, negative = debit
    kind: str  # deposit | withdrawal | transfer | fee | interest
    day: str  # ISO date, YYYY-MM-DD
    memo: str = ""


class Ledger:
    def __init__(self):
        self._entries = []

    def post(self, entry):
        self._entries.append(entry)
        return entry

    def entries(self, account, month=None):
        return [
            e for e in self._entries
            if e.account == account and (month is None or e.day.startswith(month))
        ]

    def balance(self, account, until_day=None):
        return sum(
            (e.amount for e in self._entries
             if e.account == account and (until_day is None or e.day <= until_day)),
            Decimal("0"),
        )
