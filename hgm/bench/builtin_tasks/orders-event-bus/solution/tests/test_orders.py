import unittest

from shopflow.events import EventBus
from shopflow.inventory import Inventory, OutOfStock
from shopflow.loyalty import Loyalty
from shopflow.mailer import Outbox
from shopflow.orders import Order, cancel_order, place_order
from shopflow.wiring import connect


def shop(stock):
    inventory, outbox, loyalty = Inventory(stock), Outbox(), Loyalty()
    bus = EventBus()
    connect(bus, inventory, outbox, loyalty)
    return bus, inventory, outbox, loyalty


class OrdersTest(unittest.TestCase):
    def test_place_and_cancel(self):
        bus, inventory, outbox, loyalty = shop({"mug": 5})
        order = Order("A1", "ann@example.com", [("mug", 2, 1250)])
        place_order(order, bus)
        self.assertEqual(inventory.stock["mug"], 3)
        self.assertEqual(loyalty.points["ann@example.com"], 25)
        cancel_order(order, bus)
        self.assertEqual(inventory.stock["mug"], 5)
        self.assertEqual(order.history, ["placed", "cancelled"])

    def test_out_of_stock(self):
        bus, *_ = shop({"mug": 1})
        order = Order("A2", "bob@example.com", [("mug", 9, 100)])
        with self.assertRaises(OutOfStock):
            place_order(order, bus)


if __name__ == "__main__":
    unittest.main()
