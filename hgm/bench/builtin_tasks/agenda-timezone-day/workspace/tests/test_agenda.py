import datetime as dt
import unittest

from agenda.daily import agenda_lines
from agenda.store import Store
from agenda.timeutil import parse_offset


class AgendaTest(unittest.TestCase):
    def test_parse_offset(self):
        self.assertEqual(parse_offset("-05:00"), -300)
        self.assertEqual(parse_offset("UTC+0530"), 330)
        self.assertEqual(parse_offset("Z"), 0)

    def test_utc_user(self):
        store = Store()
        store.add("Standup", "2024-03-08T09:00+00:00", 15)
        self.assertEqual(agenda_lines(store, dt.date(2024, 3, 8), 0), ["09:00-09:15 Standup"])

    def test_stored_in_utc(self):
        event = Store().add("Call", "2024-03-08T10:00+01:00")
        self.assertEqual(event.start, dt.datetime(2024, 3, 8, 9, 0, tzinfo=dt.timezone.utc))


if __name__ == "__main__":
    unittest.main()
