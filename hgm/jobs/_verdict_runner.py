"""hgm's test runner for the hidden tests: run inside the test sandbox, standard library only.

The driver mounts this file read-only (never in the agent's workspace) and runs
``python3 runner.py supervise unittest|pytest -- ARGS``, where ARGS are the arguments the
task gave ``python -m unittest`` or ``pytest``. Two processes, this same file in two roles:

* the **supervisor** imports no code of the workspace. It takes the per-run nonce from its
  environment, starts the child with an environment without it, hands it the nonce through a
  pipe, reads the child's records from a second pipe, waits for the child, and writes what it
  saw (records carrying the nonce, the child's exit status) to ``$HGM_VERDICT_OUT/verdict.json``.
  It exits with the child's status, so the test log reads as usual.
* the **child** reads the nonce and takes references to unittest's (and pytest's) machinery,
  ``sys.exit`` and ``os._exit`` *before* anything of the workspace is imported; then it runs
  the tests as ``python -m unittest ARGS`` (or ``python -m pytest ARGS``, with a recording
  plugin) would, reports every test's outcome, reports any of that
  machinery the loaded code replaced ("tamper" records, after which the originals are put
  back), and finally a "completed" record with the exit status it is about to use.

The driver (hgm.jobs.verdict) compares these records with the tests the task ships. What this
protects against, and what it does not, is in docs/security.md, "The verdict".
"""

import builtins
import json
import os
import subprocess
import sys
import threading
import unittest
import unittest.case
import unittest.loader
import unittest.main
import unittest.result
import unittest.runner
import unittest.suite

# `unittest.main` is TestProgram itself (the package rebinds the name); the module is here.
_main = sys.modules["unittest.main"]

NONCE_ENV = "HGM_VERDICT_NONCE"
OUT_ENV = "HGM_VERDICT_OUT"
MAX_CHANNEL_BYTES = 16 * 1024 * 1024  # records past this are dropped; the driver sees "overflow"
GRACE_S = 2.0  # how long the supervisor keeps reading after the child exited


# -- supervisor ------------------------------------------------------------------------------


def supervise(framework, args):
    nonce = os.environ.pop(NONCE_ENV, "")
    _undumpable()
    out_dir = os.environ.get(OUT_ENV, ".")
    nonce_r, nonce_w = os.pipe()
    rec_r, rec_w = os.pipe()
    env = {k: v for k, v in os.environ.items() if k not in (NONCE_ENV, OUT_ENV)}
    cmd = [sys.executable, os.path.abspath(__file__), "child", str(nonce_r), str(rec_w), framework, "--", *args]
    child = subprocess.Popen(cmd, env=env, pass_fds=(nonce_r, rec_w))
    os.close(nonce_r)
    os.close(rec_w)
    os.write(nonce_w, nonce.encode())
    os.close(nonce_w)
    chunks, size = [], [0]

    def read():
        while True:
            data = os.read(rec_r, 65536)
            if not data:
                return
            if size[0] < MAX_CHANNEL_BYTES:
                chunks.append(data)
            size[0] += len(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    status = child.wait()
    # A process the tests forked may hold the pipe open: read what is there, then stop.
    reader.join(GRACE_S)
    data = b"".join(chunks)[:MAX_CHANNEL_BYTES]
    records, foreign = [], 0
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            foreign += 1
            continue
        if isinstance(record, dict) and record.pop("n", None) == nonce and nonce:
            records.append(record)
        else:
            foreign += 1
    exit_code = status if status >= 0 else 128 - status
    verdict = {
        "nonce": nonce,
        "child_exit": exit_code,
        "records": records,
        "foreign_lines": foreign,
        "overflow": size[0] > MAX_CHANNEL_BYTES,
    }
    with open(os.path.join(out_dir, "verdict.json"), "w") as f:
        json.dump(verdict, f)
    return exit_code


def _undumpable():
    """Best effort: make /proc/<this process>/environ unreadable to the tests (same uid)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except Exception:
        pass


# -- child -----------------------------------------------------------------------------------

# What the loaded code must leave alone: every attribute these classes define, and a few
# functions. Captured at import of this file, before any test module is imported.
_WATCHED_CLASSES = {
    "unittest.case.TestCase": unittest.case.TestCase,
    "unittest.case._Outcome": unittest.case._Outcome,
    "unittest.suite.BaseTestSuite": unittest.suite.BaseTestSuite,
    "unittest.suite.TestSuite": unittest.suite.TestSuite,
    "unittest.loader.TestLoader": unittest.loader.TestLoader,
    "unittest.result.TestResult": unittest.result.TestResult,
    "unittest.runner.TextTestResult": unittest.runner.TextTestResult,
    "unittest.runner.TextTestRunner": unittest.runner.TextTestRunner,
    "unittest.main.TestProgram": _main.TestProgram,
}
_WATCHED_FUNCTIONS = {
    "sys.exit": (sys, "exit"),
    "os._exit": (os, "_exit"),
    "os.write": (os, "write"),
    # rewriting the hidden test classes as they are defined or imported
    "builtins.__build_class__": (builtins, "__build_class__"),
    "builtins.__import__": (builtins, "__import__"),
}


def _snapshot(classes):
    classes = {name: (cls, dict(vars(cls))) for name, cls in classes.items()}
    functions = {name: getattr(obj, attr) for name, (obj, attr) in _WATCHED_FUNCTIONS.items()}
    return classes, functions


def _tampering(snapshot):
    """What changed since ``snapshot``; each change is undone."""
    classes, functions = snapshot
    found = []
    for name, (cls, attrs) in classes.items():
        now = vars(cls)
        for attr, value in attrs.items():
            if now.get(attr, _MISSING) is not value:
                found.append(f"{name}.{attr} was replaced")
                _restore(cls, attr, value)
        if name.startswith("_pytest."):
            continue  # pytest caches attributes on its own classes as it goes
        for attr in set(now) - set(attrs):
            found.append(f"{name}.{attr} was added")
            _restore(cls, attr, _MISSING)
    for name, (obj, attr) in _WATCHED_FUNCTIONS.items():
        if getattr(obj, attr, _MISSING) is not functions[name]:
            found.append(f"{name} was replaced")
            setattr(obj, attr, functions[name])
    # A trace or profile function sees every frame: it can rewrite what the tests compute.
    if sys.gettrace() is not None:
        found.append("a trace function was installed (sys.settrace)")
        sys.settrace(None)
    if sys.getprofile() is not None:
        found.append("a profile function was installed (sys.setprofile)")
        sys.setprofile(None)
    return found


_MISSING = object()


def _restore(cls, attr, value):
    try:
        if value is _MISSING:
            type.__delattr__(cls, attr)
        else:
            type.__setattr__(cls, attr, value)
    except (AttributeError, TypeError):
        pass


def child(nonce_fd, rec_fd, framework, args):
    write = os.write
    nonce = os.read(nonce_fd, 4096).decode()
    os.close(nonce_fd)
    os.set_inheritable(rec_fd, False)

    def send(kind, **fields):
        line = json.dumps({"n": nonce, "k": kind, **fields}) + "\n"
        try:  # noqa: SIM105 -- contextlib is one more module the tests could patch
            write(rec_fd, line.encode())
        except OSError:
            pass

    # As under `python -m unittest` / `python -m pytest`: the working folder first on
    # sys.path, not this file's.
    sys.path[0] = os.getcwd()
    send("started")
    run = _run_pytest if framework == "pytest" else _run_unittest
    ran, ok = run(args, send)
    code = 0 if (ok and ran > 0) else 1
    send("completed", ran=ran, exit=code)
    # A normal exit, so that whatever the tests registered to run at exit runs, and the
    # supervisor sees whether it changed the exit status.
    raise SystemExit(code)


def _run_unittest(args, send):
    snapshot = _snapshot(_WATCHED_CLASSES)
    sys.argv = ["python -m unittest", *args]
    program = _Program(module=None, argv=sys.argv, exit=False)
    send("loaded", count=program.test.countTestCases())
    for what in _tampering(snapshot):
        send("tamper", what=what)
    runner = unittest.runner.TextTestRunner(
        verbosity=program.verbosity, failfast=program.failfast, buffer=program.buffer,
        warnings=program.warnings, tb_locals=program.tb_locals, resultclass=_recording_result(send),
    )
    result = runner.run(program.test)
    for what in _tampering(snapshot):
        send("tamper", what=what)
    return result.testsRun, result.wasSuccessful()


def _run_pytest(args, send):
    import _pytest.main
    import _pytest.python
    import _pytest.reports
    import _pytest.runner
    import _pytest.unittest
    import pytest

    classes = dict(_WATCHED_CLASSES)
    classes.update({
        "_pytest.python.Function": _pytest.python.Function,
        "_pytest.unittest.TestCaseFunction": _pytest.unittest.TestCaseFunction,
        "_pytest.reports.TestReport": _pytest.reports.TestReport,
        "_pytest.runner.CallInfo": _pytest.runner.CallInfo,
        "_pytest.main.Session": _pytest.main.Session,
    })
    snapshot = _snapshot(classes)
    runner_functions = {k: v for k, v in vars(_pytest.runner).items() if callable(v)}
    recorder = _PytestRecorder(send, snapshot, runner_functions, _pytest.runner)
    sys.argv = ["python -m pytest", *args]
    pytest.main(list(args), plugins=[recorder])
    recorder.check()
    return recorder.ran, recorder.ok


class _PytestRecorder:
    """A pytest plugin: each test's outcome by its id (file relative to the working folder)."""

    def __init__(self, send, snapshot, runner_functions, runner_module):
        self.send, self.snapshot = send, snapshot
        self.runner_functions, self.runner_module = runner_functions, runner_module
        self.ids, self.ran, self.ok = {}, 0, True

    def check(self):
        for what in _tampering(self.snapshot):
            self.send("tamper", what=what)
        for name, value in self.runner_functions.items():
            if vars(self.runner_module).get(name) is not value:
                self.send("tamper", what=f"_pytest.runner.{name} was replaced")
                setattr(self.runner_module, name, value)

    def pytest_collection_finish(self, session):
        cwd = os.getcwd()
        for item in session.items:
            rest = item.nodeid.split("::")[1:]
            path = os.path.relpath(str(item.path), cwd).replace(os.sep, "/")
            name = "::".join([path, *rest])
            self.ids[item.nodeid] = name.split("[", 1)[0]
        self.send("loaded", count=len(session.items))
        self.check()

    def pytest_runtest_logreport(self, report):
        xfail = hasattr(report, "wasxfail")
        if report.when == "call":
            if report.passed:
                outcome = "pass"  # a non-strict xpass is a pass for pytest too
            elif report.failed:
                outcome = "fail"
            else:
                outcome = "xfail" if xfail else "skip"
        elif report.failed:
            outcome = "error"
        elif report.skipped and report.when == "setup":
            outcome = "xfail" if xfail else "skip"
        else:
            return
        if report.when != "teardown":
            self.ran += 1
        if outcome in ("fail", "error"):
            self.ok = False
        self.send("test", id=self.ids.get(report.nodeid, report.nodeid), o=outcome)


class _Program(_main.TestProgram):
    """Parses arguments and loads the tests like ``python -m unittest``; runs nothing."""

    def runTests(self):
        pass


def _recording_result(send):
    base = unittest.runner.TextTestResult

    class Recording(base):
        def addSuccess(self, test):
            base.addSuccess(self, test)
            send("test", id=test.id(), o="pass")

        def addFailure(self, test, err):
            base.addFailure(self, test, err)
            send("test", id=test.id(), o="fail")

        def addError(self, test, err):
            base.addError(self, test, err)
            send("test", id=test.id(), o="error")

        def addSkip(self, test, reason):
            base.addSkip(self, test, reason)
            send("test", id=test.id(), o="skip")

        def addExpectedFailure(self, test, err):
            base.addExpectedFailure(self, test, err)
            send("test", id=test.id(), o="xfail")

        def addUnexpectedSuccess(self, test):
            base.addUnexpectedSuccess(self, test)
            send("test", id=test.id(), o="xpass")

        def addSubTest(self, test, subtest, err):
            base.addSubTest(self, test, subtest, err)
            if err is not None:
                send("test", id=test.id(), o="fail", sub=True)

    return Recording


def main(argv):
    if argv[1:2] == ["supervise"] and argv[2:3] == ["--"]:
        sys.exit(supervise("unittest", argv[3:]))
    if argv[1:2] == ["supervise"] and argv[2:3] in (["unittest"], ["pytest"]) and argv[3:4] == ["--"]:
        sys.exit(supervise(argv[2], argv[4:]))
    if len(argv) >= 6 and argv[1] == "child" and argv[5] == "--":
        child(int(argv[2]), int(argv[3]), argv[4], argv[6:])
    sys.exit("usage: runner.py supervise [unittest|pytest] -- ARGS")


if __name__ == "__main__":
    main(sys.argv)
