import datetime as dt
import unittest

from stock import Inventory, StockError

DAY = dt.date(2024, 5, 1)


class StockTest(unittest.TestCase):
    def setUp(self):
        self.inv = Inventory()
        self.inv.add_item("MUG", "Mug", reorder_point=3, reorder_quantity=20)

    def test_receive_and_sell_within_one_lot(self):
        self.inv.receive("MUG", 10, 100, DAY)
        self.assertEqual(self.inv.sell("MUG", 4, 250, DAY), 400)
        self.assertEqual(self.inv.on_hand("MUG"), 6)
        self.assertEqual(self.inv.valuation(), 600)

    def test_cannot_oversell(self):
        self.inv.receive("MUG", 2, 100, DAY)
        with self.assertRaises(StockError):
            self.inv.sell("MUG", 3, 250, DAY)

    def test_reorder_list(self):
        self.inv.receive("MUG", 3, 100, DAY)
        self.assertEqual(self.inv.reorder_list(), [("MUG", 20)])


if __name__ == "__main__":
    unittest.main()
