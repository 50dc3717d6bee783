import datetime as dt
import os
import tempfile
import unittest

from snapshots import human_size, parse_name, rotate, snapshot_name


class SnapshotTest(unittest.TestCase):
    def test_names(self):
        taken = dt.datetime(2024, 5, 1, 3, 15)
        name = snapshot_name("db", taken)
        self.assertEqual(name, "db-20240501-031500.tar.gz")
        self.assertEqual(parse_name(name).taken, taken)
        self.assertIsNone(parse_name("notes.txt"))

    def test_human_size(self):
        self.assertEqual(human_size(1536), "1.5 KiB")

    def test_rotate_keeps_recent(self):
        with tempfile.TemporaryDirectory() as folder:
            now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            for hours in (1, 2, 3):
                name = snapshot_name("db", now - dt.timedelta(hours=hours))
                open(os.path.join(folder, name), "w").close()
            self.assertEqual(rotate(folder, keep_daily=1, keep_weekly=0, keep_monthly=0), [])
            self.assertEqual(len(os.listdir(folder)), 3)


if __name__ == "__main__":
    unittest.main()
