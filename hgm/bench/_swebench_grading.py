"""SWE-bench grading for hgm: swebench's own code, in the sandbox and in the driver.

- :func:`bundle_grader` copies the grading modules of the installed ``swebench`` package
  (constants, types, grading, the Python log parsers) into a task's hidden tests folder, so
  the test command grades its log with them inside a sandbox that has only ``python3``;
- :func:`grade_log` grades a test log in the driver with the installed package (the same
  functions), e.g. to re-read an evaluation's stored log;
- :func:`evaluate_with_harness` runs swebench's Docker harness on patches (internet and
  Docker needed), for a final, official verification.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hgm.bench.dirbench import BenchmarkError
from hgm.scratch import prefix as scratch_prefix
from hgm.types import Task

INSTANCE_FILE = "instance.json"
INSTALL_HINT = "pip install 'hgm[swebench]' (or: pip install swebench datasets)"
# The bundle's copied modules, relative to the swebench package. Only the Python log parsers
# go in: the other languages' parsers import third-party packages the sandbox lacks.
_BUNDLED = (
    "types.py",
    "harness/constants/__init__.py",
    "harness/grading.py",
    "harness/infra_failure.py",
    "harness/log_parsers/python.py",
)
# Replacements for package __init__ files that import docker, datasets or modal.
_STUBS = {
    "__init__.py": '"""swebench grading modules, copied for a sandbox (see hgm.bench)."""\n',
    "harness/__init__.py": "",
}
_PY_PARSERS = "swebench.harness.log_parsers.python"


@dataclass(frozen=True)
class Grade:
    """swebench's verdict on one test log.

    ``status`` is ``RESOLVED_FULL``, ``RESOLVED_PARTIAL`` or ``RESOLVED_NO``; ``resolved``
    is true for ``RESOLVED_FULL`` only. ``patch_applied``: the test patch applied, so the
    tests ran (read from the harness's markers in the log). ``log_graded``: swebench found
    test results in the log (what swebench's report calls ``patch_successfully_applied``;
    false also when the patch applied but the tests crashed before reporting any result).
    ``tests`` is swebench's report: FAIL_TO_PASS/PASS_TO_PASS/... -> success/failure lists.
    """

    instance_id: str
    status: str
    resolved: bool
    patch_applied: bool
    tests: dict
    log_graded: bool = False


def require_swebench():
    """The installed swebench package, or a :class:`BenchmarkError` saying how to get it."""
    try:
        import swebench
        import swebench.harness.grading  # noqa: F401  (imports what grading needs)
    except ImportError as e:
        raise BenchmarkError(
            f"the swebench benchmark needs the swebench package ({e}): {INSTALL_HINT}"
        ) from None
    return swebench


def python_parsers() -> dict[str, str]:
    """Log parser names (swebench's PARSER_REGISTRY) served by its Python parsers module."""
    require_swebench()
    from swebench.harness.log_parsers import PARSER_REGISTRY

    return {
        name: fn.__name__ for name, fn in PARSER_REGISTRY.items() if fn.__module__ == _PY_PARSERS
    }


def default_log_parser(repo: str) -> str | None:
    """The parser swebench maps ``repo`` to (its MAP_REPO_TO_PARSER_PY), or None."""
    require_swebench()
    from swebench.harness.log_parsers import PARSER_REGISTRY
    from swebench.harness.log_parsers.python import MAP_REPO_TO_PARSER_PY

    fn = MAP_REPO_TO_PARSER_PY.get(repo)
    if fn is None:
        return None
    return next((name for name, f in PARSER_REGISTRY.items() if f is fn), fn.__name__)


def default_eval_type(repo: str) -> str:
    """``fail_only`` for the repositories swebench grades on failures only, else
    ``pass_and_fail``."""
    require_swebench()
    from swebench.harness.constants import FAIL_ONLY_REPOS, EvalType

    kind = EvalType.FAIL_ONLY if repo in FAIL_ONLY_REPOS else EvalType.PASS_AND_FAIL
    return kind.value


def bundle_grader(dest: Path) -> None:
    """Copy swebench's grading modules into ``dest/swebench`` (importable with only the
    standard library); the log parser registry holds the Python parsers."""
    package = Path(require_swebench().__file__).parent
    root = Path(dest) / "swebench"
    for rel in _BUNDLED:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((package / rel).read_bytes())
    for rel, text in _STUBS.items():
        (root / rel).write_text(text, encoding="utf-8")
    registry = ",\n".join(f"    {name!r}: _py.{fn}" for name, fn in python_parsers().items())
    (root / "harness/log_parsers/__init__.py").write_text(
        f"from swebench.harness.log_parsers import python as _py\n\n"
        f"PARSER_REGISTRY = {{\n{registry},\n}}\n",
        encoding="utf-8",
    )


def grade_log(task: Task, log: str) -> Grade:
    """Grade the log of ``task``'s test command with the installed swebench package.

    The log is what the test command printed (an evaluation's test log, which adds a header,
    is fine: swebench reads the part between its start and end markers).
    """
    require_swebench()
    from swebench.harness.grading import get_eval_report, get_resolution_status
    from swebench.types import TestSpec

    spec = json.loads((Path(task.tests) / INSTANCE_FILE).read_text(encoding="utf-8"))
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
    with tempfile.TemporaryDirectory(prefix=scratch_prefix("swebench")) as tmp:
        log_file = Path(tmp) / "test_output.txt"
        log_file.write_text(log, encoding="utf-8")
        prediction = {"instance_id": spec["instance_id"], "model_patch": "(the workspace)"}
        report = get_eval_report(test_spec, prediction, str(log_file), include_tests_status=True)
    entry = report[spec["instance_id"]]
    tests = entry.get("tests_status") or {}
    return Grade(
        instance_id=spec["instance_id"],
        status=get_resolution_status(tests) if tests else "RESOLVED_NO",
        resolved=bool(entry["resolved"]),
        patch_applied=_test_patch_applied(log),
        tests=tests,
        log_graded=bool(entry["patch_successfully_applied"]),
    )


def _test_patch_applied(log: str) -> bool:
    """Whether the log says the test patch applied (the harness's markers)."""
    from swebench.harness.constants import APPLY_PATCH_FAIL, APPLY_PATCH_PASS, RESET_FAILED

    return APPLY_PATCH_PASS in log and APPLY_PATCH_FAIL not in log and RESET_FAILED not in log


def evaluate_with_harness(
    predictions: Mapping[str, str],
    dataset: str,
    *,
    run_id: str,
    split: str = "test",
    model_name: str = "hgm",
    max_workers: int = 4,
    timeout_s: int = 1800,
    report_dir: Path | str = ".",
) -> dict:
    """Grade patches with swebench's Docker harness (``swebench.harness.run_evaluation``).

    ``predictions`` maps instance ids to patches (unified diffs against the base commit, as
    :func:`hgm.bench.swebench.workspace_patch` makes them); ``dataset`` is ``lite``,
    ``verified``, a HuggingFace name or a local file that carries the harness's fields (``image``, ``eval_script``,
    ``log_parser``, ``eval_type``). Needs Docker and internet (images are pulled). Writes
    the predictions and swebench's logs under ``report_dir`` and the current folder
    (``logs/run_evaluation/<run_id>``), and returns swebench's run report (its
    ``resolved_ids``, ``unresolved_ids``, ``error_ids``, ...).
    """
    require_swebench()
    from swebench.harness.run_evaluation import main as run_evaluation

    from hgm.bench.swebench import DATASETS

    dataset = DATASETS.get(dataset, dataset)
    if not predictions:
        raise ValueError("no predictions to evaluate")
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    safe_id = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)
    preds_file = report_dir / f"{safe_id}.predictions.jsonl"
    preds_file.write_text(
        "".join(
            json.dumps({"instance_id": iid, "model_name_or_path": model_name, "model_patch": p})
            + "\n"
            for iid, p in predictions.items()
        ),
        encoding="utf-8",
    )
    report_file = run_evaluation(
        dataset_name=dataset,
        split=split,
        instance_ids=list(predictions),
        predictions_path=str(preds_file),
        max_workers=max_workers,
        open_file_limit=4096,
        run_id=run_id,
        timeout=timeout_s,
        rewrite_reports=False,
        modal=False,
        report_dir=str(report_dir),
    )
    if report_file is None or not Path(report_file).is_file():
        raise RuntimeError(f"swebench wrote no run report for run {run_id!r}")
    return json.loads(Path(report_file).read_text(encoding="utf-8"))
