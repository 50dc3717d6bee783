"""Late fines."""

from decimal import Decimal

from library import policy
from library.dates import days_between


def days_late(due_on, returned_on):
    return max(0, days_between(due_on, returned_on))


def fine_for(due_on, returned_on):
    """The fine for returning on `returned_on` a book due on `due_on` (local dates)."""
    return min(policy.MAX_FINE, policy.DAILY_FINE * days_late(due_on, returned_on)).quantize(
        Decimal("0.01")
    )
