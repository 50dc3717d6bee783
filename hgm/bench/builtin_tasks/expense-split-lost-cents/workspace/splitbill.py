"""Shared expenses for a group of people: who paid, who owes, and how to settle up.

All amounts are integer cents, so that no rounding error creeps into the balances.
Use :func:`parse_amount` and :func:`format_amount` at the edges.

Splitting rules (``Group.add_expense``):

- ``equal``: everyone listed pays the same part;
- ``shares``: parts proportional to integer weights (``{"ann": 2, "bob": 1}``);
- ``percent``: parts proportional to percentages that must add up to 100;
- ``exact``: the parts are given in cents and must add up to the amount.

When an amount does not divide evenly, every participant first gets the whole cents
of their exact part, and the cents left over go one each to the participants with the
largest fractional parts (ties in the order the participants are listed). The parts
therefore always add up to the amount, so the group's balances always sum to zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

SPLIT_KINDS = ("equal", "shares", "percent", "exact")


class SplitError(ValueError):
    """An expense could not be recorded as given."""


def parse_amount(text: str) -> int:
    """Parse ``"12.5"``, ``"12.50"`` or ``"-3"`` into cents."""
    text = text.strip().replace(",", "")
    negative = text.startswith("-")
    if negative:
        text = text[1:]
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 2:
        raise SplitError(f"not an amount: {text!r}")
    cents = int(whole) * 100 + int(frac.ljust(2, "0") or 0)
    return -cents if negative else cents


def format_amount(cents: int) -> str:
    """Format cents as ``"12.50"`` (with a leading ``-`` for negative amounts)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole}.{rest:02d}"


@dataclass(frozen=True)
class Expense:
    description: str
    payer: str
    amount: int
    parts: dict


@dataclass(frozen=True)
class Transfer:
    debtor: str
    creditor: str
    amount: int

    def __str__(self) -> str:
        return f"{self.debtor} pays {self.creditor} {format_amount(self.amount)}"


@dataclass
class Group:
    """The members of a group and the expenses they shared."""

    members: list = field(default_factory=list)
    expenses: list = field(default_factory=list)

    def add_member(self, name: str) -> None:
        if name in self.members:
            raise SplitError(f"{name} is already a member")
        self.members.append(name)

    def _check_members(self, names) -> None:
        unknown = [n for n in names if n not in self.members]
        if unknown:
            raise SplitError(f"not members of the group: {', '.join(unknown)}")

    def add_expense(self, description, payer, amount, participants=None,
                    kind="equal", weights=None) -> Expense:
        """Record that ``payer`` paid ``amount`` cents for ``participants``.

        ``participants`` defaults to every member. ``weights`` maps participants to
        shares, percentages or exact cents, depending on ``kind``.
        """
        if kind not in SPLIT_KINDS:
            raise SplitError(f"unknown split kind {kind!r}; use one of {SPLIT_KINDS}")
        if amount <= 0:
            raise SplitError("an expense must be a positive amount")
        if participants is None:
            participants = list(weights) if weights else list(self.members)
        self._check_members([payer, *participants])
        parts = split_amount(amount, participants, kind, weights)
        expense = Expense(description, payer, amount, parts)
        self.expenses.append(expense)
        return expense

    def balances(self) -> dict:
        """Each member's balance in cents: positive when the group owes them money."""
        totals = {name: 0 for name in self.members}
        for expense in self.expenses:
            totals[expense.payer] += expense.amount
            for name, part in expense.parts.items():
                totals[name] -= part
        return totals

    def settle_up(self) -> list:
        """Transfers that bring every balance to zero, largest debts paid first."""
        balances = self.balances()
        debtors = sorted((b, n) for n, b in balances.items() if b < 0)
        creditors = sorted(((-b, n) for n, b in balances.items() if b > 0))
        transfers = []
        while debtors and creditors:
            debt, debtor = debtors.pop(0)
            credit, creditor = creditors.pop(0)
            amount = min(-debt, -credit)
            transfers.append(Transfer(debtor, creditor, amount))
            if -debt > amount:
                debtors.insert(0, (debt + amount, debtor))
            if -credit > amount:
                creditors.insert(0, (credit + amount, creditor))
        return transfers

    def statement(self, name: str) -> list:
        """Lines describing what ``name`` paid and owes, one per expense involved."""
        lines = []
        for expense in self.expenses:
            paid = expense.amount if expense.payer == name else 0
            owed = expense.parts.get(name, 0)
            if paid or owed:
                lines.append(
                    f"{expense.description}: paid {format_amount(paid)}, "
                    f"share {format_amount(owed)}"
                )
        return lines


def split_amount(amount: int, participants, kind="equal", weights=None) -> dict:
    """Split ``amount`` cents between ``participants`` according to ``kind``."""
    if not participants:
        raise SplitError("an expense needs at least one participant")
    if len(set(participants)) != len(participants):
        raise SplitError("a participant is listed twice")
    weights = weights or {}
    missing = [p for p in participants if kind != "equal" and p not in weights]
    if missing:
        raise SplitError(f"no {kind} given for: {', '.join(missing)}")
    if kind == "equal":
        return _allocate(amount, {p: 1 for p in participants})
    if kind == "shares":
        if any(weights[p] < 0 for p in participants) or not any(weights[p] for p in participants):
            raise SplitError("shares must be non-negative and not all zero")
        return _allocate(amount, {p: weights[p] for p in participants})
    if kind == "percent":
        if sum(Fraction(str(weights[p])) for p in participants) != 100:
            raise SplitError("percentages must add up to 100")
        return _allocate(amount, {p: Fraction(str(weights[p])) for p in participants})
    parts = {p: weights[p] for p in participants}
    if sum(parts.values()) != amount:
        raise SplitError(
            f"exact parts add up to {format_amount(sum(parts.values()))}, "
            f"not {format_amount(amount)}"
        )
    return parts


def _allocate(amount: int, weights: dict) -> dict:
    """Parts of ``amount`` proportional to ``weights`` (see the module docstring)."""
    total = sum(weights.values())
    parts = {}
    for name, weight in weights.items():
        exact = Fraction(amount) * weight / total
        parts[name] = int(exact)
    return parts
