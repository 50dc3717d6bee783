from decimal import Decimal

from bank.errors import BankError


def transfer(teller, source, target, amount, memo="transfer"):
    """Move ``amount`` from account ``source`` to account ``target``.

    Either the whole transfer happens (both balances change and both postings are in
    the journal) or, when it is refused, nothing changes at all.
    """
    amount = Decimal(amount)
    if amount <= 0:
        raise BankError("transfers must be positive")
    if source == target:
        raise BankError("cannot transfer to the same account")
    src = teller.account(source)
    dst = teller.account(target)
    src.debit(amount)
    teller.journal.post(source, -amount, f"{memo} to {target}")
    dst.credit(amount)
    teller.journal.post(target, amount, f"{memo} from {source}")
