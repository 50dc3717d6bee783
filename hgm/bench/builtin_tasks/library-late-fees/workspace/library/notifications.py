"""Reminder messages for books due soon."""

from library import policy
from library.branches import get_branch
from library.dates import add_days, local_date


def reminders(circulation, timestamp):
    """Messages for open loans due `REMINDER_DAYS_BEFORE` days after today (local date)."""
    messages = []
    for loan in circulation.loans.values():
        if not loan.open:
            continue
        today = local_date(timestamp, get_branch(loan.branch).utc_offset_hours)
        if loan.due_on == add_days(today, policy.REMINDER_DAYS_BEFORE):
            title = circulation.catalog.book(loan.isbn).title
            messages.append((loan.member_id, f"'{title}' is due tomorrow ({loan.due_on})"))
    return messages
