class BankError(Exception):
    """Base class of the bank's errors."""


class UnknownAccount(BankError):
    pass


class AccountClosed(BankError):
    pass


class InsufficientFunds(BankError):
    pass


class UnsupportedCurrency(BankError):
    pass
