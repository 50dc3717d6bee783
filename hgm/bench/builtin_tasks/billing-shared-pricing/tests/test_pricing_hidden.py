import dataclasses
import datetime as dt
import random
import re
import unittest
from decimal import Decimal

from billing import (BillingError, Customer, Line, PricedLine, Product, Totals, invoice,
                     price_lines, quote, summarize)

PEN = Product("PEN", "Pen", Decimal("1.99"))
BOOK = Product("BOOK", "Book", Decimal("12.50"), "reduced")
LAMP = Product("LAMP", "Desk lamp", Decimal("39.95"))
SEED = Product("SEED", "Seeds", Decimal("0.35"), "zero")
GOLD = Customer("Gold Ltd", tier="gold")
EU_B2B = Customer("Berlin GmbH", tier="silver", country="DE", vat_number="DE123")
DAY = dt.date(2024, 5, 1)


def quote_totals(text):
    last = text.splitlines()[-1]
    amounts = re.findall(r"(-?[\d ]+\.\d\d) EUR", last)
    return [Decimal(a.replace(" ", "")) for a in amounts]


class PriceLinesTest(unittest.TestCase):
    def test_priced_line_fields(self):
        [p] = price_lines([Line(LAMP, 60)], GOLD)
        self.assertEqual(p, PricedLine("LAMP", "Desk lamp", 60, Decimal("39.95"),
                                       Decimal("0.12"), Decimal("2109.36"), Decimal("421.87")))
        with self.assertRaises(dataclasses.FrozenInstanceError):
            p.net = Decimal("0")

    def test_reverse_charge_and_rates(self):
        priced = price_lines([Line(BOOK, 3), Line(SEED, 10)], EU_B2B)
        self.assertEqual([p.discount_rate for p in priced], [Decimal("0.03"), Decimal("0.08")])
        self.assertEqual([p.vat for p in priced], [Decimal("0"), Decimal("0")])

    def test_summarize(self):
        totals = summarize(price_lines([Line(PEN, 10), Line(BOOK, 2)], Customer("Acme")))
        self.assertEqual(totals, Totals(Decimal("43.91"), Decimal("5.16")))
        self.assertEqual(totals.gross, Decimal("49.07"))
        self.assertEqual(summarize([]), Totals(Decimal("0"), Decimal("0")))

    def test_checks_kept(self):
        with self.assertRaises(BillingError):
            price_lines([], GOLD)
        with self.assertRaises(BillingError):
            price_lines([Line(PEN, 0)], GOLD)
        with self.assertRaises(BillingError):
            price_lines([Line(PEN, 1)], Customer("X", tier="platinum"))


class SameNumbersTest(unittest.TestCase):
    def test_invoice_unchanged(self):
        inv = invoice([Line(LAMP, 60), Line(PEN, 12), Line(BOOK, 1)], GOLD, "2024-0007", DAY)
        self.assertEqual(inv.rows[0], ("LAMP", 60, Decimal("39.95"), Decimal("0.12"),
                                       Decimal("2109.36"), Decimal("421.87")))
        self.assertEqual((inv.net, inv.vat), (Decimal("2142.73"), Decimal("426.82")))
        self.assertIn("PEN        12 x     1.99  -10.0%       21.49  VAT     4.30", inv.render())
        self.assertIn("Total      2 569.55 EUR", inv.render())

    def test_quote_matches_invoice_with_discount_cap(self):
        lines = [Line(LAMP, 60)]
        text = quote(lines, GOLD, DAY)
        self.assertEqual(text.splitlines()[1], "  60 x Desk lamp: 2 109.36 EUR")
        inv = invoice(lines, GOLD, "n", DAY)
        self.assertEqual(quote_totals(text), [inv.net, inv.vat, inv.gross])

    def test_quote_matches_invoice_line_rounding(self):
        lines = [Line(SEED, 1), Line(PEN, 3), Line(Product("X", "Gadget", Decimal("0.125")), 1)] * 3
        inv = invoice(lines, Customer("Acme"), "n", DAY)
        self.assertEqual(quote_totals(quote(lines, Customer("Acme"), DAY)),
                         [inv.net, inv.vat, inv.gross])

    def test_random_carts(self):
        rng = random.Random(5)
        products = [PEN, BOOK, LAMP, SEED, Product("Y", "Odd", Decimal("3.333"), "reduced")]
        customers = [Customer("A"), GOLD, EU_B2B, Customer("FR B2B", "silver", "FR", "FR1")]
        for _ in range(200):
            lines = [Line(rng.choice(products), rng.choice([1, 3, 9, 10, 11, 49, 50, 77]))
                     for _ in range(rng.randint(1, 5))]
            customer = rng.choice(customers)
            inv = invoice(lines, customer, "n", DAY)
            self.assertEqual(quote_totals(quote(lines, customer, DAY)),
                             [inv.net, inv.vat, inv.gross])
            self.assertEqual(summarize(price_lines(lines, customer)), Totals(inv.net, inv.vat))


if __name__ == "__main__":
    unittest.main()
