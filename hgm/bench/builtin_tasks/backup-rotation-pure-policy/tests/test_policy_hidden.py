import dataclasses
import datetime as dt
import os
import tempfile
import unittest

from snapshots import RetentionPolicy, parse_name, rotate, select_for_deletion, snapshot_name

NOW = dt.datetime(2024, 5, 20, 12, 0)


def snaps(prefix, times):
    return [parse_name(snapshot_name(prefix, t)) for t in times]


# Nightly snapshots at 03:00 from 1 March to 20 May 2024 (a Monday), plus two extra ones.
NIGHTLY = [dt.datetime(2024, 3, 1, 3) + dt.timedelta(days=d) for d in range(81)]
EXTRA = [dt.datetime(2024, 5, 19, 15), dt.datetime(2024, 5, 20, 10)]


class PolicyTest(unittest.TestCase):
    def test_policy_fields_and_validation(self):
        self.assertEqual(RetentionPolicy(), RetentionPolicy(daily=7, weekly=4, monthly=12))
        with self.assertRaises(dataclasses.FrozenInstanceError):
            RetentionPolicy().daily = 1
        with self.assertRaises(ValueError):
            RetentionPolicy(weekly=-1)

    def test_rules(self):
        group = snaps("db", NIGHTLY + EXTRA)
        doomed = select_for_deletion(list(reversed(group)), RetentionPolicy(3, 3, 3), NOW)
        kept = sorted({s.name for s in group} - {s.name for s in doomed})
        self.assertEqual(kept, [
            "db-20240331-030000.tar.gz",  # newest of March
            "db-20240430-030000.tar.gz",  # newest of April
            "db-20240512-030000.tar.gz",  # newest of ISO week 19
            "db-20240518-030000.tar.gz",  # daily
            "db-20240519-150000.tar.gz",  # daily, newest of week 20, less than 24 hours old
            "db-20240520-030000.tar.gz",  # less than 24 hours old
            "db-20240520-100000.tar.gz",  # daily, newest of week 21 and of May, recent
        ])
        self.assertEqual([s.taken for s in doomed], sorted(s.taken for s in doomed))

    def test_uses_given_now_not_the_clock(self):
        group = snaps("db", [dt.datetime(2001, 1, 1, h) for h in (1, 2, 3)])
        policy = RetentionPolicy(0, 0, 0)
        self.assertEqual(select_for_deletion(group, policy, dt.datetime(2001, 1, 1, 12)), [])
        doomed = select_for_deletion(group, policy, dt.datetime(2001, 1, 3))
        self.assertEqual(doomed, group)

    def test_prefixes_are_rotated_separately(self):
        group = snaps("db", [dt.datetime(2024, 5, 1, 3)]) + snaps("web", [dt.datetime(2024, 5, 2, 3)])
        self.assertEqual(select_for_deletion(group, RetentionPolicy(1, 0, 0), NOW), [])

    def test_files_that_do_not_exist_are_fine(self):
        group = snaps("ghost", [dt.datetime(2020, 1, d) for d in range(1, 11)])
        doomed = select_for_deletion(group, RetentionPolicy(2, 0, 0), NOW)
        self.assertEqual(len(doomed), 8)


class RotateTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.folder = self._tmp.name
        for s in snaps("db", NIGHTLY + EXTRA) + snaps("logs", [dt.datetime(2024, 1, 1)]):
            open(os.path.join(self.folder, s.name), "w").close()
        open(os.path.join(self.folder, "README.txt"), "w").close()

    def tearDown(self):
        self._tmp.cleanup()

    def test_rotate_with_explicit_now(self):
        deleted = rotate(self.folder, 3, 3, 3, now=NOW)
        left = sorted(os.listdir(self.folder))
        self.assertEqual(len(deleted), 83 - 7)
        self.assertEqual(len(left), 7 + 2)
        self.assertIn("README.txt", left)
        self.assertIn("logs-20240101-000000.tar.gz", left)
        self.assertEqual(deleted[0], "db-20240301-030000.tar.gz")

    def test_dry_run_deletes_nothing(self):
        preview = rotate(self.folder, 3, 3, 3, dry_run=True, now=NOW)
        self.assertEqual(len(os.listdir(self.folder)), 85)
        self.assertEqual(preview, rotate(self.folder, 3, 3, 3, now=NOW))

    def test_default_now_is_current_time(self):
        # Every snapshot above is far older than 24 hours today.
        deleted = rotate(self.folder, 1, 0, 0, dry_run=True)
        self.assertEqual(len(deleted), 82)


if __name__ == "__main__":
    unittest.main()
