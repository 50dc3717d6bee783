"""The verdict on a run of hidden tests: which expected tests ran and passed, not just exit 0.

The hidden tests import the agent's code, so that code runs in the test process and may try
to fake a pass (exit 0 from an ``atexit`` handler or at import, a patched test framework).
For a test command that is a Python ``unittest`` or ``pytest`` invocation, hgm therefore runs
the tests under its own runner (``_verdict_runner.py``, mounted read-only, never in the workspace):

1. :func:`parse_test_command` recognises ``[PREFIX &&] python[3] -m unittest ARGS`` and
   ``[PREFIX &&] [python[3] -m] pytest ARGS``;
2. :func:`~hgm.jobs.expected_tests.expected_tests` reads the test ids the task ships from its
   hidden test files with :mod:`ast` (no code is imported);
3. the runner reports each test's outcome over a pipe with a per-run nonce to a supervisor
   process, which writes them to a file in a mount of its own;
4. :func:`judge` requires every expected test to be reported passed, a "completed" record,
   the exit status the runner chose, and no tampering.

Any other test command is judged by its exit status alone (:func:`exit_code_verdict`).
docs/security.md, "The verdict", states what this guarantees and what it does not.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from hgm.jobs.expected_tests import Expectation
from hgm.sandbox import RunResult
from hgm.types import Outcome

RUNNER = Path(__file__).with_name("_verdict_runner.py")
VERDICT_FILE = "verdict.json"
MAX_VERDICT_BYTES = 32 * 1024 * 1024
TESTS_FAILED = "hidden tests failed"

_PYTHON = re.compile(
    r"^(?P<prefix>.*&&\s*)?(?:(?P<python>python3?)\s+-m\s+)?(?P<framework>unittest|pytest)(?P<args>(\s.*)?)$",
    re.DOTALL,
)
# Arguments hgm can pass on safely: plain words, no shell syntax.
_PLAIN_ARG = re.compile(r"^[A-Za-z0-9_.,/*?=+:@%-]+$")


@dataclass(frozen=True)
class PythonTests:
    """A test command that is ``[prefix] python -m unittest|pytest args`` (or ``pytest args``)."""

    prefix: str
    python: str
    args: tuple[str, ...]
    framework: str = "unittest"

    def command(self, runner: str) -> str:
        """The same command, run under hgm's runner at ``runner`` (a shell word)."""
        return f"{self.prefix}{self.python} {runner} supervise {self.framework} -- {shlex.join(self.args)}".rstrip()


@dataclass(frozen=True)
class Verdict:
    """The outcome of a hidden-test run, why, and lines for the test log."""

    outcome: Outcome
    reason: str | None = None
    notes: tuple[str, ...] = ()


def parse_test_command(command: str) -> PythonTests | None:
    """The unittest invocation in ``command``, or None when it is not one hgm can run."""
    m = _PYTHON.match(command.strip())
    if m is None or (m.group("framework") == "unittest" and not m.group("python")):
        return None
    prefix = m.group("prefix") or ""
    try:
        args = shlex.split(m.group("args") or "")
    except ValueError:
        return None
    if not all(_PLAIN_ARG.match(a) for a in args):
        return None
    return PythonTests(prefix, m.group("python") or "python3", tuple(args), m.group("framework"))


# -- judging --------------------------------------------------------------------------------------


def exit_code_verdict(result: RunResult, why: str) -> Verdict:
    """The verdict by exit status alone, for test commands hgm's runner cannot run."""
    note = f"exit-code verdict: {why}"
    pre = _precondition(result)
    if pre is not None:
        return Verdict(pre.outcome, pre.reason, (note,))
    if result.exit_code == 0:
        return Verdict(Outcome.PASS, None, (note,))
    return Verdict(Outcome.FAIL, TESTS_FAILED, (note,))


def _precondition(result: RunResult) -> Verdict | None:
    if result.error:
        return Verdict(Outcome.ERROR, f"test harness failed: {result.error}")
    limit = result.limit
    if limit:
        return Verdict(Outcome.FAIL, f"the hidden tests' run broke a limit: {limit}")
    if result.timed_out:
        return Verdict(Outcome.FAIL, "hidden tests timed out")
    return None


def judge(result: RunResult, out_dir: Path | None, expected: Expectation, nonce: str) -> Verdict:
    """The verdict from the runner's records in ``out_dir`` (the collected verdict mount)."""
    pre = _precondition(result)
    if pre is not None:
        return pre
    data = _read_verdict(out_dir)
    if data is None:
        return Verdict(
            Outcome.FAIL,
            f"the hidden tests left no verdict: the test process or hgm's runner was killed (exit code {result.exit_code})",
        )
    if data.get("nonce") != nonce:
        return Verdict(Outcome.FAIL, "tampering: hgm's verdict file was overwritten")
    return _judge_records(result, data, expected)


def _read_verdict(out_dir: Path | None) -> dict | None:
    if out_dir is None:
        return None
    path = out_dir / VERDICT_FILE
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_VERDICT_BYTES:
            return None
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("records"), list) else None


@dataclass
class _Seen:
    loaded: bool = False
    completed: dict | None = None
    tampering: list[str] = field(default_factory=list)
    outcomes: dict[str, set[str]] = field(default_factory=dict)


def _collect(records: list) -> _Seen:
    seen = _Seen()
    for r in records:
        if not isinstance(r, dict):
            continue
        kind = r.get("k")
        if kind == "loaded":
            seen.loaded = True
        elif kind == "completed" and seen.completed is None:
            seen.completed = r
        elif kind == "tamper":
            seen.tampering.append(str(r.get("what", "?"))[:200])
        elif kind == "test" and isinstance(r.get("id"), str):
            seen.outcomes.setdefault(r["id"], set()).add(str(r.get("o")))
    return seen


def _judge_records(result: RunResult, data: dict, expected: Expectation) -> Verdict:
    seen = _collect(data["records"])
    child_exit = data.get("child_exit")
    tampering = list(dict.fromkeys(seen.tampering))
    if seen.completed is not None:
        if seen.completed.get("exit") != child_exit:
            tampering.append(
                f"the test process's exit status was changed from {seen.completed.get('exit')} "
                f"to {child_exit} after its tests finished (e.g. by an atexit handler)"
            )
    elif child_exit == 0:
        when = "while its tests were running" if seen.loaded else "while its tests were being loaded"
        tampering.append(f"the test process exited with status 0 {when}, before it reported completion")
    if data.get("foreign_lines"):
        tampering.append(f"{data['foreign_lines']} records without the run's nonce reached hgm's result channel")
    if data.get("overflow"):
        tampering.append("hgm's result channel was flooded")
    failed = sorted(i for i, o in seen.outcomes.items() if o & {"fail", "error", "xpass"})
    # With a selection the ids cannot follow (-k), only what ran is judged.
    wanted = expected.tests if expected.complete else {}
    missing = sorted(i for i, allowed in wanted.items() if not seen.outcomes.get(i) or not seen.outcomes[i] <= allowed)
    passed = len(wanted) - len(missing)
    notes = (
        f"hgm runner: {passed} of {len(wanted)} expected tests passed; "
        f"{len(seen.outcomes)} tests reported, {len(failed)} failed",
        *(f"tampering: {t}" for t in tampering),
        *(f"did not run or pass: {i}" for i in missing[:20]),
    )
    if tampering:
        return Verdict(Outcome.FAIL, "tampering: " + "; ".join(tampering[:3]), notes)
    if seen.completed is None:
        return Verdict(
            Outcome.FAIL, f"the test process exited (status {child_exit}) before its tests finished", notes
        )
    if failed:
        return Verdict(Outcome.FAIL, TESTS_FAILED, notes)
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        return Verdict(Outcome.FAIL, f"{len(missing)} expected test(s) did not run or pass: {shown}", notes)
    if not seen.outcomes:
        return Verdict(Outcome.FAIL, "no hidden tests ran", notes)
    if result.exit_code != 0:
        return Verdict(Outcome.FAIL, TESTS_FAILED, notes)
    return Verdict(Outcome.PASS, None, notes)
