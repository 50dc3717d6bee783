class BankError(Exception):
    """Base class of every refused banking operation."""


class InsufficientFunds(BankError):
    pass


class AccountFrozen(BankError):
    pass


class UnknownAccount(BankError):
    pass
