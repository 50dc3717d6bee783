"""Rounding and formatting of cent amounts."""

from decimal import ROUND_HALF_UP, Decimal


def round_cents(value):
    """Round a Decimal amount of cents to a whole cent, halves away from zero."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fmt(cents):
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}${cents // 100}.{cents % 100:02d}"
