"""Lending library back end: branches, catalogue, members, loans, fines, reminders.

Entry point: `library.circulation.Circulation`.
"""
