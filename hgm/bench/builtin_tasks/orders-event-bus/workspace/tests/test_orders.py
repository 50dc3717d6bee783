import unittest

from shopflow.inventory import Inventory, OutOfStock
from shopflow.loyalty import Loyalty
from shopflow.mailer import Outbox
from shopflow.orders import Order, cancel_order, place_order


class OrdersTest(unittest.TestCase):
    def test_place_and_cancel(self):
        inventory, outbox, loyalty = Inventory({"mug": 5}), Outbox(), Loyalty()
        order = Order("A1", "ann@example.com", [("mug", 2, 1250)])
        place_order(order, inventory, outbox, loyalty)
        self.assertEqual(inventory.stock["mug"], 3)
        self.assertEqual(loyalty.points["ann@example.com"], 25)
        cancel_order(order, inventory, outbox, loyalty)
        self.assertEqual(inventory.stock["mug"], 5)
        self.assertEqual(order.history, ["placed", "cancelled"])

    def test_out_of_stock(self):
        order = Order("A2", "bob@example.com", [("mug", 9, 100)])
        with self.assertRaises(OutOfStock):
            place_order(order, Inventory({"mug": 1}), Outbox(), Loyalty())


if __name__ == "__main__":
    unittest.main()
