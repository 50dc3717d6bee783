"""Products and their prices (integer cents)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: int


class Catalog:
    def __init__(self, products=()):
        self._products = {p.sku: p for p in products}

    def add(self, product):
        self._products[product.sku] = product

    def get(self, sku):
        try:
            return self._products[sku]
        except KeyError:
            raise KeyError(f"unknown product {sku!r}") from None

    def price(self, sku):
        return self.get(sku).price
