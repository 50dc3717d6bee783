"""Interest on positive month-end balances."""

from decimal import Decimal

from bank.rounding import to_money


def monthly_interest(balance, product):
    """Interest for one month on `balance` under `product`'s terms (none on debt)."""
    if balance <= 0 or not product.monthly_interest_rate:
        return Decimal("0.00")
    return to_money(balance * product.monthly_interest_rate)
