"""Attacks on the sandbox's resource limits: memory, disk, files, /dev/shm, CPU, namespaces.

Each attack is a command an agent could run (or files it could leave behind) and runs the
way the loop runs agents, against docker and the local bubblewrap sandbox. Contained means:
the limit holds inside, the host is unaffected, and the driver gets an ordinary RunResult --
``limit`` set with a reason when the command's files broke a limit (the agent's fail), never
an exception and never ``error`` (which would be retried and never count against it).

Docker attacks skip without an engine (scripts/ensure-docker.sh starts one), except under
CI=true, where they fail. Local attacks skip when the host cannot enforce the limit they test
(``LocalSandbox.unenforced`` says why; ``hgm doctor`` shows it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hgm.sandbox import Mount, RunResult, RunSpec, get_sandbox
from hgm.sandbox import image as image_module

CAP_MB = 32
FILES = 2000


def _open(spec: str):
    if spec.startswith("docker"):
        problem = image_module.engine_problem()
        if problem and os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the docker attack tests, but: {problem}")
        if problem:
            pytest.skip(problem)
        return get_sandbox(spec)
    sandbox = get_sandbox(spec)
    if not sandbox.isolated:
        sandbox.close()
        pytest.skip("bubblewrap cannot run here (apt-get install bubblewrap), so local isolates nothing")
    return sandbox


@pytest.fixture(scope="module", params=["docker", "local"])
def box(request) -> Iterator:
    sandbox = _open(f"{request.param}?disk_mb={CAP_MB}&files={FILES}")
    yield sandbox
    sandbox.close()


@pytest.fixture(scope="module")
def docker_box() -> Iterator:
    sandbox = _open(f"docker?disk_mb={CAP_MB}")
    yield sandbox
    sandbox.close()


def needs(box, *limits: str) -> None:
    """Skip a local attack on a limit this host cannot enforce (docker enforces them all)."""
    missing = {name: why for name, why in getattr(box, "unenforced", {}).items()
               if any(name.startswith(limit) for limit in limits)}  # fmt: skip
    if missing:
        pytest.skip(f"this host cannot enforce it: {missing} (see hgm doctor)")


def attack(box, tmp_path: Path, command: str, *mounts: Mount, **spec) -> RunResult:
    spec.setdefault("time_limit_s", 60)
    result = box.run(RunSpec(command, mounts=tuple(mounts), **spec), tmp_path / f"out-{uuid.uuid4().hex[:8]}")
    assert isinstance(result, RunResult)
    return result


def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / f"ws-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    (folder / "a").write_text("x")
    return folder


def disk_bytes(path: Path) -> int:
    """Real disk (blocks) used below ``path``, whatever the files' apparent sizes."""
    done = subprocess.run(["du", "-s", "--block-size=1", str(path)], capture_output=True, text=True)
    return int(done.stdout.split()[0])


# --- memory, CPU, /dev/shm, namespaces ------------------------------------------------------------

MANY_CHILDREN = r"""python3 -c '
import subprocess, sys
child = "import time; b = bytearray(b\"x\") * (200 << 20); time.sleep(3)"
kids = [subprocess.Popen([sys.executable, "-c", child], stderr=subprocess.DEVNULL) for _ in range(10)]
print(sum(kid.wait() == 0 for kid in kids), "survived")
'"""


def test_memory_is_capped_for_all_processes_together(box, tmp_path):
    needs(box, "memory")
    # Ten children of 200 MB each under 256 MB: at most one can hold its memory at a time.
    result = attack(box, tmp_path, MANY_CHILDREN, memory_mb=256)
    assert result.error is None and not result.timed_out
    survived = int(result.stdout.split()[0]) if result.stdout else 0
    assert survived <= 1, result.stdout


def test_cpu_time_is_held_to_the_quota(box, tmp_path):
    needs(box, "cpu")
    busy = ("python3 -c 'import os, time\nt = time.time()\nwhile time.time() - t < 3: pass\n"
            "c = os.times()\nprint((c.user + c.system) / (time.time() - t))'")  # fmt: skip
    result = attack(box, tmp_path, busy, cpus=0.5)
    assert result.error is None and result.exit_code == 0, result.stderr
    assert float(result.stdout) <= 0.5 * 1.5  # a busy loop alone would use a whole core


def test_dev_shm_is_small(box, tmp_path):
    result = attack(box, tmp_path, "head -c 100000000 /dev/zero > /dev/shm/fill; echo rc=$?",
                    memory_mb=512)  # fmt: skip
    assert result.error is None and "rc=1" in result.stdout
    assert "No space left on device" in result.stderr


def test_nested_user_namespaces_are_refused(box, tmp_path):
    # unshare(CLONE_NEWUSER) through libc: os.unshare needs Python 3.12.
    command = "python3 -c 'import ctypes; print(ctypes.CDLL(None).unshare(0x10000000))'"
    result = attack(box, tmp_path, command)
    assert result.error is None and result.stdout == "-1\n", result.stderr


def test_kernel_keyrings_are_out_of_reach(box, tmp_path):
    # keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING): one of the rarely needed calls
    # (keyrings, eBPF, perf events, userfaultfd, io_uring, ...) a seccomp filter refuses.
    import platform

    number = {"x86_64": 250, "aarch64": 219}.get(platform.machine())
    if number is None:
        pytest.skip(f"no seccomp filter on {platform.machine()}")
    command = ("python3 -c 'import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "
               f"print(libc.syscall({number}, 0, -3, 0), os.strerror(ctypes.get_errno()))'")  # fmt: skip
    result = attack(box, tmp_path, command)
    assert result.error is None and result.stdout.startswith("-1 "), result.stdout


# --- disk -------------------------------------------------------------------------------------


def test_writing_twice_the_disk_cap_fails_inside_and_the_run_completes(box, tmp_path):
    needs(box, "disk")
    command = (f"for d in /work /tmp $HOME; do head -c {2 * CAP_MB << 20} /dev/zero > $d/fill; done; "
               "echo done")  # fmt: skip
    result = attack(box, tmp_path, command, Mount(workspace(tmp_path), "/work", True), memory_mb=512)
    assert result.error is None and result.limit is None and result.stdout == "done\n"
    assert result.stderr.count("No space left on device") == 3
    assert (result.outputs["/work"] / "fill").stat().st_size <= CAP_MB << 20


def test_a_workspace_bigger_than_the_disk_cap_is_a_limit_not_an_error(box, tmp_path):
    ws = workspace(tmp_path)
    (ws / "big").write_bytes(os.urandom(2 * CAP_MB << 20))
    result = attack(box, tmp_path, "echo ran", Mount(ws, "/work", True))
    assert result.error is None and result.limit and result.stdout == ""


def test_a_workspace_bigger_than_the_memory_limit_is_a_limit_not_an_error(tmp_path):
    # Docker copies the workspace into a tmpfs that counts as the container's memory: it must
    # be refused up front, not kill the container while it is copied in.
    sandbox = _open("docker?disk_mb=512&prestart=0")
    try:
        ws = workspace(tmp_path)
        (ws / "big").write_bytes(os.urandom(300 << 20))
        result = attack(sandbox, tmp_path, "echo ran", Mount(ws, "/work", True), memory_mb=256)
    finally:
        sandbox.close()
    assert result.error is None and "memory" in result.limit and result.stdout == ""


def test_the_read_only_agent_mount_is_capped_on_docker(docker_box, tmp_path):
    agent = workspace(tmp_path)
    result = attack(docker_box, tmp_path, "df -k --output=size /agent | tail -1", Mount(agent, "/agent"))
    assert result.error is None and int(result.stdout) <= CAP_MB << 10
    (agent / "big").write_bytes(os.urandom(2 * CAP_MB << 20))
    too_big = attack(docker_box, tmp_path, "echo ran", Mount(agent, "/agent"))
    assert too_big.error is None and too_big.limit and "/agent" in too_big.limit


# --- sparse files, file counts, folder depth ----------------------------------------------------


def test_a_huge_sparse_file_is_a_limit_and_never_real_disk(box, tmp_path):
    before = os.statvfs(tmp_path)
    result = attack(box, tmp_path, "truncate -s 8G huge && echo made", Mount(workspace(tmp_path), "/work", True))
    after = os.statvfs(tmp_path)
    assert result.error is None and "sparse" in result.limit and result.stdout == "made\n"
    assert disk_bytes(tmp_path) < 64 << 20
    assert (before.f_bavail - after.f_bavail) * before.f_frsize < 1 << 30


def test_sparse_files_keep_their_holes_on_the_way_in_and_out(box, tmp_path):
    ws = workspace(tmp_path)
    with open(ws / "holey", "wb") as f:
        f.truncate(12 << 20)  # within the cap, but all hole
    command = "du -k holey | cut -f1; truncate -s 12M made"
    result = attack(box, tmp_path, command, Mount(ws, "/work", True))
    assert result.error is None and result.limit is None, result.stderr
    if box.name.startswith("local"):  # docker's tar stream fills holes on the way in
        assert int(result.stdout) < 1024
    for name in ("holey", "made"):
        out = result.outputs["/work"] / name
        assert out.stat().st_size == 12 << 20 and out.stat().st_blocks * 512 < 1 << 20


def test_a_1500_level_folder_chain_is_a_limit_not_a_crash(box, tmp_path):
    chain = "python3 -c 'import os\nfor _ in range(1500): os.mkdir(\"d\"); os.chdir(\"d\")\n' && echo made"
    result = attack(box, tmp_path, chain, Mount(workspace(tmp_path), "/work", True))
    assert result.error is None and "deep" in result.limit and result.stdout == "made\n"
    assert attack(box, tmp_path, "echo fine").stdout == "fine\n"


def test_too_many_files_is_a_limit(box, tmp_path):
    many = f"for i in $(seq {FILES + 10}); do : > f$i; done && echo made"
    result = attack(box, tmp_path, many, Mount(workspace(tmp_path), "/work", True))
    assert result.error is None and "files" in result.limit and result.stdout == "made\n"


# --- the gateway socket -----------------------------------------------------------------------


def test_the_gateway_socket_host_path_is_not_visible_inside(box, tmp_path):
    secret_dir = tmp_path / f"gateway-{uuid.uuid4().hex[:8]}"
    secret_dir.mkdir()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(secret_dir / "gw.sock"))
    sock.listen()
    os.chmod(secret_dir / "gw.sock", 0o666)
    try:
        result = attack(box, tmp_path, "cat /proc/self/mountinfo; env", network="gateway",
                        gateway_socket=secret_dir / "gw.sock")  # fmt: skip
    finally:
        sock.close()
    assert result.error is None and "/hgm/gateway.sock" in result.stdout
    assert secret_dir.name not in result.stdout
