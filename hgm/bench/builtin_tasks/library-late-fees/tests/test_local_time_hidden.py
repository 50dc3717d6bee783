import unittest
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from library.catalog import Book
from library.circulation import Circulation
from library.dates import local_date
from library.notifications import reminders
from library.reports import overdue


def at(offset_hours, *args):
    """POSIX timestamp of a local wall-clock time in a zone `offset_hours` from UTC."""
    return datetime(*args, tzinfo=timezone(timedelta(hours=offset_hours))).timestamp()


def library():
    c = Circulation()
    for branch in ("NYC", "LDN", "TYO"):
        c.catalog.add(Book("42", "The Hitchhiker's Guide"), branch, copies=3)
    c.members.join("ny", "Nia", "NYC")
    c.members.join("ty", "Taro", "TYO")
    c.members.join("ld", "Lou", "LDN")
    return c


class LocalDateTest(unittest.TestCase):
    def test_evening_west_of_utc(self):
        self.assertEqual(local_date(at(-5, 2024, 3, 10, 21, 15), -5), date(2024, 3, 10))

    def test_early_morning_east_of_utc(self):
        self.assertEqual(local_date(at(9, 2024, 3, 1, 7, 0), 9), date(2024, 3, 1))

    def test_utc(self):
        self.assertEqual(local_date(at(0, 2024, 12, 31, 23, 59), 0), date(2024, 12, 31))

    def test_same_instant_different_dates(self):
        instant = at(0, 2024, 6, 1, 20, 0)
        self.assertEqual(local_date(instant, 9), date(2024, 6, 2))
        self.assertEqual(local_date(instant, -5), date(2024, 6, 1))


class NewYorkTest(unittest.TestCase):
    def test_evening_return_on_due_date_is_not_fined(self):
        c = library()
        loan = c.checkout("ny", "42", "NYC", at(-5, 2024, 2, 25, 10, 0))
        self.assertEqual(loan.due_on, date(2024, 3, 10))
        self.assertEqual(c.return_book(loan.id, at(-5, 2024, 3, 10, 21, 15)), Decimal("0.00"))

    def test_evening_checkout_keeps_local_date(self):
        loan = library().checkout("ny", "42", "NYC", at(-5, 2024, 3, 1, 22, 30))
        self.assertEqual((loan.borrowed_on, loan.due_on), (date(2024, 3, 1), date(2024, 3, 15)))


class TokyoTest(unittest.TestCase):
    def test_morning_checkout_due_in_14_local_days(self):
        loan = library().checkout("ty", "42", "TYO", at(9, 2024, 3, 1, 7, 0))
        self.assertEqual((loan.borrowed_on, loan.due_on), (date(2024, 3, 1), date(2024, 3, 15)))

    def test_return_after_midnight_is_one_day_late(self):
        c = library()
        loan = c.checkout("ty", "42", "TYO", at(9, 2024, 3, 1, 12, 0))
        self.assertEqual(c.return_book(loan.id, at(9, 2024, 3, 16, 0, 30)), Decimal("0.25"))
        self.assertEqual(c.members.get("ty").balance_due, Decimal("0.25"))

    def test_reminder_sent_on_local_day_before_due(self):
        c = library()
        c.checkout("ty", "42", "TYO", at(9, 2024, 3, 1, 12, 0))
        self.assertEqual(len(reminders(c, at(9, 2024, 3, 14, 8, 0))), 1)
        self.assertEqual(reminders(c, at(9, 2024, 3, 13, 8, 0)), [])


class OverdueReportTest(unittest.TestCase):
    def test_report_uses_each_branch_local_date(self):
        c = library()
        ny = c.checkout("ny", "42", "NYC", at(-5, 2024, 3, 1, 12, 0))
        ty = c.checkout("ty", "42", "TYO", at(9, 2024, 3, 1, 12, 0))
        ld = c.checkout("ld", "42", "LDN", at(0, 2024, 3, 1, 12, 0))
        # 2024-03-16 01:00 UTC: Tokyo is at 10:00 on the 16th, New York at 20:00 on the 15th.
        self.assertEqual(overdue(c, at(0, 2024, 3, 16, 1, 0)), [(ty.id, "ty", 1), (ld.id, "ld", 1)])
        # Five hours later it is 01:00 on the 16th in New York too.
        self.assertEqual(
            overdue(c, at(0, 2024, 3, 16, 6, 0)),
            [(ny.id, "ny", 1), (ty.id, "ty", 1), (ld.id, "ld", 1)],
        )


if __name__ == "__main__":
    unittest.main()
