"""The official SWE-bench harness's per-repository, per-version specs, and what follows from
them: the test command of a standard record, its environment setup, its image name.

The table, ``swebench_specs.json`` beside this module, is ``MAP_REPO_VERSION_TO_SPECS_PY``
of swebench 4.1.0 (SWE-bench/SWE-bench tag ``v4.1.0``, commit 726c5461,
``swebench/harness/constants/python.py``), the last release that ships it: swebench 5 reads
these scripts from the dataset rows instead, and the published Lite and Verified rows do not
carry them. It is kept as data, unchanged (the HumanEval entry left out).

An evaluation script of that release, for an instance whose repository lives at
``/testbed`` with the conda environment ``testbed``, is: activate the environment, ``cd
/testbed``, the spec's ``eval_commands`` (exports), its ``install`` step, reset the test files
to the base commit, apply the test patch, and run ``test_cmd`` followed by the test files the
test patch touches (for Django, as dotted module labels). :func:`harness_scripts` gives that
script's two halves; hgm's runner does the reset and the patch in between
(:mod:`hgm.bench._swebench_runner`).
"""

from __future__ import annotations

import functools
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

SPECS_FILE = Path(__file__).with_name("swebench_specs.json")
TESTBED = "/testbed"
ENV_NAME = "testbed"
CONDA_ACTIVATE = ("source /opt/miniconda3/bin/activate", f"conda activate {ENV_NAME}")
IMAGE_NAMESPACE = "swebench"
"""Docker Hub namespace of the published instance images (``swebench/sweb.eval...``)."""
# The harness's NON_TEST_EXTS: files of a test patch that are not test modules.
_NON_TEST_EXTS = (".json", ".png", "csv", ".txt", ".md", ".jpg", ".jpeg", ".pkl", ".yml",
                  ".yaml", ".toml")  # fmt: skip
_DIFF_TARGET = re.compile(r"^diff --git a/.* b/(.*)$", re.M)


@dataclass(frozen=True)
class RepoSpec:
    """One row of the harness's table (the fields hgm uses; the rest build images)."""

    repo: str
    version: str
    test_cmd: str
    eval_commands: tuple[str, ...] = ()
    install: str | None = None
    python: str | None = None


@dataclass(frozen=True)
class HarnessScripts:
    """An instance's evaluation script in two halves: ``setup`` runs first (environment,
    exports, install), then the test patch is applied, then ``test`` runs between the
    harness's start and end markers. Both run in one bash process."""

    setup: str
    test: str


@functools.cache
def _table() -> dict[str, dict[str, dict]]:
    return json.loads(SPECS_FILE.read_text(encoding="utf-8"))["specs"]


def table_source() -> str:
    """Where the table comes from (release, commit, file), as recorded in the data file."""
    return json.loads(SPECS_FILE.read_text(encoding="utf-8"))["source"]


def repo_spec(repo: str, version: str) -> RepoSpec | None:
    """The harness's spec for ``repo`` at ``version``; None when the table has none (or the
    row has no test command, as dbt-core's rows do)."""
    row = _table().get(repo, {}).get(version)
    if row is None or not row.get("test_cmd"):
        return None
    return RepoSpec(
        repo=repo,
        version=version,
        test_cmd=row["test_cmd"],
        eval_commands=tuple(row.get("eval_commands") or ()),
        install=row.get("install"),
        python=row.get("python"),
    )


def known_versions(repo: str) -> list[str]:
    """The versions the table has for ``repo`` (empty for a repository it does not know)."""
    return sorted(_table().get(repo, {}))


def test_directives(repo: str, test_patch: str) -> list[str]:
    """The arguments the harness appends to ``test_cmd``: the files the test patch touches,
    without data files; for Django, module labels (``tests/a/b.py`` -> ``a.b``)."""
    paths = [p for p in _DIFF_TARGET.findall(test_patch) if not p.endswith(_NON_TEST_EXTS)]
    if repo != "django/django":
        return paths
    labels = []
    for path in paths:
        path = path.removesuffix(".py")
        path = path.removeprefix("tests/")
        labels.append(path.replace("/", "."))
    return labels


def harness_scripts(spec: RepoSpec, test_patch: str) -> HarnessScripts:
    """The evaluation script of the harness's release for an instance of ``spec``.

    Its install step re-installs the repository so that the tests import the changed code.
    An editable install (most rows) is left out: the image has the repository installed in
    place at /testbed already, and in a sandbox without network pip would only spend its
    retries looking for build tools. Any other install (``python setup.py install`` for
    Django before 3.0, ``pip install .`` for requests) would write into the image's
    environment, which the sandbox keeps read-only: /testbed goes first on PYTHONPATH
    instead, so the tests import the working tree as the re-install would have made them.
    """
    setup = [*CONDA_ACTIVATE, f"cd {TESTBED}", *spec.eval_commands]
    if spec.install and not _editable(spec.install):
        setup.append(f"export PYTHONPATH={TESTBED}${{PYTHONPATH:+:$PYTHONPATH}}")
    test = " ".join([spec.test_cmd, *test_directives(spec.repo, test_patch)])
    return HarnessScripts(setup="\n".join(setup), test=test)


def runner_paths(script: str) -> list[str]:
    """The repository's own files that ``script`` runs as its test runner, e.g.
    ``tests/runtests.py`` of ``./tests/runtests.py --verbosity 2``, ``bin/test`` of SymPy's
    command, ``x.py`` of ``python x.py``: relative paths, one per command line that has one."""
    found = []
    for line in script.splitlines():
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            words = words[1:]  # VAR=value prefixes
        if words and re.fullmatch(r"python[0-9.]*", Path(words[0]).name) and len(words) > 1:
            words = words[1:]
        if words and "/" in words[0] or (words and words[0].endswith(".py")):
            path = words[0].removeprefix("./")
            if not path.startswith("/") and ".." not in path.split("/"):
                found.append(path)
    return list(dict.fromkeys(found))


def _editable(install: str) -> bool:
    return "pip install" in install and re.search(r"(^|\s)-e(\s|$)", install) is not None


def image_names(instance_id: str, arch: str = "x86_64") -> tuple[str, str]:
    """(the published image, the name swebench's builder gives a local build) of an
    instance: ``swebench/sweb.eval.x86_64.<id with __ as _1776_>:latest`` and
    ``sweb.eval.x86_64.<id>:latest``, lower case as the harness writes them."""
    local = f"sweb.eval.{arch}.{instance_id}:latest".lower()
    remote = f"{IMAGE_NAMESPACE}/{local}".replace("__", "_1776_")
    return remote, local
