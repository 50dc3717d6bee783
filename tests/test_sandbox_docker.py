"""The docker backend beyond the conformance suite: image, hardening, lifecycle, failures.

Tests that need a Docker engine skip without one (scripts/ensure-docker.sh starts one), except
under CI=true, where they fail: CI must run them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hgm.doctor import doctor
from hgm.sandbox import Mount, RunSpec, SandboxError, get_sandbox
from hgm.sandbox import image as image_module
from hgm.sandbox._docker_files import StreamTooLarge, extract, pack


def need_docker() -> None:
    problem = image_module.engine_problem()
    if problem and os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the docker sandbox tests, but: {problem}")
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="module")
def box() -> Iterator:
    need_docker()
    sandbox = get_sandbox("docker")
    yield sandbox
    sandbox.close()


@pytest.fixture
def engine() -> Iterator:
    need_docker()
    client = image_module.connect()
    yield client
    client.close()


def run(box, tmp_path: Path, command: str, *mounts: Mount, **spec):
    spec.setdefault("time_limit_s", 60)
    out = tmp_path / f"out-{uuid.uuid4().hex[:8]}"
    return box.run(RunSpec(command, mounts=tuple(mounts), **spec), out)


def labelled(client, key: str, value: str) -> list:
    return client.containers.list(all=True, filters={"label": f"{key}={value}"})


# --- the image recipe (no engine needed) ---------------------------------------------------


def test_image_tag_changes_with_the_recipe_and_only_then(tmp_path):
    copy = tmp_path / "recipe"
    shutil.copytree(image_module.recipe_dir(), copy)
    before = image_module.image_tag(folder=copy)
    (copy / "README.md").write_text("documentation does not shape the image\n")
    assert image_module.image_tag(folder=copy) == before
    with open(copy / "packages.txt", "a") as packages:
        packages.write("jq\n")
    assert image_module.image_tag(folder=copy) != before


def test_toolchains_give_their_own_image_tag():
    assert image_module.image_tag(toolchains=True) != image_module.image_tag()
    assert "golang-1.23-go" in image_module.packages(toolchains=True)
    assert "golang-1.23-go" not in image_module.packages()


def test_toolchains_tag_follows_the_layer_but_not_its_installed_node_modules(tmp_path):
    copy = tmp_path / "recipe"
    shutil.copytree(image_module.recipe_dir(), copy, ignore=shutil.ignore_patterns("node_modules"))
    before = image_module.image_tag(toolchains=True, folder=copy)
    (copy / "toolchains" / "node" / "node_modules").mkdir()
    (copy / "toolchains" / "node" / "node_modules" / "x.js").write_text("installed, not recipe\n")
    assert image_module.image_tag(toolchains=True, folder=copy) == before
    (copy / "toolchains" / "Dockerfile").write_text("FROM scratch\n")
    assert image_module.image_tag(toolchains=True, folder=copy) != before
    assert image_module.image_tag(folder=copy) == image_module.image_tag()


def test_package_lists_skip_comments_and_blank_lines(tmp_path):
    listing = tmp_path / "packages.txt"
    listing.write_text("# a comment\n\ngit  # inline\n python3\n")
    assert image_module.read_packages(listing) == ["git", "python3"]


def test_unknown_build_route_is_rejected():
    with pytest.raises(ValueError, match="route must be one of"):
        image_module.build_image(route="floppy")


# --- container settings (no engine needed) -------------------------------------------------


def test_containers_are_configured_read_only_offline_unprivileged_and_limited(tmp_path):
    pytest.importorskip("docker", reason="pip install docker (the hgm[docker] extra)")
    from hgm.sandbox._docker_config import Settings, host_config

    settings = Settings("img", None, disk_mb=64, ncpu=2, labels={"hgm.run": "r"})
    mounts = (Mount(tmp_path, "/work", True), Mount(tmp_path, "/agent"))
    spec = RunSpec("true", mounts=mounts, memory_mb=300, cpus=8, pids=50)
    config = host_config(spec, settings)
    assert config["read_only"] and config["network_mode"] == "none"
    assert config["cap_drop"] == ["ALL"] and config["security_opt"] == ["no-new-privileges"]
    assert (config["mem_limit"], config["memswap_limit"], config["pids_limit"]) == ("300m", "300m", 50)
    assert config["nano_cpus"] == 2 * 10**9  # capped at the engine's CPUs
    work, agent = (volume["VolumeOptions"]["DriverConfig"]["Options"] for volume in config["mounts"])
    assert work["type"] == "tmpfs" and "size=64m" in work["o"] and "uid=1000" in work["o"]
    assert agent["type"] == "tmpfs" and "size=64m" in agent["o"] and "uid=0" in agent["o"]
    assert all("size=" in opts for opts in config["tmpfs"].values())
    assert host_config(RunSpec("true"), settings)["nano_cpus"] == 2 * 10**9  # a quota by default


def test_bad_docker_parameters_are_rejected_before_asking_any_engine():
    with pytest.raises(ValueError, match="toolchains must be 0 or 1"):
        get_sandbox("docker?toolchains=maybe")
    with pytest.raises(ValueError, match="disk_mb"):
        get_sandbox("docker?disk_mb=0")


# --- tar streams in and out (no engine needed) ---------------------------------------------


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> list[bytes]:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return [buffer.getvalue()]


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    return info


def test_extraction_never_writes_through_a_symlink_or_outside(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    chunks = _tar(
        (_member("work/esc", tarfile.SYMTYPE, str(outside)), None),
        (_member("work/esc/planted"), b"through the link"),
        (_member("work/../planted"), b"up and out"),
        (_member("/planted"), b"absolute"),
        (_member("work/hard", tarfile.LNKTYPE, "/etc/passwd"), None),
        (_member("work/fifo", tarfile.FIFOTYPE), None),
        (_member("work/ok"), b"fine"),
    )
    dest = tmp_path / "dest"
    extract(chunks, dest, strip="work", limit_bytes=1 << 20)
    assert sorted(p.name for p in dest.iterdir()) == ["esc", "ok"]
    assert (dest / "esc").is_symlink() and (dest / "ok").read_text() == "fine"
    assert list(outside.iterdir()) == [] and not (tmp_path / "planted").exists()


def test_extraction_stops_past_its_byte_limit(tmp_path):
    chunks = _tar((_member("work/big"), b"x" * 100_000))
    with pytest.raises(StreamTooLarge):
        extract(chunks, tmp_path / "dest", strip="work", limit_bytes=10_000)


def test_packed_read_only_content_is_root_owned_and_readable(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "secret").write_text("x")
    (folder / "secret").chmod(0o600)
    (folder / "link").symlink_to("/etc/passwd")
    packed = pack([(folder, "")], uid=0, writable=False)
    with tarfile.open(fileobj=packed.file) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["secret"].mode == 0o644 and members["secret"].uid == 0
    assert members["link"].issym() and members["link"].linkname == "/etc/passwd"


# --- the image and the container ------------------------------------------------------------


def test_image_has_what_agents_and_harnesses_need(box, tmp_path):
    command = "python --version && python3 -c 'print(1)' && git --version && patch --version && diff --version && bash --version"
    result = run(box, tmp_path, command)
    assert result.exit_code == 0, result.stderr
    assert "Python 3" in result.stdout and "git version" in result.stdout


def test_image_holds_nothing_of_hgm(box, tmp_path):
    result = run(box, tmp_path, "python3 -c 'import hgm' 2>&1; ls -A /hgm")
    assert "No module named 'hgm'" in result.stdout
    assert result.stdout.split()[-1] == "home"


def test_commands_run_unprivileged_without_capabilities(box, tmp_path):
    result = run(box, tmp_path, "id -u; id -g; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status")
    lines = result.stdout.split("\n")
    assert lines[:2] == ["1000", "1000"]
    assert "CapEff:\t0000000000000000" in lines and "CapBnd:\t0000000000000000" in lines
    assert "NoNewPrivs:\t1" in lines


CGROUP_LIMITS = """
for f in memory/memory.limit_in_bytes memory.max pids/pids.max pids.max cpu/cpu.cfs_quota_us cpu.max; do
  [ -r /sys/fs/cgroup/$f ] && echo "$f $(cat /sys/fs/cgroup/$f)"
done
"""


def test_memory_pids_and_cpu_limits_reach_the_container(box, tmp_path):
    result = run(box, tmp_path, CGROUP_LIMITS, memory_mb=300, pids=77, cpus=0.5)
    seen = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    memory = seen.get("memory/memory.limit_in_bytes") or seen.get("memory.max")
    pids = seen.get("pids/pids.max") or seen.get("pids.max")
    cpu = seen.get("cpu/cpu.cfs_quota_us") or seen.get("cpu.max", "").split(" ")[0]
    assert (memory, pids) == (str(300 << 20), "77")
    assert cpu == "50000"  # half of the default 100 ms period


def test_workdir_below_a_mount_target_is_entered(box, tmp_path):
    ws = tmp_path / "ws"
    (ws / "sub").mkdir(parents=True)
    result = run(box, tmp_path, "pwd", Mount(ws, "/work", True), workdir="/work/sub")
    assert result.stdout == "/work/sub\n"


def test_file_modes_and_mtimes_survive_the_round_trip(box, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    script = ws / "run.sh"
    script.write_text("#!/bin/sh\necho ran\n")
    script.chmod(0o755)
    os.utime(script, (1_600_000_000, 1_600_000_000))
    result = run(box, tmp_path, "./run.sh", Mount(ws, "/work", True))
    back = result.outputs["/work"] / "run.sh"
    assert result.stdout == "ran\n" and back.stat().st_mode & 0o777 == 0o755
    assert int(back.stat().st_mtime) == 1_600_000_000


def test_a_command_that_kills_its_launcher_still_gets_a_result_with_its_files(box, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    result = run(box, tmp_path, "echo kept > note; kill -9 $PPID; sleep 5", Mount(ws, "/work", True))
    assert result.error is None and result.exit_code == 137
    assert (result.outputs["/work"] / "note").read_text() == "kept\n"


def test_time_limit_keeps_what_the_command_wrote_and_printed(box, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    result = run(box, tmp_path, "echo early; echo kept > note; sleep 60", Mount(ws, "/work", True),
                 time_limit_s=1.5)  # fmt: skip
    assert result.timed_out and result.exit_code is None and result.stdout == "early\n"
    assert (result.outputs["/work"] / "note").read_text() == "kept\n"


# --- lifecycle: labels, removal, nothing else touched ---------------------------------------


def test_a_run_uses_a_labelled_container_that_is_removed_afterwards(engine, tmp_path):
    label = f"test-{uuid.uuid4().hex[:8]}"
    sandbox = get_sandbox(f"docker?run={label}&prestart=0")
    seen: list = []
    worker = threading.Thread(target=lambda: seen.append(run(sandbox, tmp_path, "sleep 2")))
    worker.start()
    during: list = []
    while worker.is_alive() and not during:
        during = labelled(engine, "hgm.run", label)
        time.sleep(0.05)
    worker.join()
    sandbox.close()
    assert seen[0].exit_code == 0 and len(during) == 1
    assert labelled(engine, "hgm.run", label) == []
    assert engine.volumes.list(filters={"label": f"hgm.run={label}"}) == []


def test_close_removes_containers_started_ahead(engine, tmp_path):
    label = f"test-{uuid.uuid4().hex[:8]}"
    sandbox = get_sandbox(f"docker?run={label}&prestart=1")
    run(sandbox, tmp_path, "true")
    give_up = time.monotonic() + 30
    while not labelled(engine, "hgm.run", label) and time.monotonic() < give_up:
        time.sleep(0.05)
    assert labelled(engine, "hgm.run", label), "no container was started ahead"
    sandbox.close()
    assert labelled(engine, "hgm.run", label) == []


def test_close_never_touches_containers_it_did_not_create(box, engine, tmp_path):
    bystander = engine.containers.create(image_module.image_tag(), ["sleep", "600"])
    try:
        sandbox = get_sandbox("docker")
        run(sandbox, tmp_path, "true")
        sandbox.close()
        bystander.reload()
        assert bystander.status == "created"
    finally:
        bystander.remove(force=True)


def test_containers_left_by_a_dead_driver_are_reaped_and_no_others(engine):
    dead = subprocess.Popen(["true"])
    dead.wait()
    common = {"hgm.sandbox": "old", "hgm.host": socket.gethostname()}
    orphan = engine.containers.create(
        image_module.image_tag(), ["true"], labels={**common, "hgm.pid": str(dead.pid)}
    )
    alive = engine.containers.create(
        image_module.image_tag(), ["true"], labels={**common, "hgm.pid": str(os.getpid())}
    )
    try:
        get_sandbox("docker?prestart=0").close()
        remaining = {c.id for c in labelled(engine, "hgm.sandbox", "old")}
        assert remaining == {alive.id}
    finally:
        for container in (orphan, alive):
            with contextlib.suppress(Exception):
                container.remove(force=True)


def test_existing_image_is_reused_not_rebuilt(engine):
    built = image_module.build_image(client=engine)
    assert built.route == "reused" and built.tag == image_module.image_tag()


def test_image_module_entry_point_prints_the_tag(engine):
    done = subprocess.run(
        [sys.executable, "-m", "hgm.sandbox.image"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == image_module.image_tag()


# --- choosing the backend, and when the engine is not there ---------------------------------


def test_engine_that_does_not_answer_is_a_sandbox_error_saying_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(SandboxError, match="ensure-docker.sh|pip install"):
        get_sandbox("docker")


def test_auto_falls_back_to_local_with_a_warning(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with caplog.at_level(logging.WARNING):
        sandbox = get_sandbox("auto")
    sandbox.close()
    assert sandbox.name.startswith("local")
    assert any("not docker" in record.getMessage() for record in caplog.records)


def test_auto_picks_docker_when_the_engine_answers(box):
    sandbox = get_sandbox("auto")
    sandbox.close()
    assert sandbox.name == "docker"


def test_auto_takes_no_parameters():
    with pytest.raises(ValueError, match="auto"):
        get_sandbox("auto?runtime=runsc")


def test_gvisor_runtime_is_used_when_registered_and_refused_with_a_fix_when_not(engine):
    if "runsc" in (engine.info().get("Runtimes") or {}):
        sandbox = get_sandbox("docker?runtime=runsc&prestart=0")
        try:
            result = sandbox.run(RunSpec("dmesg 2>/dev/null | head -1; echo ran"), Path("/tmp") / uuid.uuid4().hex)
        finally:
            sandbox.close()
        assert sandbox.name == "docker(runsc)" and result.stdout.endswith("ran\n")
        return
    with pytest.raises(SandboxError, match="gVisor"):
        get_sandbox("docker?runtime=runsc")


def test_gateway_socket_the_sandbox_user_cannot_write_is_rejected(box, tmp_path):
    folder = Path(f"/tmp/hgm-gw-{uuid.uuid4().hex[:8]}")
    folder.mkdir()
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(folder / "gw.sock"))
        (folder / "gw.sock").chmod(0o700)
        spec = RunSpec("true", network="gateway", gateway_socket=folder / "gw.sock")
        with pytest.raises(ValueError, match="0666"):
            box.run(spec, tmp_path / "out")
    finally:
        server.close()
        shutil.rmtree(folder)


class EngineProxy:
    """A unix socket forwarding to the engine's, which a test can cut and restore."""

    def __init__(self, upstream: str, path: Path) -> None:
        self.upstream, self.path = upstream, path
        self._sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def start(self) -> None:
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(self.path))
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def cut(self) -> None:
        self.path.unlink(missing_ok=True)
        self.listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.upstream)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@pytest.mark.slow
def test_engine_lost_mid_run_is_an_error_result_and_later_runs_work(box, engine, tmp_path, monkeypatch):
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        pytest.skip("the engine is not on a unix socket; this test cuts one")
    proxy = EngineProxy(host[len("unix://") :], Path(f"/tmp/hgm-engine-{uuid.uuid4().hex[:8]}.sock"))
    proxy.start()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{proxy.path}")
    label = f"test-{uuid.uuid4().hex[:8]}"
    sandbox = get_sandbox(f"docker?prestart=0&run={label}")
    try:
        cutting = threading.Timer(1.5, proxy.cut)
        cutting.start()
        lost = run(sandbox, tmp_path, "sleep 20")
        cutting.join()  # the run may see the cut before the cut has removed the socket file
        proxy.start()
        again = run(sandbox, tmp_path, "echo back")
    finally:
        sandbox.close()
        proxy.cut()
        for container in labelled(engine, "hgm.run", label):
            container.remove(force=True, v=True)
    assert lost.error and lost.exit_code is None
    assert again.error is None and again.stdout == "back\n"


# --- doctor ---------------------------------------------------------------------------------


def test_doctor_names_each_prerequisite_and_how_to_get_it():
    checks = {check.name: check for check in doctor()}
    assert {"Docker engine", "sandbox image", "bubblewrap", "gVisor (runsc)"} <= set(checks)
    if checks["bubblewrap"].ok:  # this machine, and CI: root with setpriv, or a normal user
        assert checks["local sandbox user"].ok and "pids limit holds" in checks["local sandbox user"].detail
    for check in checks.values():
        assert check.ok or check.fix, f"{check.name} fails without saying what to do"


HELLO = {
    "hello.cpp": '#include <iostream>\nint main() { std::cout << "c++ ok" << std::endl; }\n',
    "hello.go": 'package main\nimport "fmt"\nfunc main() { fmt.Println("go ok") }\n',
    "hello.rs": 'fn main() { println!("rust ok"); }\n',
    "Hello.java": 'class Hello { public static void main(String[] a) { System.out.println("java ok"); } }\n',
    "hello.js": 'console.log("node ok");\n',
}


@pytest.mark.toolchains
def test_toolchains_image_compiles_and_runs_every_language(tmp_path):
    # Built by `make test-toolchains` (left out of `make test`: a few minutes and ~1 GB).
    need_docker()
    src = tmp_path / "src"
    src.mkdir()
    for name, text in HELLO.items():
        (src / name).write_text(text)
    sandbox = get_sandbox("docker?toolchains=1&build=0&prestart=0")
    try:
        command = (
            "cd $HGM_WORKSPACE && export HOME=/tmp GOCACHE=/tmp/go && "
            "g++ -o /tmp/hc hello.cpp && /tmp/hc && go run hello.go && "
            "rustc -o /tmp/hr hello.rs && /tmp/hr && javac -d /tmp Hello.java && "
            "java -cp /tmp Hello && node hello.js && jest --version >/dev/null && "
            "cmake --version >/dev/null && make --version >/dev/null && cargo --version >/dev/null"
        )
        result = sandbox.run(
            RunSpec(command, mounts=(Mount(src, "/work", writable=True, env="HGM_WORKSPACE"),),
                    time_limit_s=300, memory_mb=2048),  # fmt: skip
            tmp_path / "out",
        )
    finally:
        sandbox.close()
    assert result.error is None and result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["c++ ok", "go ok", "rust ok", "java ok", "node ok"]


def _shared(tmp_path: Path, name: str, files: dict[str, str]) -> Mount:
    folder = tmp_path / name
    folder.mkdir()
    for rel, text in files.items():
        (folder / rel).write_text(text)
    return Mount(folder, "/shared", shared=True)


def test_shared_content_is_put_into_containers_started_ahead(engine, tmp_path):
    label = f"test-{uuid.uuid4().hex[:8]}"
    sandbox = get_sandbox(f"docker?run={label}&prestart=1")
    try:
        first = run(sandbox, tmp_path, "cat /shared/a", _shared(tmp_path, "s1", {"a": "one"}))
        assert first.stdout == "one"
        give_up, found = time.monotonic() + 30, None
        while found is None and time.monotonic() < give_up:
            left = labelled(engine, "hgm.run", label)
            for container in left if len(left) == 1 else ():  # the used one goes in the background
                with contextlib.suppress(Exception):
                    stream, _ = container.get_archive("/shared/a")  # before any run has it
                    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                        found = tar.extractfile("a").read()
            time.sleep(0.05)
        assert found == b"one"
    finally:
        sandbox.close()


def test_a_run_sees_exactly_its_own_shared_content_read_only(box, tmp_path):
    script = "ls /shared | tr '\\n' ' '; cat /shared/a; touch /shared/a 2>/dev/null && echo WROTE"
    contents = [{"a": "one", "b": "x"}, {"a": "two"}, {"a": "two"}, {"a": "one", "b": "x"}]
    seen = [run(box, tmp_path, script, _shared(tmp_path, f"s{i}", files)).stdout for i, files in enumerate(contents)]
    assert seen == ["a b one", "a two", "a two", "a b one"]
