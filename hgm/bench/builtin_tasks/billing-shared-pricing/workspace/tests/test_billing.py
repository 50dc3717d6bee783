import datetime as dt
import unittest
from decimal import Decimal

from billing import BillingError, Customer, Line, Product, format_money, invoice, quote

PEN = Product("PEN", "Pen", Decimal("1.99"))
BOOK = Product("BOOK", "Book", Decimal("12.50"), "reduced")


class BillingTest(unittest.TestCase):
    def test_format_money(self):
        self.assertEqual(format_money(Decimal("1234.5")), "1 234.50 EUR")

    def test_invoice(self):
        inv = invoice([Line(PEN, 10), Line(BOOK, 2)], Customer("Acme"), "2024-0001",
                      dt.date(2024, 5, 1))
        self.assertEqual(inv.net, Decimal("43.91"))
        self.assertEqual(inv.vat, Decimal("5.16"))
        self.assertIn("Total         49.07 EUR", inv.render())

    def test_quote_layout(self):
        text = quote([Line(PEN, 1)], Customer("Acme"), dt.date(2024, 6, 1))
        self.assertEqual(text.splitlines()[0], "Quote for Acme, valid until 2024-06-01")

    def test_errors(self):
        with self.assertRaises(BillingError):
            invoice([], Customer("Acme"), "x", dt.date(2024, 1, 1))


if __name__ == "__main__":
    unittest.main()
