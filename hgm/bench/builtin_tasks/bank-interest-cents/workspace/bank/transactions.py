"""Moving money: deposits, withdrawals and transfers, all through the ledger."""

from decimal import Decimal

from bank.currency import convert
from bank.errors import InsufficientFunds
from bank.fees import wire_fee
from bank.ledger import Entry


def _check_positive(amount):
    if not isinstance(amount, Decimal) or amount <= 0:
        raise ValueError("amounts must be positive Decimals")


def deposit(ledger, account, amount, day, memo=""):
    _check_positive(amount)
    return ledger.post(Entry(account.id, amount, "deposit", day, memo))


def withdraw(ledger, account, amount, day, overdraft_limit, memo=""):
    _check_positive(amount)
    if ledger.balance(account.id) - amount < -overdraft_limit:
        raise InsufficientFunds(account.id)
    return ledger.post(Entry(account.id, -amount, "withdrawal", day, memo))


def transfer(ledger, source, target, amount, day, overdraft_limit, wire=False):
    """Send `amount` (in the source's currency); the target receives it converted."""
    _check_positive(amount)
    fee = wire_fee(amount) if wire else Decimal("0")
    if ledger.balance(source.id) - amount - fee < -overdraft_limit:
        raise InsufficientFunds(source.id)
    received = convert(amount, source.currency, target.currency)
    ledger.post(Entry(source.id, -amount, "transfer", day, f"to {target.id}"))
    if fee:
        ledger.post(Entry(source.id, -fee, "fee", day, "wire fee"))
    ledger.post(Entry(target.id, received, "transfer", day, f"from {source.id}"))
    return received, fee
