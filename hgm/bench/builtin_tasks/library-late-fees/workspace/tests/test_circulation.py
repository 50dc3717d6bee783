import unittest
from datetime import date, datetime, timezone
from decimal import Decimal

from library.catalog import Book
from library.circulation import Circulation
from library.errors import NotAvailable


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc).timestamp()


class CirculationTest(unittest.TestCase):
    def setUp(self):
        self.c = Circulation()
        self.c.catalog.add(Book("111", "Dune"), "LDN", copies=1)
        self.c.members.join("m1", "Mo", "LDN")

    def test_london_loan_due_in_14_days(self):
        loan = self.c.checkout("m1", "111", "LDN", utc(2024, 3, 1, 12, 0))
        self.assertEqual((loan.borrowed_on, loan.due_on), (date(2024, 3, 1), date(2024, 3, 15)))

    def test_fine_for_three_days(self):
        loan = self.c.checkout("m1", "111", "LDN", utc(2024, 3, 1, 12, 0))
        self.assertEqual(self.c.return_book(loan.id, utc(2024, 3, 18, 12, 0)), Decimal("0.75"))

    def test_no_copy_left(self):
        self.c.checkout("m1", "111", "LDN", utc(2024, 3, 1, 12, 0))
        with self.assertRaises(NotAvailable):
            self.c.checkout("m1", "111", "LDN", utc(2024, 3, 1, 13, 0))


if __name__ == "__main__":
    unittest.main()
