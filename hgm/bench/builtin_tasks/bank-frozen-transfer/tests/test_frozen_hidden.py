import unittest
from decimal import Decimal

from bank.accounts import Account
from bank.errors import AccountFrozen, BankError, InsufficientFunds, UnknownAccount
from bank.journal import Journal
from bank.teller import Teller
from bank.transfers import transfer


class FrozenAccountTest(unittest.TestCase):
    def setUp(self):
        self.teller = Teller(
            [Account("A-1", "Ann", "100.00"), Account("B-2", "Bob", "5.00"),
             Account("C-3", "Cy", "0.00", overdraft_limit="50.00")],
            Journal(),
        )
        self.teller.deposit("A-1", "10.00")
        self.teller.account("B-2").frozen = True

    def snapshot(self):
        balances = {n: a.balance for n, a in self.teller.accounts.items()}
        return balances, list(self.teller.journal.postings)

    def assert_refused(self, error, operation, *args):
        before = self.snapshot()
        with self.assertRaises(error):
            operation(*args)
        self.assertEqual(self.snapshot(), before)

    def test_deposit_into_frozen_account_refused(self):
        self.assert_refused(AccountFrozen, self.teller.deposit, "B-2", "20.00")

    def test_transfer_into_frozen_account_refused(self):
        self.assert_refused(AccountFrozen, transfer, self.teller, "A-1", "B-2", "40.00")

    def test_transfer_from_frozen_account_refused(self):
        self.assert_refused(AccountFrozen, transfer, self.teller, "B-2", "A-1", "1.00")

    def test_overdraft_transfer_into_frozen_refused(self):
        self.assert_refused(AccountFrozen, transfer, self.teller, "C-3", "B-2", "30.00")
        self.assertEqual(self.teller.account("C-3").balance, Decimal("0.00"))

    def test_other_refusals_change_nothing(self):
        self.assert_refused(InsufficientFunds, transfer, self.teller, "A-1", "C-3", "110.01")
        self.assert_refused(UnknownAccount, transfer, self.teller, "A-1", "Z-9", "1.00")
        self.assert_refused(BankError, transfer, self.teller, "A-1", "C-3", "-1.00")

    def test_unfrozen_account_works_again(self):
        self.teller.account("B-2").frozen = False
        transfer(self.teller, "A-1", "B-2", "40.00")
        self.assertEqual(self.teller.account("B-2").balance, Decimal("45.00"))
        self.assertEqual(self.teller.account("A-1").balance, Decimal("70.00"))
        memos = [p.memo for p in self.teller.journal.statement("B-2")]
        self.assertEqual(memos, ["transfer from A-1"])

    def test_successful_transfer_between_open_accounts(self):
        transfer(self.teller, "A-1", "C-3", "110.00", memo="rent")
        self.assertEqual(self.teller.account("A-1").balance, Decimal("0.00"))
        self.assertEqual(
            [(p.account, p.amount) for p in self.teller.journal.postings[-2:]],
            [("A-1", Decimal("-110.00")), ("C-3", Decimal("110.00"))],
        )


if __name__ == "__main__":
    unittest.main()
