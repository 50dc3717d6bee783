"""Calendar helpers. Times are POSIX timestamps (seconds); dates are datetime.date."""

from datetime import date, datetime, timedelta, timezone


def local_date(timestamp, utc_offset_hours):
    """The calendar date at `timestamp` in a zone `utc_offset_hours` from UTC."""
    shifted = timestamp + utc_offset_hours * 3600
    return datetime.fromtimestamp(shifted, tz=timezone.utc).date()


def add_days(day, n):
    return day + timedelta(days=n)


def days_between(start, end):
    """Whole days from `start` to `end` (negative if `end` is earlier)."""
    return (end - start).days


def parse_day(text):
    return date.fromisoformat(text)
