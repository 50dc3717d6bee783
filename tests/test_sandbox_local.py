"""Behaviour of the local backend beyond the conformance suite: modes, limits, hardening."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import threading
import time
from pathlib import Path

import pytest

from hgm.sandbox import Mount, RunSpec, SandboxError, get_sandbox, output_name
from hgm.sandbox import local as local_backend
from hgm.sandbox.local import LocalSandbox

NO_BWRAP = "bubblewrap is not installed (make setup, or: apt-get install bubblewrap)"
MODES = ["bwrap", "subprocess"]


@pytest.fixture(scope="module")
def bwrap_box():
    if shutil.which("bwrap") is None:
        pytest.skip(NO_BWRAP)
    box = LocalSandbox(bwrap="auto")
    if not box.isolated:
        pytest.skip("bwrap is installed but cannot create a sandbox on this machine")
    yield box
    box.close()


@pytest.fixture(scope="module")
def plain_box():
    box = LocalSandbox(bwrap=False)
    yield box
    box.close()


@pytest.fixture(params=MODES)
def box(request):
    return request.getfixturevalue(f"{'bwrap' if request.param == 'bwrap' else 'plain'}_box")


def run(box, tmp_path, command, *mounts, **spec):
    spec.setdefault("time_limit_s", 60)
    return box.run(RunSpec(command, mounts=tuple(mounts), **spec), tmp_path / "out")


# --- resolver and modes ------------------------------------------------------------------


def test_unknown_sandbox_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="docker, local"):
        get_sandbox("vm")


def test_bad_bwrap_parameter_is_rejected():
    with pytest.raises(ValueError, match="bwrap must be"):
        get_sandbox("local?bwrap=maybe")


def test_unknown_parameter_is_rejected():
    with pytest.raises(ValueError, match="bad parameters"):
        get_sandbox("local?colour=red")


def test_bwrap_zero_gives_an_unisolated_sandbox():
    box = get_sandbox("local?bwrap=0")
    assert not box.isolated and box.name == "local(subprocess)"


def test_local_uses_bwrap_when_it_is_installed():
    if shutil.which("bwrap") is None:
        pytest.skip(NO_BWRAP)
    box = get_sandbox("local")
    assert box.isolated and box.name == "local(bwrap)"


def test_requiring_bwrap_without_it_raises(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SandboxError, match="not installed"):
        LocalSandbox(bwrap=True)


def test_the_plain_subprocess_mode_warns_once_per_process(caplog):
    local_backend._warned.clear()
    with caplog.at_level(logging.WARNING, logger="hgm.sandbox.local"):
        LocalSandbox(bwrap=False)
        LocalSandbox(bwrap=False)
    warnings = [r for r in caplog.records if "NOT isolation" in r.getMessage()]
    assert len(warnings) == 1


def test_output_names_are_flat_folder_names():
    assert output_name("/work") == "work" and output_name("/task/repo") == "task_repo"


# --- specs rejected before anything runs ------------------------------------------------


@pytest.mark.parametrize(
    "target", ["work", "/", "/usr/local/x", "/tmp/x", "/work/../etc", "/work dir", "/work/"]
)
def test_bad_mount_targets_are_rejected(plain_box, tmp_path, target):
    with pytest.raises(ValueError, match="mount target"):
        run(plain_box, tmp_path, "true", Mount(tmp_path, target))


def test_nested_mount_targets_are_rejected(plain_box, tmp_path):
    with pytest.raises(ValueError, match="inside mount target"):
        run(plain_box, tmp_path, "true", Mount(tmp_path, "/work"), Mount(tmp_path, "/work/sub"))


def test_missing_host_folder_is_rejected(plain_box, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        run(plain_box, tmp_path, "true", Mount(tmp_path / "missing", "/work"))


def test_workdir_outside_the_mounts_is_rejected(plain_box, tmp_path):
    with pytest.raises(ValueError, match="workdir"):
        run(plain_box, tmp_path, "true", Mount(tmp_path, "/work"), workdir="/elsewhere")


# --- running -------------------------------------------------------------------------------


def test_workdir_may_be_a_folder_inside_a_mount(box, tmp_path):
    (tmp_path / "ws" / "sub").mkdir(parents=True)
    result = run(
        box, tmp_path, "basename $(pwd)", Mount(tmp_path / "ws", "/work", True), workdir="/work/sub"
    )
    assert result.stdout == "sub\n"


def test_a_missing_workdir_folder_is_an_infrastructure_error(box, tmp_path):
    (tmp_path / "ws").mkdir()
    result = run(box, tmp_path, "true", Mount(tmp_path / "ws", "/work", True), workdir="/work/nope")
    assert result.exit_code is None and "cannot enter" in result.error


def test_death_by_signal_reads_like_a_shell_exit_status(box, tmp_path):
    assert run(box, tmp_path, "kill -9 $$").exit_code == 137


def test_memory_limit_stops_large_allocations(box, tmp_path):
    command = "python3 -c 'x = bytearray(1024 * 1024 * 1024)' 2>&1 | tail -1"
    result = run(box, tmp_path, command, memory_mb=256)
    assert "MemoryError" in result.stdout


def test_cpus_limit_pins_the_command_to_that_many_cores(box, tmp_path):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs a machine with at least 2 cores")
    assert run(box, tmp_path, "nproc", cpus=1).stdout == "1\n"


FORK_60 = """
import os, time
started = 0
for _ in range(60):
    try:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
    except OSError:
        break
    started += 1
print(started)
"""


def test_a_root_driver_runs_commands_under_a_fresh_unprivileged_uid(bwrap_box, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only a root driver drops to another uid")
    uids = {run(bwrap_box, tmp_path, "id -u").stdout.strip() for _ in range(3)}
    assert bwrap_box.limits_pids and "0" not in uids and all(int(u) >= 1000 for u in uids)
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "f").write_text("x")
    result = run(bwrap_box, tmp_path, "cat f && echo y > g", Mount(tmp_path / "ws", "/work", True),
                 workdir="/work")  # fmt: skip
    assert result.exit_code == 0 and (result.outputs["/work"] / "g").read_text() == "y\n"


def test_pids_limit_stops_a_fork_bomb(bwrap_box, tmp_path):
    if not bwrap_box.limits_pids:
        pytest.skip("root without setpriv: the kernel exempts root from RLIMIT_NPROC")
    result = run(bwrap_box, tmp_path, f"python3 -c '{FORK_60}'", pids=20)
    assert int(result.stdout) < 60


def test_stderr_flood_is_truncated_too(box, tmp_path):
    result = run(
        box, tmp_path, "head -c 5000000 /dev/zero | tr '\\0' e >&2", output_limit_bytes=100
    )
    assert result.stderr == "e" * 100 and result.stderr_truncated and not result.stdout_truncated


def test_collected_outputs_lose_setuid_bits_and_special_files(box, tmp_path):
    (tmp_path / "ws").mkdir()
    command = "echo x > tool; chmod 4755 tool; mkfifo pipe; mkdir locked; chmod 000 locked"
    out = run(box, tmp_path, command, Mount(tmp_path / "ws", "/work", True)).outputs["/work"]
    assert stat.S_IMODE((out / "tool").stat().st_mode) == 0o755
    assert not os.path.lexists(out / "pipe")
    assert (out / "locked").is_dir()


def test_a_removed_workspace_comes_back_empty(box, tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "a").write_text("a")
    command = 'cd /; rm -rf "$WS" 2>/dev/null || rm -rf "$WS"/*'
    out = run(box, tmp_path, command, Mount(tmp_path / "ws", "/work", True, "WS")).outputs["/work"]
    assert out.is_dir() and list(out.iterdir()) == []


def test_an_existing_output_folder_is_an_error_not_overwritten(box, tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "out" / "work").mkdir(parents=True)
    (tmp_path / "out" / "work" / "keep").write_text("mine")
    result = run(box, tmp_path, "true", Mount(tmp_path / "ws", "/work", True))
    assert "already exists" in result.error
    assert (tmp_path / "out" / "work" / "keep").read_text() == "mine"


def test_private_temporary_root_is_removed_after_the_run(box, tmp_path):
    (tmp_path / "ws").mkdir()
    result = run(box, tmp_path, 'echo "$HOME"', Mount(tmp_path / "ws", "/work", True))
    if not box.isolated:
        assert not Path(result.stdout.strip()).exists()
    assert result.exit_code == 0


def test_close_kills_a_running_command(tmp_path):
    box = LocalSandbox()
    results = []
    worker = threading.Thread(target=lambda: results.append(run(box, tmp_path, "sleep 300")))
    worker.start()
    give_up = time.monotonic() + 30
    while not box._running and time.monotonic() < give_up:
        time.sleep(0.01)
    box.close()
    worker.join(timeout=60)
    assert results and not results[0].timed_out
    assert results[0].exit_code == 137 or results[0].error  # killed while starting, or running


# --- bwrap hardening -------------------------------------------------------------------------


def test_bwrap_sandbox_has_no_capabilities(bwrap_box, tmp_path):
    result = run(bwrap_box, tmp_path, "grep CapEff /proc/self/status")
    assert result.stdout.split() == ["CapEff:", "0000000000000000"]


def test_bwrap_masks_etc_secrets(bwrap_box, tmp_path):
    result = run(
        bwrap_box,
        tmp_path,
        "cat /etc/shadow >/dev/null 2>&1 || echo masked; ls -A /etc/ssl/private | wc -l",
    )
    assert result.stdout == "masked\n0\n"


def test_bwrap_sandbox_cannot_see_host_processes(bwrap_box, tmp_path):
    result = run(
        bwrap_box, tmp_path, f"test -e /proc/{os.getpid()}/cmdline && echo visible || echo hidden"
    )
    assert result.stdout == "hidden\n"


# --- resource limits: cgroups, capped disk, bounded collection ------------------------------


def _leftover_groups() -> list[Path]:
    return [p for p in Path("/sys/fs/cgroup").glob(f"*/**/hgm-{os.getpid()}-*") if p.is_dir()]


def test_a_run_killed_at_its_time_limit_leaves_no_cgroup_behind(box, tmp_path):
    if box.unenforced.get("memory (cgroup)"):
        pytest.skip(f"no cgroups here: {box.unenforced['memory (cgroup)']}")
    result = run(box, tmp_path, "sleep 300 & sleep 300", time_limit_s=1)
    assert result.timed_out and result.error is None
    assert _leftover_groups() == []


def test_the_plain_subprocess_mode_caps_the_workspace_disk_too(tmp_path):
    box = LocalSandbox(bwrap=False, disk_mb=16)
    if any(key.startswith("disk") for key in box.unenforced):
        pytest.skip(f"no capped tmpfs here: {box.unenforced}")
    (tmp_path / "ws").mkdir()
    result = run(box, tmp_path, "head -c 33554432 /dev/zero > fill; echo rc=$?",
                 Mount(tmp_path / "ws", "/work", True))  # fmt: skip
    assert result.error is None and result.limit is None and "rc=1" in result.stdout
    assert (result.outputs["/work"] / "fill").stat().st_size <= 16 << 20


def _chain(root: Path, depth: int) -> None:
    # Relative steps: the absolute path of the innermost folder is longer than PATH_MAX.
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d" * 8, dir_fd=fd)
            inner = os.open("d" * 8, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)


def test_collecting_a_chain_deeper_than_python_recursion_is_a_limit(tmp_path):
    from hgm.sandbox._files import TreeLimitExceeded, TreeLimits, collect, remove_tree

    src = tmp_path / "src"
    src.mkdir()
    _chain(src, 1500)
    with pytest.raises(TreeLimitExceeded, match="deep|long"):
        collect(src, tmp_path / "out", TreeLimits())
    assert not (tmp_path / "out").exists()
    remove_tree(src)  # no RecursionError on the way out either
    assert not src.exists()


def test_collecting_more_files_than_the_limit_is_a_limit(tmp_path):
    from hgm.sandbox._files import TreeLimitExceeded, TreeLimits, collect

    src = tmp_path / "src"
    src.mkdir()
    for i in range(11):
        (src / str(i)).write_text("x")
    with pytest.raises(TreeLimitExceeded, match="more than 10 files"):
        collect(src, tmp_path / "out", TreeLimits(max_files=10))


def test_doctor_says_which_cgroup_enforces_the_local_limits():
    from hgm.doctor import doctor

    checks = {check.name: check for check in doctor()}
    limits = checks["local sandbox limits"]
    box = LocalSandbox()
    assert limits.ok == (not box.unenforced)
    if limits.ok:
        assert all(f"{c} by cgroup v" in limits.detail for c in ("memory", "pids", "cpu"))
    else:
        assert all(f"{name} NOT enforced: {why}" in limits.detail for name, why in box.unenforced.items())
        assert limits.fix


def test_doctor_run_by_an_unprivileged_user_names_each_limit_it_cannot_enforce(tmp_path):
    # A real unprivileged user (not a patched check): it may neither make cgroups nor mount.
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None or not os.path.exists("/usr/bin/python3"):
        pytest.skip("needs root, setpriv and /usr/bin/python3 to run as another user")
    import subprocess

    repo = Path(__file__).resolve().parents[1]
    script = ("from hgm.doctor import _local_limits\nc = _local_limits()\nprint(c.ok, c.detail)\n"
              "from hgm.sandbox import RunSpec\nfrom hgm.sandbox.local import LocalSandbox\n"
              "r = LocalSandbox().run(RunSpec('echo still-runs'), __import__('pathlib').Path('out'))\n"
              "print(r.stdout, r.error)\n")  # fmt: skip
    os.chmod(tmp_path, 0o777)
    done = subprocess.run(
        [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--", "/usr/bin/python3", "-c", script],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(repo)},
    )  # fmt: skip
    if "No module named" in done.stderr:
        pytest.skip(f"the system python3 cannot import hgm: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("False ")
    assert "memory (cgroup) NOT enforced" in done.stdout and "not writable by this user" in done.stdout
    assert "disk (writable mounts) NOT enforced: mounting a size-capped tmpfs needs root" in done.stdout
    assert "still-runs\n None" in done.stdout  # it runs all the same
