import datetime as dt

from agenda.timeutil import to_local


def events_on(store, day, offset_minutes):
    """The events starting on local date ``day``, in start order."""
    found = [e for e in store.events if e.start.date() == day]
    return sorted(found, key=lambda e: e.start)


def agenda_lines(store, day, offset_minutes):
    """Lines 'HH:MM-HH:MM title' in local time for the events of local date ``day``."""
    lines = []
    for event in events_on(store, day, offset_minutes):
        start = to_local(event.start, offset_minutes)
        end = start + dt.timedelta(minutes=event.minutes)
        lines.append(f"{start:%H:%M}-{end:%H:%M} {event.title}")
    return lines
