"""The ``swebench:lite|verified`` benchmark: SWE-bench instances as hgm tasks.

Instances come from a HuggingFace dataset through the ``datasets`` library (``lite`` is
``SWE-bench/SWE-bench_Lite``, ``verified`` is ``SWE-bench/SWE-bench_Verified``; internet
needed), or from ``dataset=PATH``: a folder saved with ``Dataset.save_to_disk``, a ``.json``
list or ``.jsonl`` file of instances, or a ``.parquet`` file. docs/benchmarks.md has the
full description. A record as published (no hgm ``test_cmd``) runs in its official
instance image (:mod:`hgm.bench._swebench_images`: ``/testbed``, the conda environment
``testbed``), and its setup, test command and log parser come from the harness's spec table
(:mod:`hgm.bench._swebench_specs`) or the record's own ``eval_script``; a record with a
``test_cmd`` runs in the sandbox's own image, in ``/work``. Each instance becomes a task:

- workspace: in an instance image, the image's ``/testbed`` (no ``.git``); else the
  repository at ``base_commit`` (no ``.git``), checked out of the instance's
  ``repo_path``, or ``REPOS/<owner>__<name>`` with ``repos=REPOS``, else of a bare clone of
  ``https://github.com/<owner>/<name>`` made once in the cache (internet needed);
- instructions: a short preamble and the ``problem_statement``;
- hidden tests: ``test.patch``, the test files it touches as they were at the base commit,
  the instance's test command and expected tests (``instance.json``), swebench's grading
  modules, and ``run.py`` (:mod:`hgm.bench._swebench_runner`);
- test command: ``python3 tests_hidden/run.py``: restore the test files, apply the test
  patch, run the tests, grade the log with swebench's ``get_eval_report``; exit 0 iff
  resolved;
- reference solution: the files the gold ``patch`` changes, as they are after it (none when
  it deletes or renames files).

Entries are laid out once in ``$HGM_CACHE_DIR/swebench`` (default
``$XDG_CACHE_HOME/hgm/swebench``, else ``~/.cache/hgm/swebench``), named by a digest of what
they are built from.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from hgm.bench import _swebench_layout as layout
from hgm.bench import _swebench_repo as gitops
from hgm.bench._swebench_dataset import (
    DEFAULT_SPLIT,
    Instance,
    dataset_folder,
    load_instances,
    select_instances,
)
from hgm.bench._swebench_grading import (
    Grade,
    default_eval_type,
    default_log_parser,
    evaluate_with_harness,
    grade_log,
    python_parsers,
    require_swebench,
)
from hgm.bench._swebench_images import ImageSource, InstanceImage
from hgm.bench._swebench_specs import TESTBED, harness_scripts, known_versions, repo_spec
from hgm.bench.dirbench import DEFAULT_HIDDEN_TESTS_DIR, BenchmarkError
from hgm.types import Task

DATASETS = {"lite": "SWE-bench/SWE-bench_Lite", "verified": "SWE-bench/SWE-bench_Verified"}
"""The benchmark's variants and the HuggingFace datasets they load by default."""
TEST_COMMAND = f"python3 {DEFAULT_HIDDEN_TESTS_DIR}/run.py"
PREAMBLE = (
    "You are working in a checkout of the repository {repo} at commit {commit}. Resolve the "
    "issue below by changing the repository's code. Hidden tests will check your fix; any "
    "change you make to test files is discarded before they run, so put the fix in the "
    "source.\n\n{note}## Issue\n\n"
)
IMAGE_NOTE = (
    "The repository is at /testbed, installed in the conda environment testbed: run "
    "`source /opt/miniconda3/bin/activate && conda activate testbed` in a shell before "
    "running its code or tests.\n\n"
)
_SETUP_LINE = re.compile(r"^\s*(source\s+\S*activate\b|conda\s+activate\b|export\s+\w+=)")


class SwebenchBenchmark:
    """SWE-bench Lite or Verified: real GitHub issues of Python repositories (needs the
    swebench extra, and internet unless dataset= and repos= point at local copies).

    ``dataset``: a HuggingFace dataset name or a local dataset (see the module docstring);
    ``repos``: a folder of git repositories named ``<owner>__<name>``; ``split``: the
    dataset split (default ``test``); ``images``: a folder of ``docker save`` tarballs of
    instance images; ``pull``: ``0`` never pulls an image the engine lacks; ``build``: a
    swebench task repository whose Dockerfiles swebench's builder builds an image from
    when all else fails; ``subset``: a
    named subset of SWE-bench Verified (:mod:`hgm.bench.subsets`, e.g. DGM's). ``subset``
    selects first, then ``ids``, ``sample`` and ``seed`` as for any benchmark, all before
    any repository or image is touched.
    """

    params = ("dataset", "repos", "split", "images", "pull", "build", "subset", "ids", "sample",
              "seed")  # fmt: skip

    def __init__(
        self,
        variant: str,
        dataset: str | None = None,
        repos: str | None = None,
        split: str | None = None,
        images: str | None = None,
        pull: str | None = None,
        build: str | None = None,
        subset: str | None = None,
        ids: str | None = None,
        sample: str | None = None,
        seed: str | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        if variant not in DATASETS:
            raise BenchmarkError(
                f"unknown SWE-bench variant {variant!r}; choose one of: {', '.join(DATASETS)}"
            )
        given = {"dataset": dataset, "repos": repos, "split": split, "images": images, "pull": pull,
                 "build": build}  # fmt: skip
        given |= {"subset": subset, "ids": ids, "sample": sample, "seed": seed}
        query = "&".join(f"{k}={v}" for k, v in given.items() if v is not None)
        self.name = f"swebench:{variant}" + (f"?{query}" if query else "")
        require_swebench()
        source = dataset or DATASETS[variant]
        instances = load_instances(source, split or DEFAULT_SPLIT)
        if subset is not None:
            instances = subset_instances(instances, subset, source)
        instances = select_instances(instances, ids, sample, seed)
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        base = dataset_folder(source)
        repos_dir = Path(repos).expanduser() if repos else None
        if pull not in (None, "0", "1"):
            raise BenchmarkError(f"pull= must be 0 or 1, not {pull!r}")
        source_images = ImageSource(
            Path(images).expanduser() if images else None,
            pull != "0",
            Path(build).expanduser() if build else None,
        )
        self._tasks = tuple(
            instance_task(i, cache, repos_dir, base, source_images) for i in instances
        )

    def tasks(self) -> list[Task]:
        return list(self._tasks)


def subset_instances(instances: list[Instance], name: str, source: str) -> list[Instance]:
    """The instances of the named SWE-bench subset, in the dataset's order; every one of
    them must be in the dataset."""
    try:
        from hgm.bench.subsets import subset_ids
    except ImportError:
        raise BenchmarkError("subset= needs hgm.bench.subsets, which this installation lacks") from None
    wanted = subset_ids("swebench", name)
    have = {i.instance_id for i in instances}
    missing = [iid for iid in wanted if iid not in have]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise BenchmarkError(
            f"subset {name!r} names {len(missing)} instances that {source} lacks: {shown} "
            "(the subsets are of SWE-bench Verified)"
        )
    chosen = set(wanted)
    return [i for i in instances if i.instance_id in chosen]


def default_cache_dir() -> Path:
    """Where repository clones and laid-out tasks are kept (see the module docstring)."""
    root = os.environ.get("HGM_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = Path(xdg, "hgm") if xdg else Path.home() / ".cache" / "hgm"
    return Path(root) / "swebench"


def workspace_patch(task: Task, workspace: Path) -> str:
    """The agent's change to ``task``'s repository, as a patch (a SWE-bench ``model_patch``):
    the diff from the task's workspace to ``workspace``, hidden tests and caches left out."""
    return gitops.workspace_patch(
        Path(task.workspace), Path(workspace), (DEFAULT_HIDDEN_TESTS_DIR,)
    )


# -- building a task ----------------------------------------------------------------------


def uses_image(instance: Instance) -> bool:
    """Whether ``instance`` runs in its instance image: every record as published (hgm's own
    ``test_cmd`` field marks a record made to run in the sandbox's image, in /work)."""
    return not instance.test_cmd


def instance_task(
    instance: Instance,
    cache: Path,
    repos: Path | None = None,
    base: Path | None = None,
    images: ImageSource | None = None,
) -> Task:
    """The task for ``instance``, laid out in ``cache`` (reused when unchanged).

    In an instance image (:func:`uses_image`) the repository is the image's /testbed, the
    image found or fetched by ``images``. Else it is the instance's ``repo_path`` (relative
    to ``base``), else ``repos/<owner>__<name>``, else a clone of GitHub in ``cache/repos``.
    """
    harness = harness_fields(instance)
    image: InstanceImage | None = None
    if uses_image(instance):
        images = images or ImageSource()
        image = images.ensure(instance.instance_id, instance.image)
    digest = layout.digest(instance, harness, image)
    dest = cache / "tasks" / f"{instance.instance_id}-{digest[:16]}"
    if not dest.is_dir():
        if image is not None:
            source = images

            def build(root: Path) -> None:
                layout.from_image(instance, harness, source, image, root)
        else:
            repo, fetchable = layout.source_repo(instance, cache, repos, base)

            def build(root: Path) -> None:
                layout.from_git(instance, harness, repo, fetchable, root)

        layout.materialize(dest, build)
    solution = dest / "solution"
    return Task(
        id=instance.instance_id,
        instructions=PREAMBLE.format(
            repo=instance.repo,
            commit=instance.base_commit,
            note=IMAGE_NOTE if image is not None else "",
        )
        + instance.problem_statement.strip()
        + "\n",
        workspace=dest / "workspace",
        tests=dest / "tests",
        test_command=TEST_COMMAND,
        solution=solution if solution.is_dir() else None,
        image=image.name if image is not None else None,
        workdir=TESTBED if image is not None else "/work",
    )


def harness_fields(instance: Instance) -> dict:
    """What the runner needs besides the patch: the setup and test scripts, the log parser
    and the eval type. The scripts are hgm's ``test_cmd``, else read from ``eval_script``,
    else made from the harness's spec for the instance's repository and version."""
    problems = []
    setup, script = "", instance_test_script(instance)
    if script is None and not instance.eval_script:
        spec = repo_spec(instance.repo, instance.version)
        if spec is not None:
            scripts = harness_scripts(spec, instance.test_patch)
            setup, script = scripts.setup, scripts.test
    if script is None:
        versions = known_versions(instance.repo)
        known = f" (it has {', '.join(versions)})" if versions else ""
        problems.append(
            f"no test command: swebench's spec table has no test command for repo "
            f"{instance.repo!r} version {instance.version!r}{known}; give field 'test_cmd', "
            "or an 'eval_script' whose test command sits between swebench's start and end "
            "test output markers"
        )
    parser = instance.log_parser or default_log_parser(instance.repo)
    if parser is None:
        problems.append(
            f"field 'log_parser' is missing and swebench maps no parser to {instance.repo!r}"
        )
    elif parser not in python_parsers():
        problems.append(
            f"field 'log_parser': {parser!r} is not one of swebench's Python log parsers"
        )
    eval_type = instance.eval_type or default_eval_type(instance.repo)
    if eval_type not in ("pass_and_fail", "fail_only"):
        problems.append(f"field 'eval_type': {eval_type!r} is not pass_and_fail or fail_only")
    if problems:
        raise BenchmarkError("\n".join(f"instance {instance.instance_id!r}: {p}" for p in problems))
    return {"setup_script": setup, "test_script": script, "log_parser": parser,
            "eval_type": eval_type}  # fmt: skip


def instance_test_script(instance: Instance) -> str | None:
    """``test_cmd``, else the test command of ``eval_script`` (between the harness's markers)
    after the script's environment lines (``source .../activate``, ``conda activate``,
    ``export``) that do not name the harness's /testbed."""
    if instance.test_cmd:
        return instance.test_cmd
    if not instance.eval_script:
        return None
    from swebench.harness.constants import END_TEST_OUTPUT, START_TEST_OUTPUT

    lines = instance.eval_script.splitlines()
    start = next((i for i, line in enumerate(lines) if START_TEST_OUTPUT in line), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if END_TEST_OUTPUT in lines[i]), None)
    if end is None or not "".join(lines[start + 1 : end]).strip():
        return None
    setup = [line for line in lines[:start] if _SETUP_LINE.match(line) and "/testbed" not in line]
    return "\n".join([*setup, *lines[start + 1 : end]])


__all__ = [
    "DATASETS",
    "Grade",
    "Instance",
    "SwebenchBenchmark",
    "default_cache_dir",
    "default_log_parser",
    "evaluate_with_harness",
    "grade_log",
    "harness_fields",
    "instance_task",
    "uses_image",
    "load_instances",
    "select_instances",
    "instance_test_script",
    "workspace_patch",
]
