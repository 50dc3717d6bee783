"""Cron expressions: parse the classic five-field syntax and compute upcoming run times.

    ┌───────────── minute (0-59)
    │ ┌─────────── hour (0-23)
    │ │ ┌───────── day of month (1-31)
    │ │ │ ┌─────── month (1-12 or JAN-DEC)
    │ │ │ │ ┌───── day of week (0-6 or SUN-SAT; 7 is also Sunday)
    * * * * *

Each field is a comma-separated list of items; an item is ``*``, a value, or a range
``a-b``, each optionally followed by a step ``/n``. Shortcuts such as ``@daily`` are
expanded first.

The two day fields follow the historic cron rule: when both the day of month and the
day of week are restricted (neither is ``*``), a day matches if *either* field matches;
when only one of them is restricted, that one alone decides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN",
               "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

SHORTCUTS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class CronError(ValueError):
    """A cron expression could not be parsed."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    low: int
    high: int
    names: tuple = ()
    name_base: int = 0


FIELDS = (
    FieldSpec("minute", 0, 59),
    FieldSpec("hour", 0, 23),
    FieldSpec("day of month", 1, 31),
    FieldSpec("month", 1, 12, tuple(MONTH_NAMES), 1),
    FieldSpec("day of week", 0, 7, tuple(DAY_NAMES), 0),
)


def _value(text: str, spec: FieldSpec) -> int:
    upper = text.upper()
    if upper in spec.names:
        return spec.names.index(upper) + spec.name_base
    if not text.isdigit():
        raise CronError(f"{spec.name}: {text!r} is not a number")
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise CronError(f"{spec.name}: {value} is outside {spec.low}-{spec.high}")
    return value


def parse_field(text: str, spec: FieldSpec) -> frozenset:
    """The set of values one field allows."""
    values = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{spec.name}: empty list item in {text!r}")
        body, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{spec.name}: bad step {step_text!r}")
            step = int(step_text)
        if body == "*":
            start, end = spec.low, spec.high
        elif "-" in body:
            first, _, last = body.partition("-")
            start, end = _value(first, spec), _value(last, spec)
            if start > end:
                raise CronError(f"{spec.name}: range {body!r} is backwards")
        else:
            start = _value(body, spec)
            end = spec.high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronExpr:
    """A parsed cron expression; build one with :func:`parse`."""

    source: str
    minutes: frozenset
    hours: frozenset
    days_of_month: frozenset
    months: frozenset
    days_of_week: frozenset
    dom_restricted: bool
    dow_restricted: bool

    def day_matches(self, day: dt.date) -> bool:
        """Whether the expression allows any time on ``day`` (months included)."""
        if day.month not in self.months:
            return False
        in_dom = day.day in self.days_of_month
        # date.weekday() counts from Monday = 0; cron counts from Sunday = 0.
        in_dow = (day.weekday() + 1) % 7 in self.days_of_week
        return in_dom and in_dow

    def matches(self, when: dt.datetime) -> bool:
        """Whether the job runs at minute ``when`` (seconds are ignored)."""
        return (
            when.minute in self.minutes
            and when.hour in self.hours
            and self.day_matches(when.date())
        )

    def next_after(self, when: dt.datetime, limit_years: int = 5) -> dt.datetime:
        """The first run time strictly after ``when``.

        Walks forward day by day, then hour by hour, then minute by minute, so that
        even rare schedules (29 February) are found quickly. Raises CronError when no
        run time exists within ``limit_years`` (e.g. ``0 0 31 2 *``).
        """
        current = when.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        end = when + dt.timedelta(days=366 * limit_years)
        while current <= end:
            if not self.day_matches(current.date()):
                current = dt.datetime.combine(
                    current.date() + dt.timedelta(days=1), dt.time(), current.tzinfo
                )
                continue
            if current.hour not in self.hours:
                current = current.replace(minute=0) + dt.timedelta(hours=1)
                continue
            if current.minute not in self.minutes:
                current += dt.timedelta(minutes=1)
                continue
            return current
        raise CronError(f"{self.source!r} never runs within {limit_years} years")

    def upcoming(self, when: dt.datetime, count: int) -> list:
        """The next ``count`` run times after ``when``."""
        times = []
        for _ in range(count):
            when = self.next_after(when)
            times.append(when)
        return times


def parse(text: str) -> CronExpr:
    """Parse a cron expression (five fields or an ``@`` shortcut)."""
    source = text.strip()
    expanded = SHORTCUTS.get(source.lower(), source)
    parts = expanded.split()
    if len(parts) != 5:
        raise CronError(f"expected 5 fields, got {len(parts)}: {text!r}")
    values = [parse_field(part, spec) for part, spec in zip(parts, FIELDS)]
    dow = values[4]
    if 7 in dow:
        dow = (dow - {7}) | {0}
    return CronExpr(
        source=source,
        minutes=values[0],
        hours=values[1],
        days_of_month=values[2],
        months=values[3],
        days_of_week=dow,
        dom_restricted=not parts[2].startswith("*"),
        dow_restricted=not parts[4].startswith("*"),
    )


def runs_between(text: str, start: dt.datetime, end: dt.datetime) -> list:
    """Every run time of expression ``text`` in the half-open interval (start, end]."""
    expr = parse(text)
    times = []
    when = start
    while True:
        try:
            when = expr.next_after(when)
        except CronError:
            break
        if when > end:
            break
        times.append(when)
    return times
