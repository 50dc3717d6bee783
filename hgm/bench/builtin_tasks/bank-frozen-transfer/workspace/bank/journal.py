from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Posting:
    account: str
    amount: Decimal  # positive: money in, negative: money out
    memo: str


class Journal:
    """The append-only list of postings; statements are read from it."""

    def __init__(self):
        self.postings = []

    def post(self, account, amount, memo):
        self.postings.append(Posting(account, Decimal(amount), memo))

    def statement(self, account):
        return [p for p in self.postings if p.account == account]
