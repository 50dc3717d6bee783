"""Customers of the bank."""

from dataclasses import dataclass, field


@dataclass
class Customer:
    id: str
    name: str
    accounts: list = field(default_factory=list)


class CustomerRegistry:
    def __init__(self):
        self._customers = {}

    def get_or_create(self, customer_id, name=""):
        if customer_id not in self._customers:
            self._customers[customer_id] = Customer(customer_id, name or customer_id)
        return self._customers[customer_id]

    def get(self, customer_id):
        return self._customers[customer_id]
