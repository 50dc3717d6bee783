"""Scratch folders carry their process id; those of dead processes are swept up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hgm import scratch


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_prefix_names_this_process_and_the_kind():
    assert scratch.prefix("eval") == f"hgm-{os.getpid()}-eval-"
    with pytest.raises(ValueError):
        scratch.prefix("no/slashes")


def test_reap_removes_only_folders_of_dead_processes(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    gone = tmp_path / f"hgm-{dead}-eval-abc123"
    (gone / "workspace" / "locked").mkdir(parents=True)
    (gone / "workspace" / "locked").chmod(0)  # a command may leave this; still removed
    kept = [
        tmp_path / f"hgm-{alive}-eval-xyz",  # a live process's
        tmp_path / "hgm-attack-gw-1234abcd",  # not a scratch name
        tmp_path / "hgm-12x-eval-q",  # no pid
    ]
    for path in kept:
        path.mkdir()
    (tmp_path / f"hgm-{dead}-eval-file").write_text("a file, not a folder")
    assert scratch.reap(tmp_path) == [gone]
    assert not gone.exists()
    assert all(path.is_dir() for path in kept)
    assert (tmp_path / f"hgm-{dead}-eval-file").exists()
