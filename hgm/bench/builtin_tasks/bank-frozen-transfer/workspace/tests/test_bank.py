import unittest
from decimal import Decimal

from bank.accounts import Account
from bank.errors import InsufficientFunds
from bank.journal import Journal
from bank.teller import Teller
from bank.transfers import transfer


class BankTest(unittest.TestCase):
    def setUp(self):
        self.teller = Teller([Account("A-1", "Ann", "100.00"), Account("B-2", "Bob")], Journal())

    def test_transfer(self):
        transfer(self.teller, "A-1", "B-2", "30.00")
        self.assertEqual(self.teller.account("A-1").balance, Decimal("70.00"))
        self.assertEqual(self.teller.account("B-2").balance, Decimal("30.00"))
        self.assertEqual(len(self.teller.journal.postings), 2)

    def test_insufficient_funds(self):
        with self.assertRaises(InsufficientFunds):
            transfer(self.teller, "B-2", "A-1", "1.00")


if __name__ == "__main__":
    unittest.main()
