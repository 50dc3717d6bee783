"""The bank's public API, tying the pieces together."""

import calendar
from decimal import Decimal

from bank import transactions
from bank.accounts import Account
from bank.audit import AuditLog
from bank.customers import CustomerRegistry
from bank.errors import AccountClosed, UnknownAccount
from bank.fees import monthly_fee
from bank.interest import monthly_interest
from bank.ledger import Entry, Ledger
from bank.products import get_product
from bank.statements import build_statement


class Bank:
    def __init__(self):
        self.ledger = Ledger()
        self.customers = CustomerRegistry()
        self.audit = AuditLog()
        self._accounts = {}

    def open_account(self, customer_id, product="checking", currency="USD"):
        get_product(product)
        account = Account(f"ACC-{len(self._accounts) + 1}", customer_id, product, currency)
        self._accounts[account.id] = account
        self.customers.get_or_create(customer_id).accounts.append(account.id)
        self.audit.record("open", account.id, product)
        return account.id

    def account(self, account_id):
        try:
            account = self._accounts[account_id]
        except KeyError:
            raise UnknownAccount(account_id) from None
        if account.closed:
            raise AccountClosed(account_id)
        return account

    def balance(self, account_id):
        return self.ledger.balance(self.account(account_id).id)

    def deposit(self, account_id, amount, day):
        transactions.deposit(self.ledger, self.account(account_id), Decimal(amount), day)
        self.audit.record("deposit", account_id, str(amount))

    def withdraw(self, account_id, amount, day):
        account = self.account(account_id)
        limit = get_product(account.product).overdraft_limit
        transactions.withdraw(self.ledger, account, Decimal(amount), day, limit)
        self.audit.record("withdraw", account_id, str(amount))

    def transfer(self, source_id, target_id, amount, day, wire=False):
        source, target = self.account(source_id), self.account(target_id)
        limit = get_product(source.product).overdraft_limit
        result = transactions.transfer(self.ledger, source, target, Decimal(amount), day, limit, wire)
        self.audit.record("transfer", source_id, f"{amount} to {target_id}")
        return result

    def month_end(self, month):
        """Post fees and interest on the last day of `month` (YYYY-MM); return statements."""
        year, mon = map(int, month.split("-"))
        day = f"{month}-{calendar.monthrange(year, mon)[1]:02d}"
        statements = {}
        for account in self._accounts.values():
            if account.closed:
                continue
            product = get_product(account.product)
            fee = monthly_fee(product)
            if fee:
                self.ledger.post(Entry(account.id, -fee, "fee", day, "monthly fee"))
            interest = monthly_interest(self.ledger.balance(account.id), product)
            if interest:
                self.ledger.post(Entry(account.id, interest, "interest", day))
            statements[account.id] = build_statement(self.ledger, account.id, month)
        return statements
