"""Money rounding.

Bank policy BP-7: every amount the bank computes (interest, fees, converted
amounts) is rounded to whole cents, with halves rounded away from zero.
"""

from decimal import Decimal

CENT = Decimal("0.01")


def to_money(value):
    """`value` rounded to cents according to BP-7, as a Decimal."""
    return Decimal(str(round(float(value), 2)))


def is_money(value):
    """Whether `value` is a Decimal with at most two decimal places."""
    return isinstance(value, Decimal) and value == value.quantize(CENT)
