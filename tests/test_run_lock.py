"""One driver per run: a second `hgm run --resume` is refused while the first lives, naming
its pid, and a SIGKILLed driver leaves no stale lock behind."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hgm.archive import check_run
from hgm.archive.lock import LOCK, RunLocked, driver_lock

HGM = str(Path(sys.executable).parent / "hgm")
TASKS = "builtin?ids=paginate-page-count,csv-quoted-fields"
LOCKED = 1  # README "Exit codes"


def _slow_model(tmp_path: Path, seconds: int) -> Path:
    """A scripted model whose agent sleeps ``seconds`` in the sandbox, then gives up."""
    script = tmp_path / "slow.yaml"
    script.write_text(
        "replies:\n"
        "  evaluation:\n"
        f"    - tool_calls: [{{name: bash, arguments: {{command: 'sleep {seconds}'}}}}]\n"
        "    - tool_calls: [{name: finish, arguments: {summary: slept}}]\n"
    )
    return script


def _wait_for(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _events(db: Path) -> list[tuple[str, str]]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return list(con.execute("select kind, data from events order by id"))
    except sqlite3.OperationalError:
        return []


def test_the_lock_is_exclusive_and_names_its_holder(tmp_path):
    with driver_lock(tmp_path):
        assert (tmp_path / LOCK).read_text().strip() == str(os.getpid())
        code = (f"from hgm.archive.lock import driver_lock\n"
                f"with driver_lock({str(tmp_path)!r}): pass\n")
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert other.returncode != 0 and f"held by process {os.getpid()}" in other.stderr
    with driver_lock(tmp_path):  # released when the block ended
        pass


def test_the_lock_refuses_a_second_holder_in_the_same_process(tmp_path):
    with driver_lock(tmp_path), pytest.raises(RunLocked) as caught, driver_lock(tmp_path):
        pass
    assert caught.value.pid == os.getpid()


@pytest.mark.slow
def test_a_second_driver_is_refused_and_a_killed_one_leaves_no_stale_lock(tmp_path):
    out = tmp_path / "run"
    model = _slow_model(tmp_path, 8)
    first = subprocess.Popen(
        [HGM, "run", "--model", f"scripted:{model}", "--benchmark", TASKS, "--sandbox", "local",
         "--policy", "greedy?evals_per_node=1", "--max-evals", "1", "--workers", "1", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        _wait_for(lambda: any(k == "started" for k, _ in _events(out / "hgm.db")), "the first driver to start")
        second = subprocess.run([HGM, "run", "--resume", str(out)], capture_output=True, text=True, timeout=120)
        assert second.returncode == LOCKED, second.stdout + second.stderr
        assert f"held by process {first.pid}" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1 and "Traceback" not in second.stderr
        assert [k for k, _ in _events(out / "hgm.db")].count("resumed") == 0  # it wrote nothing

        first.send_signal(signal.SIGKILL)  # the driver only: its sandboxed agent may live on
        first.wait(timeout=60)
        third = subprocess.run([HGM, "run", "--resume", str(out)], capture_output=True, text=True, timeout=300)
        assert third.returncode == 0, third.stdout + third.stderr
    finally:
        if first.poll() is None:
            first.kill()
        os.killpg(first.pid, signal.SIGKILL) if _group_alive(first.pid) else None
        first.communicate()
    kinds = [k for k, _ in _events(out / "hgm.db") if k != "evaluation"]
    assert kinds[:2] == ["created", "started"] and "resumed" in kinds and kinds[-1] == "stopped"
    assert check_run(out) == []


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_run_killed_while_being_made_is_made_again_on_resume(tmp_path):
    """A SIGKILL between config.yaml and node 0's commit leaves a folder that is not yet a run;
    --resume makes it from its config.yaml instead of refusing it as "not a run"."""
    import shutil

    from hgm.archive.run import half_made

    hgm = str(Path(sys.executable).parent / "hgm")
    args = ["--model", "scripted:demo", "--benchmark", "builtin?ids=paginate-page-count",
            "--sandbox", "local", "--workers", "1"]  # fmt: skip
    made = subprocess.run([hgm, "run", *args, "--max-evals", "1", "--out", "run"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    run = tmp_path / "run"
    assert not half_made(run)
    (run / "hgm.db").unlink()  # as if killed after the git repository, before the database
    shutil.rmtree(run / "artifacts")
    assert half_made(run)
    again = subprocess.run([hgm, "run", "--resume", "run", "--max-evals", "1"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    check = subprocess.run([hgm, "check", "run"], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_only_a_run_without_node_0_counts_as_half_made(tmp_path):
    from hgm.archive.run import clear_half_made, half_made

    assert not half_made(tmp_path)  # no config.yaml: not a run at all, never emptied
    (tmp_path / "config.yaml").write_text("model: scripted:demo\n")
    (tmp_path / "hgm.db").write_bytes(b"not a database, but maybe someone's data" * 100)
    assert not half_made(tmp_path)  # an unreadable database is reported, not remade
    with pytest.raises(Exception, match="not a half-made run"):
        clear_half_made(tmp_path)
    assert (tmp_path / "hgm.db").exists()
