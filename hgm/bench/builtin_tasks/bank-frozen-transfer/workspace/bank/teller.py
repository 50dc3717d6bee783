from decimal import Decimal

from bank.errors import BankError, UnknownAccount


class Teller:
    """Cash operations and lookups over a set of accounts and one journal."""

    def __init__(self, accounts, journal):
        self.accounts = {a.number: a for a in accounts}
        self.journal = journal

    def account(self, number):
        try:
            return self.accounts[number]
        except KeyError:
            raise UnknownAccount(number) from None

    def deposit(self, number, amount, memo="cash deposit"):
        amount = Decimal(amount)
        if amount <= 0:
            raise BankError("deposits must be positive")
        self.account(number).credit(amount)
        self.journal.post(number, amount, memo)

    def withdraw(self, number, amount, memo="cash withdrawal"):
        amount = Decimal(amount)
        if amount <= 0:
            raise BankError("withdrawals must be positive")
        self.account(number).debit(amount)
        self.journal.post(number, -amount, memo)
