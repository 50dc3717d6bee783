"""Behaviour every sandbox backend must show. Add a backend by adding its spec to BACKENDS."""

from __future__ import annotations

import http.server
import os
import resource
import shutil
import socket
import socketserver
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hgm.sandbox import Mount, RunResult, RunSpec, Sandbox, get_sandbox

BACKENDS = ["local", "local?bwrap=0", "docker"]
# Backends that claim isolation; the containment tests run against these only (the plain
# subprocess fallback says loudly that it isolates nothing, which test_sandbox_local checks).
ISOLATED_BACKENDS = ["local", "docker"]


def _skip_reason(spec: str) -> str | None:
    if spec == "local" and shutil.which("bwrap") is None:
        return "bubblewrap is not installed (make setup, or: apt-get install bubblewrap)"
    if spec == "docker":
        from hgm.sandbox.image import engine_problem

        problem = engine_problem()
        if problem and os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the docker sandbox tests, but: {problem}")
        return problem
    return None


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request) -> Iterator[Sandbox]:
    reason = _skip_reason(request.param)
    if reason:
        pytest.skip(reason)
    box = get_sandbox(request.param)
    if request.param == "local" and not box.isolated:
        pytest.skip(
            "bwrap is installed but cannot create a sandbox on this machine (user namespaces off?)"
        )
    yield box
    box.close()


@pytest.fixture(scope="module", params=ISOLATED_BACKENDS)
def isolated_sandbox(request) -> Iterator[Sandbox]:
    reason = _skip_reason(request.param)
    if reason:
        pytest.skip(reason)
    box = get_sandbox(request.param)
    assert box.isolated, f"{request.param} is expected to isolate but reports it cannot here"
    yield box
    box.close()


def run(sandbox: Sandbox, tmp_path: Path, command: str, *mounts: Mount, **spec) -> RunResult:
    out = tmp_path / f"out-{uuid.uuid4().hex[:8]}"
    spec.setdefault("time_limit_s", 60)
    result = sandbox.run(RunSpec(command=command, mounts=tuple(mounts), **spec), out)
    assert result.error is None, result.error
    return result


def workspace(tmp_path: Path, name: str = "ws", **files: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file, text in files.items():
        (folder / file).write_text(text)
    return folder


# --- commands, environment ---------------------------------------------------------------


def test_exit_code_and_output_come_back(sandbox, tmp_path):
    result = run(sandbox, tmp_path, "echo out; echo err >&2; exit 3")
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert not result.timed_out and not result.stdout_truncated


def test_only_the_given_environment_reaches_the_command(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-secret-openai")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-host-secret-anthropic")
    result = run(sandbox, tmp_path, "env", env={"GIVEN": "yes"})
    seen = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert seen["GIVEN"] == "yes" and seen["LANG"] == "C.UTF-8"
    assert "sk-host-secret" not in result.stdout
    shell_own = {"PWD", "OLDPWD", "SHLVL", "_"}
    assert set(seen) - shell_own == {"GIVEN", "PATH", "HOME", "LANG", "TMPDIR"}


def test_python3_is_available(sandbox, tmp_path):
    result = run(sandbox, tmp_path, "python3 -c 'import sys, json; print(sys.version_info[0])'")
    assert result.stdout == "3\n"


# --- files -----------------------------------------------------------------------------


def test_files_go_in_and_come_out_through_a_writable_mount(sandbox, tmp_path):
    ws = workspace(tmp_path, a="before")
    mount = Mount(ws, "/work", writable=True, env="HGM_WORKSPACE")
    result = run(
        sandbox, tmp_path, 'cat "$HGM_WORKSPACE/a"; echo after > a; mkdir d; echo new > d/b', mount
    )
    assert result.stdout == "before"
    out = result.outputs["/work"]
    assert (out / "a").read_text() == "after\n"
    assert (out / "d" / "b").read_text() == "new\n"


def test_the_host_folders_are_never_modified(sandbox, tmp_path):
    ws = workspace(tmp_path, "ws", a="ws")
    ro = workspace(tmp_path, "ro", b="ro")
    mounts = (Mount(ws, "/work", True, "WS"), Mount(ro, "/agent", False, "RO"))
    run(
        sandbox,
        tmp_path,
        'rm -rf "$WS"/*; echo x > "$WS/new"; echo x > "$RO/b"; rm -f "$RO/b"',
        *mounts,
    )
    assert sorted(p.name for p in ws.iterdir()) == ["a"] and (ws / "a").read_text() == "ws"
    assert sorted(p.name for p in ro.iterdir()) == ["b"] and (ro / "b").read_text() == "ro"


def test_read_only_mounts_are_visible_but_not_collected(sandbox, tmp_path):
    ro = workspace(tmp_path, "ro", b="code")
    result = run(sandbox, tmp_path, 'cat "$RO/b"', Mount(ro, "/agent", env="RO"))
    assert result.stdout == "code" and "/agent" not in result.outputs


def test_read_only_mount_cannot_be_written(isolated_sandbox, tmp_path):
    sandbox = isolated_sandbox
    ro = workspace(tmp_path, "ro", b="code")
    result = run(
        sandbox, tmp_path, 'echo x > "$RO/b" || echo refused', Mount(ro, "/agent", env="RO")
    )
    assert "refused" in result.stdout


def test_workdir_defaults_to_the_first_writable_mount(sandbox, tmp_path):
    ro, ws = workspace(tmp_path, "ro"), workspace(tmp_path, "ws")
    mounts = (Mount(ro, "/agent", env="RO"), Mount(ws, "/work", True, "WS"))
    result = run(
        sandbox, tmp_path, 'test "$(pwd -P)" = "$(cd "$WS" && pwd -P)" && echo same', *mounts
    )
    assert result.stdout == "same\n"


def test_runs_from_several_threads_stay_apart(sandbox, tmp_path):
    ws = workspace(tmp_path)
    results: dict[int, RunResult] = {}

    def one(i: int) -> None:
        spec = RunSpec(
            f"echo {i} > mine; sleep 0.2; cat mine",
            mounts=(Mount(ws, "/work", True),),
            time_limit_s=60,
        )
        results[i] = sandbox.run(spec, tmp_path / f"out{i}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, result in results.items():
        assert (
            result.stdout == f"{i}\n" and (result.outputs["/work"] / "mine").read_text() == f"{i}\n"
        )
    assert len(results) == 4


def test_symlinks_in_outputs_never_bring_back_host_content(sandbox, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    ws = workspace(tmp_path)
    command = f"ln -s /etc/passwd passwd; ln -s {secret} secret; ln -s ../../.. up; mkfifo fifo"
    out = run(sandbox, tmp_path, command, Mount(ws, "/work", True)).outputs["/work"]
    for name in ("passwd", "secret", "up"):
        path = out / name
        assert not path.exists() or stat.S_ISLNK(os.lstat(path).st_mode), name
    assert not os.path.lexists(out / "fifo")


# --- time and output limits ------------------------------------------------------------


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(entry.name))
    return found


def test_time_limit_kills_a_forking_process_tree_that_ignores_sigterm(sandbox, tmp_path):
    marker = f"hgm-survivor-{uuid.uuid4().hex}"
    command = (
        "trap '' TERM HUP INT; "
        f"for i in 1 2 3; do (trap '' TERM; exec -a {marker} sleep 600) & done; "
        f"(trap '' TERM; (trap '' TERM; exec -a {marker} sleep 600) & sleep 600) & "
        "echo started; sleep 600"
    )
    result = run(sandbox, tmp_path, command, time_limit_s=1.5)
    assert result.timed_out and result.exit_code is None and result.stdout == "started\n"
    # The kernel may take a moment to reap; wait (bounded) rather than assert a timing.
    give_up = time.monotonic() + 20
    while _processes_with(marker) and time.monotonic() < give_up:
        time.sleep(0.1)
    assert _processes_with(marker) == []


def test_output_beyond_the_cap_is_dropped_without_buffering_it(sandbox, tmp_path):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    command = "head -c 200000000 /dev/zero | tr '\\0' a; echo done >&2"
    result = run(sandbox, tmp_path, command, output_limit_bytes=10_000)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert result.exit_code == 0 and result.stderr == "done\n"
    assert result.stdout == "a" * 10_000 and result.stdout_truncated and not result.stderr_truncated
    assert grown_kib < 100_000


# --- network -----------------------------------------------------------------------------


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class _Gateway(http.server.BaseHTTPRequestHandler):
    barrier: threading.Barrier | None = None

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path.endswith("/together") and self.barrier is not None:
            try:
                self.barrier.wait(timeout=20)
            except threading.BrokenBarrierError:
                self.send_error(500, "requests were not served concurrently")
                return
        body = f"gateway saw {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self):
        return "sandbox"

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway_socket() -> Iterator[Path]:
    # AF_UNIX paths are limited to ~107 bytes, pytest's tmp_path can be longer.
    folder = Path(tempfile.mkdtemp(prefix="hgm-gw-"))
    path = folder / "gw.sock"
    _Gateway.barrier = threading.Barrier(8)
    server = _UnixHTTPServer(str(path), _Gateway)
    path.chmod(0o666)  # as hgm's gateway does: sandboxes may run as another user
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield path
    server.shutdown()
    server.server_close()
    shutil.rmtree(folder)


FETCH = """
import os, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
url = os.environ["HGM_GATEWAY_URL"]
n = int(sys.argv[1])
get = lambda path: urllib.request.urlopen(url + path, timeout=30).read().decode()
with ThreadPoolExecutor(n) as pool:
    print("\\n".join(pool.map(get, ["/together" if n > 1 else "/models"] * n)))
"""


def test_gateway_is_reachable_over_http(sandbox, tmp_path, gateway_socket):
    result = run(
        sandbox, tmp_path, f"python3 -c '{FETCH}' 1; test -S \"$HGM_GATEWAY_SOCKET\" && echo socket",
        network="gateway", gateway_socket=gateway_socket,
    )  # fmt: skip
    assert result.stdout == "gateway saw /v1/models\nsocket\n", result.stderr


def test_gateway_relay_serves_concurrent_connections(sandbox, tmp_path, gateway_socket):
    result = run(
        sandbox, tmp_path, f"python3 -c '{FETCH}' 8",
        network="gateway", gateway_socket=gateway_socket,
    )  # fmt: skip
    assert result.stdout.splitlines() == ["gateway saw /v1/together"] * 8, result.stderr


PROBE = """
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3).close()
    print("connected")
except OSError:
    print("blocked")
"""


@pytest.fixture
def host_listener() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


def test_network_none_cannot_reach_the_host(isolated_sandbox, tmp_path, host_listener):
    sandbox = isolated_sandbox
    result = run(sandbox, tmp_path, f"python3 -c '{PROBE}' {host_listener}")
    assert result.stdout == "blocked\n"


def test_gateway_network_reaches_only_the_gateway(isolated_sandbox, tmp_path, host_listener, gateway_socket):
    sandbox = isolated_sandbox
    result = run(
        sandbox, tmp_path, f"python3 -c '{PROBE}' {host_listener}",
        network="gateway", gateway_socket=gateway_socket,
    )  # fmt: skip
    assert result.stdout == "blocked\n"


def test_gateway_without_a_socket_is_rejected(sandbox, tmp_path):
    with pytest.raises(ValueError, match="gateway_socket"):
        sandbox.run(RunSpec("true", network="gateway"), tmp_path / "out")


# --- confinement -------------------------------------------------------------------------


def test_cannot_write_outside_its_mounts(isolated_sandbox, tmp_path):
    sandbox = isolated_sandbox
    probe = f"hgm-probe-{uuid.uuid4().hex}"
    command = (
        "for p in /usr/x /etc/x /x /hgm/x; do touch $p 2>/dev/null && echo wrote $p; done; "
        f"touch /tmp/{probe} && echo private-tmp"
    )
    result = run(sandbox, tmp_path, command)
    assert result.stdout == "private-tmp\n"
    assert not Path(tempfile.gettempdir(), probe).exists()


def test_cannot_read_host_files_outside_its_mounts(isolated_sandbox, tmp_path):
    sandbox = isolated_sandbox
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    result = run(
        sandbox, tmp_path, f"cat {secret} /etc/shadow 2>/dev/null; ls -A /root /home 2>/dev/null"
    )
    assert "host secret" not in result.stdout and ":$" not in result.stdout  # shadow hashes
    # An image may bring its own skeleton files and bound Python; nothing else of the host's.
    common = {".bashrc", ".profile", ".bash_logout", ".cache", ".config", ".local", ".pyenv"}
    host_only = set(_listing("/root") + _listing("/home")) - common
    assert not host_only & set(result.stdout.split())


def _listing(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []
