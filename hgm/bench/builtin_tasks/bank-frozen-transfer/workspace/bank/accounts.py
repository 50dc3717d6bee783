from decimal import Decimal

from bank.errors import AccountFrozen, InsufficientFunds


class Account:
    """A customer account. A frozen account can neither send nor receive money."""

    def __init__(self, number, owner, balance="0.00", overdraft_limit="0.00"):
        self.number = number
        self.owner = owner
        self.balance = Decimal(balance)
        self.overdraft_limit = Decimal(overdraft_limit)
        self.frozen = False

    def debit(self, amount):
        if self.frozen:
            raise AccountFrozen(f"account {self.number} is frozen")
        if amount > self.balance + self.overdraft_limit:
            raise InsufficientFunds(f"account {self.number} cannot pay {amount}")
        self.balance -= amount

    def credit(self, amount):
        self.balance += amount
