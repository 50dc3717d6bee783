"""The two programs the docker backend runs inside each container (Python 3 standard library).

``HOLDER`` is the container's first process: it only keeps the container (and its tmpfs
volumes) alive and reaps orphans; as the pid namespace's init it cannot be killed from inside.

``LAUNCHER`` runs once per container through ``docker exec``, started with the container
(possibly long before its run comes). It reads the job from stdin: one JSON line, then a tar
stream of the writable mounts' content. It unpacks that, starts the gateway relay if asked,
runs the command with its stdout and stderr on pipes of its own, and writes one framed stream
on its stdout (the command never writes there, so nothing in it can be forged by the command):

    r                 ready: the command is about to start (before it: the sandbox failed)
    o / e <bytes>     the command's stdout / stderr, at most ``output_limit`` bytes each
    x <json>          the command is over: {"code", "timed_out", "truncated": [out, err]}
    t <bytes> ... u   a tar stream of one writable mount (one per mount, in job order)
    z                 the end

Each frame is a kind byte, a 4-byte big-endian length, and that many bytes. At the time limit,
and when the command exits, every other process of the sandbox is killed, so nothing changes
the mounts while they are archived. Both programs make themselves non-dumpable, so that the
command (same uid) cannot ptrace them.
"""

LIMIT_MARK = "hgm sandbox: limit:"
"""How the launcher's stderr starts when the job's files broke a limit (the command's doing)."""

HOLDER = """
import ctypes, os, signal
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
          signal.SIGUSR2, signal.SIGALRM, signal.SIGPIPE):
    signal.signal(s, lambda *_: None)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
while True:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass
    signal.sigwaitinfo({signal.SIGCHLD})
"""

LAUNCHER = r"""
import ctypes, errno, json, os, select, signal, stat, struct, subprocess, sys, tarfile

LIMIT = "limit:"

def frame(kind, payload=b""):
    view = memoryview(kind + struct.pack(">I", len(payload)) + payload)
    while view:
        view = view[os.write(1, view):]

def fail(message):
    sys.stderr.write("hgm sandbox: %s\n" % message)
    sys.stderr.flush()
    os._exit(125)

def kill_others(*_):
    try:
        os.kill(-1, signal.SIGKILL)  # every process of the sandbox but this one and its init
    except ProcessLookupError:
        pass

class Framed:
    def __init__(self, kind):
        self.kind = kind
    def write(self, data):
        if data:
            frame(self.kind, bytes(data))
        return len(data)

def unpack(stdin):
    try:
        with tarfile.open(fileobj=stdin, mode="r|") as tar:
            tar.extractall("/")  # the driver's tar of the host folders
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # the files' doing, not the sandbox's
            fail("%s the writable mounts do not fit in their tmpfs: %s" % (LIMIT, exc))
        fail("could not copy the writable mounts in: %s" % exc)
    except tarfile.TarError as exc:
        fail("could not copy the writable mounts in: %s" % exc)

def start_relay(job, env):
    relay = subprocess.Popen(
        [sys.executable, "-I", "-c", job["relay"], "--socket", job["socket"]],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    port = relay.stdout.readline().decode().strip()
    relay.stdout.close()
    if not port.isdigit():
        fail("the gateway relay did not start")
    env["HGM_GATEWAY_URL"] = "http://127.0.0.1:%s/v1" % port
    env["HGM_GATEWAY_SOCKET"] = job["socket"]

def pump(command, limit):
    fds = {command.stdout.fileno(): b"o", command.stderr.fileno(): b"e"}
    sent = {b"o": 0, b"e": 0}
    try:
        exited = os.pidfd_open(command.pid)
    except (AttributeError, OSError):
        exited = None
    waiting = list(fds) + ([exited] if exited is not None else [])
    while fds:
        ready, _, _ = select.select(waiting, [], [], None if exited is not None else 0.05)
        if command.returncode is None and (exited in ready or command.poll() is not None):
            command.wait()
            kill_others()  # its leftovers, which may hold the pipes open
            if exited is not None:
                waiting.remove(exited)
                os.close(exited)
        for fd in [fd for fd in ready if fd in fds]:
            data = os.read(fd, 65536)
            kind = fds[fd]
            if not data:
                del fds[fd]
                waiting.remove(fd)
                continue
            room = limit - sent[kind]
            if room > 0:
                frame(kind, data[:room])
            sent[kind] += len(data)
    command.wait()
    return [sent[b"o"] > limit, sent[b"e"] > limit]

def archive(target):
    base = os.path.basename(target)
    with tarfile.open(fileobj=Framed(b"t"), mode="w|", format=tarfile.PAX_FORMAT,
                      bufsize=65536) as tar:
        try:
            os.chmod(target, os.lstat(target).st_mode | 0o700)
            tar.add(target, base, recursive=False)
        except OSError:
            pass
        # Iterative, parents before children: os.walk recurses (Python 3.11), and the
        # command may have made a folder chain deeper than the recursion limit.
        stack = [""]
        while stack:
            rel = stack.pop()
            try:
                names = sorted(os.listdir(os.path.join(target, rel)))
            except OSError:
                continue
            for name in names:
                sub = os.path.join(rel, name) if rel else name
                path = os.path.join(target, sub)
                try:
                    # The command may have taken permissions away from its own files.
                    mode = os.lstat(path).st_mode
                    if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
                        os.chmod(path, mode | (0o700 if stat.S_ISDIR(mode) else 0o400))
                    tar.add(path, os.path.join(base, sub), recursive=False)
                except OSError:
                    continue
                if stat.S_ISDIR(mode):
                    stack.append(sub)
    frame(b"u")

def main():
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
    stdin = sys.stdin.buffer
    line = stdin.readline()
    if not line:
        fail("no job came")
    job = json.loads(line)
    if job["tar"]:
        unpack(stdin)
    env = job["env"]
    if job["relay"]:
        start_relay(job, env)
    try:
        os.chdir(job["workdir"])
    except OSError as exc:
        fail("cannot enter %s: %s" % (job["workdir"], exc))
    timed_out = []
    def expire(*_):
        timed_out.append(True)
        kill_others()
    signal.signal(signal.SIGALRM, expire)
    frame(b"r")
    command = subprocess.Popen(["bash", "-c", job["command"]], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    signal.setitimer(signal.ITIMER_REAL, max(job["time_limit_s"], 0.001))
    truncated = pump(command, job["output_limit"])
    signal.setitimer(signal.ITIMER_REAL, 0)
    kill_others()
    code = command.returncode
    frame(b"x", json.dumps({"code": 128 - code if code < 0 else code,
                            "timed_out": bool(timed_out), "truncated": truncated}).encode())
    for target in job["collect"]:
        archive(target)
    frame(b"z")

main()
"""
