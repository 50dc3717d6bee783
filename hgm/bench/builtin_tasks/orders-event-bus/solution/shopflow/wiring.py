"""The shop's standard reactions to order events."""


def connect(bus, inventory, mailer, loyalty):
    """Subscribe stock, e-mail and loyalty handling to ``bus``.

    Stock comes first: when it refuses an order, nothing else happens.
    """

    def reserve(order):
        inventory.reserve(order.items())

    def confirm(order):
        mailer.send(order.customer, f"Order {order.number} confirmed",
                    f"Total: {order.total / 100:.2f} EUR")

    def award(order):
        loyalty.add(order.customer, order.total // 100)

    def release(order):
        inventory.release(order.items())

    def notify_cancel(order):
        mailer.send(order.customer, f"Order {order.number} cancelled",
                    "Your order was cancelled.")

    def revoke(order):
        loyalty.remove(order.customer, order.total // 100)

    for handler in (reserve, confirm, award):
        bus.subscribe("order_placed", handler)
    for handler in (release, notify_cancel, revoke):
        bus.subscribe("order_cancelled", handler)
