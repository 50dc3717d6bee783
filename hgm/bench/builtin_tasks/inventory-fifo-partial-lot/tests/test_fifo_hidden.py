import datetime as dt
import unittest

from stock import Inventory, Lot, StockError

D1, D2, D3, D4 = (dt.date(2024, 5, d) for d in (1, 2, 3, 4))


class FifoAcrossLotsTest(unittest.TestCase):
    def setUp(self):
        self.inv = Inventory()
        self.inv.add_item("MUG", "Mug", reorder_point=5, reorder_quantity=24)
        self.inv.receive("MUG", 10, 100, D1)
        self.inv.receive("MUG", 10, 120, D2)

    def test_sale_spanning_two_lots(self):
        cost = self.inv.sell("MUG", 15, 300, D3)
        self.assertEqual(cost, 10 * 100 + 5 * 120)
        self.assertEqual(self.inv.on_hand("MUG"), 5)
        self.assertEqual(self.inv.lots("MUG"), [Lot(D2, 5, 120)])
        self.assertEqual(self.inv.valuation("MUG"), 600)

    def test_next_sale_after_spanning_sale(self):
        self.inv.sell("MUG", 15, 300, D3)
        self.assertEqual(self.inv.sell("MUG", 3, 300, D4), 360)
        self.assertEqual(self.inv.on_hand("MUG"), 2)
        with self.assertRaises(StockError):
            self.inv.sell("MUG", 3, 300, D4)

    def test_sale_spanning_three_lots(self):
        self.inv.receive("MUG", 4, 150, D2)
        self.inv.sell("MUG", 2, 300, D3)
        cost = self.inv.sell("MUG", 20, 300, D3)
        self.assertEqual(cost, 8 * 100 + 10 * 120 + 2 * 150)
        self.assertEqual(self.inv.lots("MUG"), [Lot(D2, 2, 150)])

    def test_write_off_spanning_lots(self):
        self.assertEqual(self.inv.write_off("MUG", 12, D3), 1000 + 240)
        self.assertEqual(self.inv.on_hand("MUG"), 8)
        self.assertEqual(self.inv.valuation(), 960)

    def test_reports_follow_real_stock(self):
        self.inv.sell("MUG", 14, 300, D3)
        self.assertEqual(self.inv.reorder_list(), [])
        self.inv.sell("MUG", 3, 300, D4)
        self.assertEqual(self.inv.reorder_list(), [("MUG", 24)])
        margin = self.inv.gross_margin(D1, D4)
        self.assertEqual(margin, {"revenue": 5100, "cogs": 1000 + 7 * 120, "margin": 5100 - 1840})
        self.assertIn("MUG        Mug                         3       3.60", self.inv.stock_report())

    def test_exact_lot_boundary(self):
        self.inv.sell("MUG", 10, 300, D3)
        self.assertEqual(self.inv.lots("MUG"), [Lot(D2, 10, 120)])
        self.inv.sell("MUG", 10, 300, D3)
        self.assertEqual(self.inv.lots("MUG"), [])
        self.assertEqual(self.inv.on_hand("MUG"), 0)


if __name__ == "__main__":
    unittest.main()
