import datetime as dt
from dataclasses import dataclass

from agenda.timeutil import to_utc


@dataclass(frozen=True)
class Event:
    title: str
    start: dt.datetime  # aware, UTC
    minutes: int


class Store:
    def __init__(self):
        self.events = []

    def add(self, title, start_iso, minutes=60):
        """Add an event; ``start_iso`` must carry an offset, e.g. 2024-03-10T19:30-05:00."""
        start = to_utc(dt.datetime.fromisoformat(start_iso))
        event = Event(title, start, minutes)
        self.events.append(event)
        return event
