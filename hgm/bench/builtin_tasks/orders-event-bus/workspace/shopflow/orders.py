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


def place_order(order, inventory, mailer, loyalty):
    """Place a new order: reserve stock, confirm by e-mail, award loyalty points
    (one per whole euro)."""
    if order.status != "new":
        raise OrderError(f"order {order.number} is already {order.status}")
    if not order.lines or any(qty <= 0 for _, qty, _ in order.lines):
        raise OrderError(f"order {order.number} has no valid lines")
    inventory.reserve(order.items())
    mailer.send(order.customer, f"Order {order.number} confirmed",
                f"Total: {order.total / 100:.2f} EUR")
    loyalty.add(order.customer, order.total // 100)
    order.status = "placed"
    order.history.append("placed")


def cancel_order(order, inventory, mailer, loyalty):
    """Cancel a placed order and undo what placing it did."""
    if order.status != "placed":
        raise OrderError(f"order {order.number} is {order.status}, not placed")
    inventory.release(order.items())
    mailer.send(order.customer, f"Order {order.number} cancelled", "Your order was cancelled.")
    loyalty.remove(order.customer, order.total // 100)
    order.status = "cancelled"
    order.history.append("cancelled")
