"""Scratch folders carry their process id; those of dead processes are swept up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hgm import scratch


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_prefix_names_this_process_and_the_kind():
    name = scratch.prefix("eval")
    assert name.startswith(f"hgm-{os.getpid()}-") and name.endswith("-eval-")
    assert scratch.owner(Path(name + "abc")) == os.getpid()
    with pytest.raises(ValueError):
        scratch.prefix("no/slashes")


def test_reap_removes_only_folders_of_dead_processes(tmp_path):
    dead = _dead_pid()
    gone = tmp_path / (scratch.prefix("eval", dead) + "abc123")
    (gone / "workspace" / "locked").mkdir(parents=True)
    (gone / "workspace" / "locked").chmod(0)  # a command may leave this; still removed
    kept = [
        tmp_path / f"{scratch.prefix('eval')}xyz",  # a live process's
        tmp_path / "hgm-attack-gw-1234abcd",  # not a scratch name
        tmp_path / "hgm-12x-eval-q",  # no pid
    ]
    for path in kept:
        path.mkdir()
    (tmp_path / (scratch.prefix("eval", dead) + "file")).write_text("a file, not a folder")
    assert scratch.reap(tmp_path) == [gone]
    assert not gone.exists()
    assert all(path.is_dir() for path in kept)
    assert (tmp_path / (scratch.prefix("eval", dead) + "file")).exists()


def test_reap_leaves_other_programs_folders_that_match_the_old_pattern(tmp_path):
    dead = _dead_pid()
    foreign = [tmp_path / f"hgm-{dead}-eval-abc123", tmp_path / f"hgm-{dead}-deadbeef-eval-x"]
    for path in foreign:
        (path / "data").mkdir(parents=True)
        (path / "data" / "keep.txt").write_text("not hgm's")
    assert scratch.reap(tmp_path) == []
    assert all((path / "data" / "keep.txt").read_text() == "not hgm's" for path in foreign)


def test_reap_removes_a_folder_nested_deeper_than_the_recursion_limit(tmp_path):
    dead = _dead_pid()
    top = tmp_path / (scratch.prefix("eval", dead) + "deep")
    top.mkdir()
    fd = os.open(top, os.O_RDONLY)
    try:  # 1,505 levels, made relative to a descriptor: the full path is too long for open()
        for level in range(1505):
            os.mkdir("d", dir_fd=fd)
            if level % 100 == 0:
                with open(os.open("f", os.O_WRONLY | os.O_CREAT, dir_fd=fd), "w") as f:
                    f.write("x")
            sub = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = sub
    finally:
        os.close(fd)
    assert scratch.reap(tmp_path) == [top]
    assert not top.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root (CI runs the suite as root)")
def test_reap_unmounts_a_sandbox_tmpfs_a_killed_process_left(tmp_path):
    dead = _dead_pid()
    left = tmp_path / (scratch.prefix("sandbox", dead) + "mounted")
    (left / "m" / "work").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "hgm-sandbox", str(left / "m" / "work")], check=True)
    (left / "m" / "work" / "file").write_text("in the tmpfs")
    assert scratch.reap(tmp_path) == [left]
    assert not left.exists()
    assert str(left) not in Path("/proc/self/mounts").read_text()
