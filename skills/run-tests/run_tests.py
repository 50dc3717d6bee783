"""Run a test command and summarise its pytest or unittest output.

Standard library only. ``run_tests`` runs the command; ``parse_test_output`` parses output you
already have. Both return plain JSON-friendly dicts.
"""

from __future__ import annotations

import re
import shlex
import subprocess

__all__ = ["run_tests", "parse_test_output"]

TAIL_LINES = 40
MAX_MESSAGE = 500

_PYTEST_COUNTS = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)")
# "1 failed, 3 passed in 0.12s" (-q) or the same between === rules; "no tests ran in 0.01s".
_PYTEST_SUMMARY = re.compile(r"^=*\s*((?:\d+ [a-z]+,? ?)+|no tests ran) in [\d.]+s\b.*$", re.MULTILINE)
_PYTEST_SHORT = re.compile(r"^(FAILED|ERROR) (\S+?)(?: - (.*))?$", re.MULTILINE)
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in", re.MULTILINE)
_UNITTEST_RESULT = re.compile(r"^(OK|FAILED)(?: \((.*)\))?\s*$", re.MULTILINE)
_UNITTEST_HEADER = re.compile(r"^(FAIL|ERROR): (\S+)(?: \((\S+)\))?", re.MULTILINE)
_LOCATION = re.compile(r'File "([^"]+)", line (\d+)')


def run_tests(command: str, cwd: str = ".", timeout: int = 600) -> dict[str, str | int | bool | list[dict[str, str]]]:
    """Run ``command`` (split like a shell, without shell features) in ``cwd`` and summarise
    the pytest or unittest output: counts, each failure with its location and message, a
    one-line summary and the output's tail. A command that cannot start is reported as
    ``exit_code`` 127 with the reason in ``summary``.
    """
    try:
        proc = subprocess.run(
            shlex.split(command), cwd=cwd, capture_output=True, text=True, timeout=timeout, errors="replace"
        )
    except subprocess.TimeoutExpired as e:
        output = _text(e.stdout) + _text(e.stderr)
        result = parse_test_output(output)
        result.update(ok=False, exit_code=-1, timed_out=True, summary=f"timed out after {timeout} s; " + result["summary"])
        return result
    except (OSError, ValueError) as e:
        result = parse_test_output("")
        result.update(ok=False, exit_code=127, timed_out=False, summary=f"could not run {command!r}: {e}")
        return result
    result = parse_test_output(proc.stdout + "\n" + proc.stderr)
    result.update(ok=proc.returncode == 0, exit_code=proc.returncode, timed_out=False)
    return result


def parse_test_output(output: str) -> dict[str, str | int | bool | list[dict[str, str]]]:
    """Parse pytest or unittest output into counts (-1 when unknown), the failures (test,
    kind, location, message), the framework, a one-line summary and the output's tail."""
    if _PYTEST_SUMMARY.search(output) or _PYTEST_SHORT.search(output):
        framework, counts, failures = "pytest", _pytest_counts(output), _pytest_failures(output)
    elif _UNITTEST_RAN.search(output):
        framework, counts, failures = "unittest", _unittest_counts(output), _unittest_failures(output)
    else:
        framework, counts, failures = "unknown", dict.fromkeys(("passed", "failed", "errors", "skipped"), -1), []
    lines = output.rstrip().splitlines()
    return {
        "ok": False,
        "exit_code": -1,
        "timed_out": False,
        "framework": framework,
        **counts,
        "failures": failures,
        "summary": _summary(framework, counts),
        "output_tail": "\n".join(lines[-TAIL_LINES:]),
    }


def _pytest_counts(output: str) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    summaries = [m.group(0) for m in _PYTEST_SUMMARY.finditer(output)]
    if not summaries:
        return dict.fromkeys(counts, -1)
    for number, word in _PYTEST_COUNTS.findall(summaries[-1]):
        key = "errors" if word.startswith("error") else word
        if key in counts:
            counts[key] = int(number)
    return counts


def _pytest_failures(output: str) -> list[dict[str, str]]:
    failures = []
    for kind, test, message in _PYTEST_SHORT.findall(output):
        path, _, rest = test.partition("::")
        section = _pytest_section(output, rest.replace("::", "."))
        line = re.findall(rf"^{re.escape(path)}:(\d+): ", section, re.MULTILINE)
        errors = [row[1:].strip() for row in section.splitlines() if row.startswith("E ") and row[1:].strip()]
        failures.append({
            "test": test,
            "kind": "failed" if kind == "FAILED" else "error",
            "location": f"{path}:{line[-1]}" if line else path,
            "message": (message or (errors[0] if errors else "")).strip()[:MAX_MESSAGE],
        })
    return failures


def _pytest_section(output: str, name: str) -> str:
    """The traceback section pytest printed for one test (under its ``___ name ___`` rule)."""
    header = re.compile(rf"^_+ (?:ERROR at \w+ of )?{re.escape(name)} _+$", re.MULTILINE)
    match = header.search(output)
    if not match:
        return ""
    end = re.compile(r"^(?:_+ \S.* _+|=+ .* =+)$", re.MULTILINE).search(output, match.end())
    return output[match.end():end.start() if end else len(output)]


def _unittest_counts(output: str) -> dict[str, int]:
    ran = int(_UNITTEST_RAN.findall(output)[-1])
    detail: dict[str, int] = {}
    results = _UNITTEST_RESULT.findall(output)
    if results and results[-1][1]:
        for part in results[-1][1].split(","):
            key, _, value = part.strip().partition("=")
            if value.isdigit():
                detail[key] = int(value)
    failed, errors, skipped = detail.get("failures", 0), detail.get("errors", 0), detail.get("skipped", 0)
    expected = detail.get("expected failures", 0)
    return {"passed": ran - failed - errors - skipped - expected, "failed": failed, "errors": errors, "skipped": skipped}


def _unittest_failures(output: str) -> list[dict[str, str]]:
    failures = []
    headers = list(_UNITTEST_HEADER.finditer(output))
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(output)
        block = output[header.end():end].split("\n----------------------------------------------------------------------\nRan ")[0]
        locations = _LOCATION.findall(block)
        kind, method, dotted = header.groups()
        message = next((line.strip() for line in reversed(block.strip().splitlines()) if line.strip() and not set(line.strip()) <= set("-=")), "")
        failures.append({
            "test": dotted or method,
            "kind": "failed" if kind == "FAIL" else "error",
            "location": f"{locations[-1][0]}:{locations[-1][1]}" if locations else "",
            "message": message[:MAX_MESSAGE],
        })
    return failures


def _summary(framework: str, counts: dict[str, int]) -> str:
    if framework == "unknown":
        return "no pytest or unittest summary found in the output"
    parts = [f"{counts[k]} {k}" for k in ("failed", "errors", "passed", "skipped") if counts[k] > 0]
    return f"{', '.join(parts) or 'no tests ran'} ({framework})"


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", "replace")
