import unittest
from decimal import Decimal

from bank.errors import InsufficientFunds
from bank.service import Bank


class BankTest(unittest.TestCase):
    def test_deposit_and_withdraw(self):
        bank = Bank()
        acc = bank.open_account("c1")
        bank.deposit(acc, "100.00", "2024-03-01")
        bank.withdraw(acc, "30.00", "2024-03-02")
        self.assertEqual(bank.balance(acc), Decimal("70.00"))

    def test_overdraft_limit(self):
        bank = Bank()
        acc = bank.open_account("c1", "savings")
        with self.assertRaises(InsufficientFunds):
            bank.withdraw(acc, "1.00", "2024-03-02")

    def test_interest_on_round_balance(self):
        bank = Bank()
        acc = bank.open_account("c1", "savings")
        bank.deposit(acc, "1000.00", "2024-03-01")
        statement = bank.month_end("2024-03")[acc]
        self.assertEqual(statement.total("interest"), Decimal("10.00"))
        self.assertEqual(statement.closing, Decimal("1010.00"))


if __name__ == "__main__":
    unittest.main()
