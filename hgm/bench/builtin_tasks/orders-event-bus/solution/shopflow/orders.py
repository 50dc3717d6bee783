from dataclasses import dataclass, field


class OrderError(Exception):
    pass


@dataclass
class Order:
    number: str
    customer: str  # e-mail address
    lines: list  # [(sku, quantity, unit_price_cents), ...]
    status: str = "new"
    history: list = field(default_factory=list)

    @property
    def total(self):
        return sum(qty * price for _, qty, price in self.lines)

    def items(self):
        return [(sku, qty) for sku, qty, _ in self.lines]


def place_order(order, bus):
    """Place a new order and publish "order_placed" with the order.

    The order only becomes "placed" when every subscriber accepted it.
    """
    if order.status != "new":
        raise OrderError(f"order {order.number} is already {order.status}")
    if not order.lines or any(qty <= 0 for _, qty, _ in order.lines):
        raise OrderError(f"order {order.number} has no valid lines")
    bus.publish("order_placed", order)
    order.status = "placed"
    order.history.append("placed")


def cancel_order(order, bus):
    """Cancel a placed order and publish "order_cancelled" with the order."""
    if order.status != "placed":
        raise OrderError(f"order {order.number} is {order.status}, not placed")
    bus.publish("order_cancelled", order)
    order.status = "cancelled"
    order.history.append("cancelled")
