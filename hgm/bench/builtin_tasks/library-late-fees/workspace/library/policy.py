"""Lending rules, as published on the library's web site."""

from decimal import Decimal

LOAN_DAYS = 14  # a book is due 14 days after the (local) day it was borrowed
MAX_LOANS = 5
DAILY_FINE = Decimal("0.25")  # per day late, counted in the branch's local dates
MAX_FINE = Decimal("10.00")
REMINDER_DAYS_BEFORE = 1
