import unittest
from decimal import Decimal

from order_import import ImportFailed, import_orders, to_csv

CSV = """order_id,customer,date,sku,quantity,unit_price
A-1001,Ann@Example.com,2024-05-01,MUG-01,2,9.50
A-1001,ann@example.com,01/05/2024,TEA-07,1,"4,25"
A-1002,bob@example.org,2024-05-02,MUG-01,x,9.50
"""


class ImportTest(unittest.TestCase):
    def test_import(self):
        report = import_orders(CSV)
        self.assertEqual(len(report.orders), 1)
        self.assertEqual(report.orders[0].total, Decimal("23.25"))
        self.assertEqual(report.errors, ["line 4: bad quantity 'x'"])

    def test_missing_columns(self):
        with self.assertRaises(ImportFailed):
            import_orders("order_id,sku\nA-1001,MUG-01\n")

    def test_round_trip(self):
        orders = import_orders(CSV).orders
        self.assertEqual(import_orders(to_csv(orders)).orders, orders)


if __name__ == "__main__":
    unittest.main()
