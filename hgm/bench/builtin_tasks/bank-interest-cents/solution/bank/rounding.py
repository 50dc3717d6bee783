"""Money rounding.

Bank policy BP-7: every amount the bank computes (interest, fees, converted
amounts) is rounded to whole cents, with halves rounded away from zero.
"""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_money(value):
    """`value` rounded to cents according to BP-7, as a Decimal.

    Decimal arithmetic throughout: going through float would round binary
    approximations (12.345 is 12.3449999... as a float) and use round-half-even.
    """
    if isinstance(value, float):
        value = str(value)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def is_money(value):
    """Whether `value` is a Decimal with at most two decimal places."""
    return isinstance(value, Decimal) and value == value.quantize(CENT)
