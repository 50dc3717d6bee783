"""Sales tax."""

from decimal import Decimal

from shop.money import round_cents

DEFAULT_RATE = Decimal("0.08")


def tax_on(amount, rate=DEFAULT_RATE):
    return round_cents(Decimal(amount) * Decimal(rate))
