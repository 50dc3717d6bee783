import json
import os
import tempfile
import unittest

from syncer.hashing import file_digest
from syncer.manifest import load_manifest
from syncer.planner import plan_sync
from syncer.scanner import scan

FILES = {"readme.md": b"# hi\n", "docs/notes.txt": b"notes", "docs/img/logo.png": b"\x89PNG"}


class WindowsManifestTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = self._tmp.name
        for rel, data in FILES.items():
            full = os.path.join(self.root, *rel.split("/"))
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(data)

    def tearDown(self):
        self._tmp.cleanup()

    def windows_manifest(self, changes=None, extra=()):
        files = []
        spelled = {"readme.md": ".\\readme.md", "docs/notes.txt": "docs\\notes.txt",
                   "docs/img/logo.png": "docs\\\\img\\logo.png"}
        for rel, data in FILES.items():
            full = os.path.join(self.root, *rel.split("/"))
            digest = (changes or {}).get(rel, file_digest(full))
            files.append({"path": spelled[rel], "sha256": digest.upper(), "size": len(data)})
        files.extend(extra)
        return json.dumps({"files": files})

    def test_nothing_changed(self):
        plan = plan_sync(scan(self.root), load_manifest(self.windows_manifest()))
        self.assertEqual(plan.upload, ())
        self.assertEqual(plan.delete, ())
        self.assertEqual(plan.unchanged, ("docs/img/logo.png", "docs/notes.txt", "readme.md"))

    def test_changed_file_still_uploaded(self):
        manifest = self.windows_manifest(changes={"docs/notes.txt": "ab" * 32})
        plan = plan_sync(scan(self.root), load_manifest(manifest))
        self.assertEqual(plan.upload, ("docs/notes.txt",))
        self.assertEqual(plan.delete, ())

    def test_removed_file_still_deleted(self):
        extra = [{"path": "old\\gone.txt", "sha256": "CD" * 32, "size": 3}]
        plan = plan_sync(scan(self.root), load_manifest(self.windows_manifest(extra=extra)))
        self.assertEqual(plan.delete, ("old/gone.txt",))
        self.assertEqual(plan.upload, ())

    def test_new_local_file_uploaded(self):
        with open(os.path.join(self.root, "docs", "new.txt"), "w") as f:
            f.write("new")
        plan = plan_sync(scan(self.root), load_manifest(self.windows_manifest()))
        self.assertEqual(plan.upload, ("docs/new.txt",))

    def test_manifest_entries_use_local_spelling(self):
        entries = load_manifest(self.windows_manifest())
        self.assertEqual(sorted(e.path for e in entries),
                         ["docs/img/logo.png", "docs/notes.txt", "readme.md"])

    def test_mixed_case_digest_matches(self):
        full = os.path.join(self.root, "readme.md")
        digest = file_digest(full)
        mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(digest))
        manifest = json.dumps({"files": [{"path": "readme.md", "sha256": mixed, "size": 5}]})
        plan = plan_sync(scan(self.root, ignore=["docs/*"]), load_manifest(manifest))
        self.assertEqual(plan.unchanged, ("readme.md",))


if __name__ == "__main__":
    unittest.main()
