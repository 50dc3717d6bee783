"""Account products and their terms."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    name: str
    monthly_interest_rate: Decimal
    monthly_fee: Decimal
    overdraft_limit: Decimal


PRODUCTS = {
    "checking": Product("checking", Decimal("0"), Decimal("2.50"), Decimal("100.00")),
    "savings": Product("savings", Decimal("0.01"), Decimal("0"), Decimal("0")),
    "premium": Product("premium", Decimal("0.0125"), Decimal("0"), Decimal("500.00")),
}


def get_product(name):
    try:
        return PRODUCTS[name]
    except KeyError:
        raise ValueError(f"unknown product {name!r}") from None
