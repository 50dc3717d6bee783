"""Backup snapshots on disk: naming, listing, reporting and rotation.

Snapshots are files called ``<prefix>-YYYYMMDD-HHMMSS.tar.gz`` (UTC), e.g.
``db-20240501-031500.tar.gz``. Other files in the folder are left alone.

Rotation keeps, separately for every prefix:

- every snapshot taken less than 24 hours before now;
- the newest snapshot of each of the ``keep_daily`` most recent days that have one;
- the newest snapshot of each of the ``keep_weekly`` most recent ISO weeks that have one;
- the newest snapshot of each of the ``keep_monthly`` most recent months that have one;

and deletes the rest.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

_NAME = re.compile(r"^(?P<prefix>[a-z0-9][a-z0-9_.]*)-(?P<stamp>\d{8}-\d{6})\.tar\.gz$")
_STAMP = "%Y%m%d-%H%M%S"
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


@dataclass(frozen=True)
class Snapshot:
    name: str
    prefix: str
    taken: dt.datetime  # naive, UTC
    size: int = 0


def parse_name(name: str, size: int = 0):
    """The snapshot a file name describes, or None for other files."""
    match = _NAME.match(name)
    if not match:
        return None
    try:
        taken = dt.datetime.strptime(match["stamp"], _STAMP)
    except ValueError:
        return None
    return Snapshot(name, match["prefix"], taken, size)


def snapshot_name(prefix: str, taken: dt.datetime) -> str:
    """The file name for a snapshot of ``prefix`` taken at ``taken`` (UTC)."""
    if not re.match(r"^[a-z0-9][a-z0-9_.]*$", prefix):
        raise ValueError(f"bad snapshot prefix {prefix!r}")
    return f"{prefix}-{taken.strftime(_STAMP)}.tar.gz"


def human_size(size: int) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def list_snapshots(directory: str) -> list:
    """The snapshots in ``directory``, oldest first."""
    found = []
    for entry in os.scandir(directory):
        if entry.is_file():
            snapshot = parse_name(entry.name, entry.stat().st_size)
            if snapshot:
                found.append(snapshot)
    return sorted(found, key=lambda s: (s.taken, s.name))


def by_prefix(snapshots) -> dict:
    groups: dict = {}
    for snapshot in snapshots:
        groups.setdefault(snapshot.prefix, []).append(snapshot)
    return groups


def report(directory: str) -> str:
    """A summary per prefix: how many snapshots, total size, oldest and newest."""
    lines = []
    for prefix, group in sorted(by_prefix(list_snapshots(directory)).items()):
        total = sum(s.size for s in group)
        lines.append(
            f"{prefix}: {len(group)} snapshots, {human_size(total)}, "
            f"{group[0].taken:%Y-%m-%d} .. {group[-1].taken:%Y-%m-%d}"
        )
    return "\n".join(lines)


def latest(directory: str, prefix: str):
    """The newest snapshot of ``prefix`` in ``directory``, or None."""
    group = by_prefix(list_snapshots(directory)).get(prefix, [])
    return group[-1] if group else None


def missing_days(snapshots, start: dt.date, end: dt.date) -> list:
    """The days from ``start`` to ``end`` (inclusive) without any snapshot, for the
    monitoring check that pages someone when a nightly backup did not run."""
    taken = {s.taken.date() for s in snapshots}
    days = []
    day = start
    while day <= end:
        if day not in taken:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def rotate(directory: str, keep_daily: int = 7, keep_weekly: int = 4,
           keep_monthly: int = 12, dry_run: bool = False) -> list:
    """Delete the snapshots in ``directory`` that the rotation rules do not keep.

    Returns the names of the deleted snapshots (or, with ``dry_run``, of those that
    would be deleted), oldest first.
    """
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    deleted = []
    for _, group in sorted(by_prefix(list_snapshots(directory)).items()):
        keep = set()
        for snapshot in group:
            if now - snapshot.taken < dt.timedelta(hours=24):
                keep.add(snapshot.name)
        newest_first = sorted(group, key=lambda s: (s.taken, s.name), reverse=True)
        days, weeks, months = [], [], []
        for snapshot in newest_first:
            day = snapshot.taken.date()
            week = snapshot.taken.isocalendar()[:2]
            month = (snapshot.taken.year, snapshot.taken.month)
            if day not in days and len(days) < keep_daily:
                days.append(day)
                keep.add(snapshot.name)
            if week not in weeks and len(weeks) < keep_weekly:
                weeks.append(week)
                keep.add(snapshot.name)
            if month not in months and len(months) < keep_monthly:
                months.append(month)
                keep.add(snapshot.name)
        for snapshot in group:
            if snapshot.name in keep:
                continue
            if not dry_run:
                os.remove(os.path.join(directory, snapshot.name))
            deleted.append(snapshot.name)
    return sorted(deleted, key=lambda name: parse_name(name).taken)
