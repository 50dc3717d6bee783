"""The fee schedule."""

from decimal import Decimal

from bank.rounding import to_money

WIRE_FEE_RATE = Decimal("0.005")
WIRE_FEE_MINIMUM = Decimal("1.00")
OVERDRAFT_FEE = Decimal("15.00")


def wire_fee(amount):
    """0.5% of the amount sent, at least 1.00."""
    return max(WIRE_FEE_MINIMUM, to_money(amount * WIRE_FEE_RATE))


def monthly_fee(product):
    return product.monthly_fee
