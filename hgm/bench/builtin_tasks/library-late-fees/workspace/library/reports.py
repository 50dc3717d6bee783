"""Reports for branch staff."""

from decimal import Decimal

from library.branches import get_branch
from library.dates import local_date
from library.fines import days_late


def overdue(circulation, timestamp):
    """(loan id, member id, days late) for open loans past due, most overdue first."""
    rows = []
    for loan in circulation.loans.values():
        if not loan.open:
            continue
        today = local_date(timestamp, get_branch(loan.branch).utc_offset_hours)
        late = days_late(loan.due_on, today)
        if late:
            rows.append((loan.id, loan.member_id, late))
    return sorted(rows, key=lambda row: (-row[2], row[0]))


def fines_collected(circulation):
    return sum((loan.fine for loan in circulation.loans.values()), start=Decimal("0.00"))
