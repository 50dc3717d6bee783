import unittest

import reports
from reports import Column, format_refund_report, format_sales_report, format_table

STOCK_COLUMNS = [Column("SKU", "sku", 6), Column("Item", "name", 12), Column("Qty", "qty", 5, numeric=True)]
STOCK = [
    {"sku": "TEA-001-LONG", "name": "Green tea 500g tin", "qty": 3},
    {"sku": "CUP", "name": "Cup", "qty": 12.5},
]


class FormatTableTest(unittest.TestCase):
    def test_new_table_with_total(self):
        self.assertEqual(
            format_table("STOCK", STOCK_COLUMNS, STOCK, with_total=True),
            "STOCK\n"
            "=====\n"
            "SKU    Item           Qty\n"
            "-------------------------\n"
            "TEA-00 Green tea 50  3.00\n"
            "CUP    Cup          12.50\n"
            "-------------------------\n"
            "TOTAL               15.50",
        )

    def test_without_total_ends_after_rows(self):
        self.assertEqual(
            format_table("Stock list", STOCK_COLUMNS[:2], STOCK),
            "Stock list\n"
            "==========\n"
            "SKU    Item        \n"
            "-------------------\n"
            "TEA-00 Green tea 50\n"
            "CUP    Cup         ",
        )

    def test_total_needs_numeric_last_column(self):
        with self.assertRaises(ValueError):
            format_table("X", STOCK_COLUMNS[:2], STOCK, with_total=True)

    def test_numeric_column_in_the_middle(self):
        cols = [Column("N", "n", 6, numeric=True), Column("Who", "who", 4)]
        self.assertEqual(
            format_table("T", cols, [{"n": 1.005, "who": "alexander"}]),
            "T\n=\n     N Who \n-----------\n  1.00 alex",
        )


class DelegationTest(unittest.TestCase):
    def setUp(self):
        self.calls = []
        self.original = reports.format_table

        def spy(*args, **kwargs):
            self.calls.append((args, kwargs))
            return self.original(*args, **kwargs)

        reports.format_table = spy

    def tearDown(self):
        reports.format_table = self.original

    def test_sales_report_uses_format_table(self):
        rows = [{"date": "2024-01-01", "customer": "Zoe", "amount": 2}]
        text = format_sales_report(rows)
        self.assertEqual(len(self.calls), 1)
        self.assertTrue(text.endswith("TOTAL                                 2.00"))

    def test_refund_report_uses_format_table(self):
        rows = [{"date": "2024-01-01", "order": "B-1", "reason": "Wrong size", "amount": 3.5}]
        text = format_refund_report(rows)
        self.assertEqual(len(self.calls), 1)
        self.assertIn("2024-01-01 B-1      Wrong size                     3.50", text)


if __name__ == "__main__":
    unittest.main()
