"""The Docker engine stops in the middle of a run, for real, and comes back.

The engine is stopped with SIGTERM, as `systemctl stop docker` would, while a scripted run
has work in flight; it is started again with the project's own scripts/ensure-docker.sh.
This only happens to an engine that script started (it leaves a marker file); an engine
managed elsewhere is never touched, and the test is skipped there. In CI the engine is
always the script's.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hgm.archive import Run, check_run
from hgm.types import Outcome

pytestmark = [pytest.mark.slow, pytest.mark.alone]

ROOT = Path(__file__).resolve().parents[1]
MARK = Path(os.environ.get("HGM_DOCKERD_MARK", "/run/hgm-dockerd.started"))
PIDFILE = Path("/var/run/docker.pid")
TASKS = "builtin?ids=paginate-page-count,csv-quoted-fields,lru-cache-eviction,rate-limiter-refill"


def _engine_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.fixture
def engine():
    """Stop and start the Docker engine that scripts/ensure-docker.sh started."""
    if not (MARK.exists() and PIDFILE.exists() and os.geteuid() == 0 and _engine_answers()):
        pytest.skip(f"the Docker engine is not one this project started ({MARK} missing, or not root)")

    class Engine:
        def stop(self) -> None:
            pid = int(PIDFILE.read_text())
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.1)
            assert not _engine_answers()

        def start(self) -> None:
            subprocess.run(["bash", str(ROOT / "scripts" / "ensure-docker.sh")], check=True,
                           capture_output=True, timeout=120)  # fmt: skip

    yield Engine()
    if not _engine_answers():  # never leave the machine without its engine
        Engine().start()


def _events(db: Path) -> list[tuple[str, dict]]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return [(k, json.loads(d)) for k, d in con.execute("select kind, data from events order by id")]
    except sqlite3.OperationalError:
        return []


def _evaluations(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute("select count(*) from evaluations").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _wait_for(condition, what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _start_run(tmp_path: Path, wait_minutes: float, max_evals: int, extra: str = "") -> tuple[subprocess.Popen, Path]:
    config = tmp_path / "run.yaml"
    config.write_text(f"sandbox_wait_minutes: {wait_minutes}\n{extra}")
    out = tmp_path / "run"
    args = ["run", "--config", config, "--model", "scripted:demo", "--benchmark", TASKS,
            "--sandbox", "docker", "--max-evals", max_evals, "--workers", 2, "--out", out]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "hgm.cli", *map(str, args)], env={**os.environ, "COLUMNS": "500"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    return proc, out


def _judged(run: Run) -> int:
    return sum(e.outcome is not Outcome.ERROR for e in run.evaluations())


def test_the_run_waits_for_a_stopped_engine_and_goes_on_when_it_is_back(tmp_path, engine):
    # One infrastructure error would stop the run, were it not the outage's.
    proc, out = _start_run(tmp_path, wait_minutes=5, max_evals=12, extra="max_consecutive_errors: 1\n")
    db = out / "hgm.db"
    _wait_for(lambda: _evaluations(db) >= 3, "the first evaluations")
    engine.stop()
    _wait_for(lambda: any(k == "sandbox_unavailable" for k, _ in _events(db)), "the run to notice")
    time.sleep(3)  # the run waits: nothing new may start while the engine is gone
    idle = _evaluations(db)
    time.sleep(3)
    assert _evaluations(db) == idle
    engine.start()
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output
    assert "waiting: the Docker engine does not answer" in output
    kinds = [k for k, _ in _events(db)]
    assert kinds.index("sandbox_unavailable") < kinds.index("sandbox_available")
    run = Run.open(out, readonly=True)
    # The errors were owed again and redone once the engine was back: the run went on to its
    # budget (or, rarely, to where HGM could screen no further child, and said so).
    assert _judged(run) == 12 or (_judged(run) > idle and "the policy stopped" in output)
    leftover = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=hgm.pid={proc.pid}"],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert leftover == ""  # containers the engine stopped were removed once it was back
    # What was in flight when the engine went: evaluations recorded as errors, expansions
    # as failed, each saying why. (An expansion may also fail for its own reasons.)
    errors = [e.reason for e in run.evaluations() if e.outcome is Outcome.ERROR]
    failed = [x.reason for x in run.expansions() if x.child is None]
    infrastructure = ("sandbox failed", "test harness failed")
    assert all(r.startswith(infrastructure) for r in errors), errors
    assert any(any(w in r for w in infrastructure) for r in errors + failed), errors + failed
    assert not any("Traceback" in r for r in errors + failed)  # the reason says it all
    run.close()
    assert check_run(out) == []


def test_the_run_stops_with_a_clear_message_and_resumes_once_the_engine_is_back(tmp_path, engine):
    proc, out = _start_run(tmp_path, wait_minutes=0.05, max_evals=10)
    db = out / "hgm.db"
    _wait_for(lambda: _evaluations(db) >= 3, "the first evaluations")
    engine.stop()
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 3, output  # README "Exit codes": stopped on errors
    assert "the sandbox has been unavailable" in output and f"hgm run --resume {out}" in output
    assert output.count("the Docker engine does not answer (") <= 3  # said once, not per container
    sandbox_events = [k for k, _ in _events(db) if k.startswith("sandbox_")]
    assert sandbox_events[-2:] == ["sandbox_unavailable", "sandbox_gave_up"]
    before = Run.open(out, readonly=True)
    judged = _judged(before)
    before.close()
    assert judged < 10 and check_run(out) == []

    engine.start()
    resumed = subprocess.run([sys.executable, "-m", "hgm.cli", "run", "--resume", str(out)],
                             capture_output=True, text=True, timeout=600)  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    run = Run.open(out, readonly=True)
    # The resume goes on to the budget, or to where HGM can screen no further child (4
    # tasks: a node takes 4 evaluations) and stops itself, saying so.
    assert _judged(run) == 10 or (judged < _judged(run) and "the policy stopped" in resumed.stdout)
    run.close()
    assert check_run(out) == []
