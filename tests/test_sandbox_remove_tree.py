"""hgm.sandbox._files.remove_tree removes a run's folder even while processes of the command
that are still exiting keep adding files to it: it tries again for a few seconds instead of
failing on the first "Directory not empty" (a loaded machine, a sandbox's last processes slow
to die). Folders deeper than Python's recursion are covered in test_sandbox_local.py.

This pins the contract; it does not reliably show the failure without the retries: with them
taken out, a single removal lost the race in 0 to 3 of 8 tries on a 2-core machine."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from hgm.sandbox._files import remove_tree

# Creates files in ROOT as fast as it can for WRITE_S seconds; stops once ROOT is gone (it
# never makes ROOT again).
WRITER = """
import os, sys, time
root, seconds, me = sys.argv[1], float(sys.argv[2]), sys.argv[3]
open(os.path.join(root, "ready-" + me), "w").close()
end, made = time.monotonic() + seconds, 0
while time.monotonic() < end:
    try:
        os.close(os.open(os.path.join(root, f"{me}-{made}"), os.O_CREAT | os.O_WRONLY, 0o644))
    except FileNotFoundError:
        break
    made += 1
"""
WRITERS, WRITE_S = 3, 0.5


def test_a_tree_that_processes_keep_writing_into_is_removed(tmp_path: Path) -> None:
    root = tmp_path / "run"
    (root / "logs").mkdir(parents=True)
    for i in range(200):
        (root / "logs" / f"{i}.log").write_text("log")
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(WRITE_S), str(k)],
                                stdout=subprocess.PIPE, text=True) for k in range(WRITERS)]
    try:
        deadline = time.monotonic() + 60
        while not all((root / f"ready-{k}").exists() for k in range(WRITERS)):
            assert all(w.poll() is None for w in writers) and time.monotonic() < deadline, "a writer did not start"
            time.sleep(0.01)
        remove_tree(root)
        assert not root.exists()
        for w in writers:
            w.communicate(timeout=60)
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait()
    assert [w.returncode for w in writers] == [0] * WRITERS  # they stopped when it was gone
    assert not root.exists()  # and none made it again
