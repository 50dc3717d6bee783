import datetime as dt
import re

_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{2}):?(\d{2})$")


def parse_offset(text):
    """Minutes east of UTC for '+05:30', '-0800' or 'UTC+01:00'; 'Z'/'UTC' is 0."""
    if text.strip().upper() in ("Z", "UTC"):
        return 0
    match = _OFFSET.match(text.strip())
    if not match:
        raise ValueError(f"bad UTC offset: {text!r}")
    sign, hours, minutes = match.groups()
    total = int(hours) * 60 + int(minutes)
    return -total if sign == "-" else total


def to_utc(moment):
    """An aware datetime converted to UTC."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; give an offset")
    return moment.astimezone(dt.timezone.utc)


def to_local(utc_moment, offset_minutes):
    """The wall-clock time (naive datetime) at ``offset_minutes`` east of UTC."""
    return utc_moment.replace(tzinfo=None) + dt.timedelta(minutes=offset_minutes)
