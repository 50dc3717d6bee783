import os
import tempfile
import unittest

from syncer.manifest import dump_manifest, load_manifest
from syncer.planner import plan_sync
from syncer.scanner import scan


class SyncTest(unittest.TestCase):
    def test_round_trip_with_own_manifest(self):
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "docs"))
            with open(os.path.join(root, "docs", "a.txt"), "w") as f:
                f.write("hello")
            local = scan(root)
            plan = plan_sync(local, load_manifest(dump_manifest(local)))
            self.assertEqual(plan.unchanged, ("docs/a.txt",))
            self.assertEqual(plan.upload, ())


if __name__ == "__main__":
    unittest.main()
