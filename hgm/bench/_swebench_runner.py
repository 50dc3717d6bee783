"""Run one SWE-bench instance's tests on a workspace and grade them with swebench's own code.

This file is not imported by hgm: it is copied, as ``run.py``, into the hidden tests folder of
every ``swebench`` task, next to ``instance.json``, ``test.patch``, ``originals/`` (the
test files the test patch touches, as they were at the base commit) and ``swebench/`` (the
grading modules of the installed swebench package). The task's test command runs it from the
workspace root with the sandbox's ``python3``, so it uses the standard library only.

It does what the SWE-bench harness's evaluation script does, in whatever container the task
runs in (an instance image, with the repository at /testbed): put the test files back as they
were at the base commit (whatever the agent did to them), apply the test patch, then in one
bash process run the instance's setup script (environment activation, exports, install) and
its test command between the harness's start and end markers, record the test command's exit
status, and grade that log with ``swebench.harness.grading.get_eval_report``. It exits 0
exactly when swebench says the instance is resolved.

Its verdict line says ``patch_applied`` (the test patch applied, so the tests could run) and
``log_graded`` (swebench found test results in the log: what swebench itself calls
``patch_successfully_applied``, which is false for a run whose tests crashed before reporting).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GRADE_MARKER = ">>>>> hgm swebench grade:"
LOG_FILE = "test_output.txt"


def restore_test_files(root: Path, paths: list[str]) -> str | None:
    """Put every path the test patch touches back to its base-commit state; None when done."""
    for rel in paths:
        target, original = root / rel, HERE / "originals" / rel
        try:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            if original.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(original, target)  # with its mode: a runner script stays executable
        except OSError as e:
            return f"{rel}: {e}"
    return None


def apply_test_patch(root: Path) -> tuple[bool, str]:
    """Apply test.patch to ``root`` as the harness does: git apply, else patch."""
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(root.parent))
    patch = str(HERE / "test.patch")
    attempts = (
        ["git", "apply", "--verbose", patch],
        ["patch", "--batch", "--forward", "--fuzz=5", "-p1", "-i", patch],
    )
    output = []
    for command in attempts:
        try:
            proc = subprocess.run(
                command, cwd=root, env=env, capture_output=True, text=True, errors="replace"
            )
        except OSError as e:
            output.append(f"{command[0]}: {e}")
            continue
        output.append(proc.stdout + proc.stderr)
        if proc.returncode == 0:
            return True, "".join(output)
    return False, "".join(output)


def run_tests(root: Path, setup: str, script: str, markers) -> tuple[int, str]:
    """Setup, then the test command between the markers, in one bash process (so that the
    setup's activation and exports hold for the tests); the test command's exit status."""
    body = "\n".join(
        [
            setup,
            f"echo '{markers.START_TEST_OUTPUT}'",
            script,
            "__hgm_status=$?",
            f"echo '{markers.END_TEST_OUTPUT}'",
            "exit $__hgm_status",
        ]
    )
    proc = subprocess.run(
        ["bash", "-c", body],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
    )
    return proc.returncode, proc.stdout


def build_log(spec: dict, root: Path, markers) -> tuple[str, bool]:
    """The evaluation log, in the harness's format, printed as it is written, and whether
    the test patch applied."""
    lines: list[str] = []

    def emit(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    problem = restore_test_files(root, spec["test_files"])
    if problem is not None:
        emit(f"{markers.RESET_FAILED}: {problem}")
        return "\n".join(lines), False
    applied, output = apply_test_patch(root)
    emit(output.rstrip("\n"))
    if not applied:
        emit(markers.APPLY_PATCH_FAIL)
        return "\n".join(lines), False
    emit(markers.APPLY_PATCH_PASS)
    code, output = run_tests(root, spec.get("setup_script", ""), spec["test_script"], markers)
    emit(output.rstrip("\n"))
    emit(f"{markers.TEST_EXIT_CODE}: {code}")
    return "\n".join(lines) + "\n", True


def grade(spec: dict, log_file: Path, patch_applied: bool) -> dict:
    from swebench.harness.grading import get_eval_report, get_resolution_status
    from swebench.types import TestSpec

    test_spec = TestSpec(
        instance_id=spec["instance_id"],
        image="",
        eval_script_list=[],
        repo=spec["repo"],
        version=spec["version"],
        FAIL_TO_PASS=spec["FAIL_TO_PASS"],
        PASS_TO_PASS=spec["PASS_TO_PASS"],
        log_parser=spec["log_parser"],
        eval_type=spec["eval_type"],
    )
    prediction = {"instance_id": spec["instance_id"], "model_patch": "(the workspace)"}
    report = get_eval_report(test_spec, prediction, str(log_file), include_tests_status=True)
    entry = report[spec["instance_id"]]
    tests = entry.get("tests_status")
    return {
        "resolved": bool(entry["resolved"]),
        "status": get_resolution_status(tests) if tests else "RESOLVED_NO",
        "patch_applied": patch_applied,
        "log_graded": bool(entry["patch_successfully_applied"]),
        "tests_status": tests,
    }


def main() -> int:
    spec = json.loads((HERE / "instance.json").read_text(encoding="utf-8"))
    sys.path.insert(0, str(HERE))  # the bundled swebench grading modules
    from swebench.harness import constants

    log, applied = build_log(spec, Path.cwd(), constants)
    log_file = HERE / LOG_FILE
    log_file.write_text(log, encoding="utf-8")
    result = grade(spec, log_file, applied)
    print(f"{GRADE_MARKER} {json.dumps(result, sort_keys=True)}", flush=True)
    return 0 if result["resolved"] else 1


if __name__ == "__main__":
    sys.exit(main())
