"""Monthly statements."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Statement:
    account: str
    month: str
    opening: Decimal
    entries: tuple
    closing: Decimal

    def total(self, kind):
        return sum((e.amount for e in self.entries if e.kind == kind), Decimal("0"))

    def render(self):
        lines = [f"Statement {self.account} {self.month}", f"Opening balance {self.opening:>12}"]
        lines += [f"{e.day} {e.kind:<10} {e.amount:>12} {e.memo}".rstrip() for e in self.entries]
        lines.append(f"Closing balance {self.closing:>12}")
        return "\n".join(lines)


def build_statement(ledger, account_id, month):
    opening = ledger.balance(account_id, until_day=f"{month}-00")
    entries = tuple(ledger.entries(account_id, month))
    closing = opening + sum((e.amount for e in entries), Decimal("0"))
    return Statement(account_id, month, opening, entries, closing)
