import datetime as dt
import unittest

from agenda.daily import agenda_lines, events_on
from agenda.store import Store
from agenda.timeutil import to_local

D = dt.date
UTC = dt.timezone.utc


class LocalDayTest(unittest.TestCase):
    def setUp(self):
        self.store = Store()
        self.store.add("Dinner", "2024-03-08T19:30-05:00", 90)
        self.store.add("Breakfast", "2024-03-08T07:00-05:00", 30)
        self.store.add("Late show", "2024-03-08T23:45-05:00", 120)
        self.store.add("Tokyo sync", "2024-03-09T08:00+09:00", 60)

    def test_new_york_evening_on_its_day(self):
        self.assertEqual(
            agenda_lines(self.store, D(2024, 3, 8), -300),
            ["07:00-07:30 Breakfast", "18:00-19:00 Tokyo sync", "19:30-21:00 Dinner",
             "23:45-01:45 Late show"],
        )

    def test_new_york_next_day(self):
        # Everything above starts on 8 March in New York, even if it is the 9th in UTC.
        self.assertEqual(agenda_lines(self.store, D(2024, 3, 9), -300), [])

    def test_tokyo_morning_on_its_day(self):
        self.assertEqual(
            agenda_lines(self.store, D(2024, 3, 9), 540),
            ["08:00-09:00 Tokyo sync", "09:30-11:00 Dinner", "13:45-15:45 Late show"],
        )
        self.assertEqual(agenda_lines(self.store, D(2024, 3, 8), 540), ["21:00-21:30 Breakfast"])

    def test_half_hour_offset(self):
        titles = [e.title for e in events_on(self.store, D(2024, 3, 9), 330)]
        self.assertEqual(titles, ["Tokyo sync", "Dinner", "Late show"])

    def test_to_local(self):
        utc = dt.datetime(2024, 3, 9, 0, 30, tzinfo=UTC)
        self.assertEqual(to_local(utc, -300), dt.datetime(2024, 3, 8, 19, 30))
        self.assertEqual(to_local(utc, 330), dt.datetime(2024, 3, 9, 6, 0))

    def test_events_still_stored_in_utc(self):
        self.assertEqual(self.store.events[0].start, dt.datetime(2024, 3, 9, 0, 30, tzinfo=UTC))


if __name__ == "__main__":
    unittest.main()
